# AutoShrink Lab: `make lab` to start the notebooks, `make test` to run the whole test suite.
# Everything runs through .venv/bin/..., so nothing needs to be activated.
# Also: `make test-fast` (the fast subset), `make lint` (Ruff), `make docs` (the site, strict).

SHELL := /bin/bash
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Where `make data` copies the PTB proxy from: PTB=folder on the command line, else a sibling
# checkout's shared data folder when there is one, else nothing (the data command decides).
SHARED_PTB := ../shared/data/ptb/penn_proxy
PTB ?= $(if $(wildcard $(SHARED_PTB)/train.txt),$(SHARED_PTB),)

# Data the tests read: AUTOSHRINK_DATA from the environment, else the shared proxy, else the
# proxy prepared by `make data`.
DEFAULT_DATA := $(patsubst %/train.txt,%,$(firstword $(abspath $(wildcard $(SHARED_PTB)/train.txt data/penn_proxy/train.txt))))
AUTOSHRINK_DATA ?= $(DEFAULT_DATA)

LAB_ARGS    ?=
# The server's root is the clone, so that runs/ (searches, exports) opens and browses in JupyterLab;
# its file browser starts in notebooks/.
LAB_ROOT    := --ServerApp.root_dir=. --FileContentsManager.preferred_dir=notebooks
# JupyterLab refuses to start as root (containers, CI) unless told that it is meant.
ROOT_ARGS   := $(if $(filter 0,$(shell id -u)),--allow-root)
PYTEST_ARGS ?=

.PHONY: venv data lab test test-fast lint docs clean-venv git-filter

venv: $(STAMP)

$(VPY):
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when pyproject.toml changes (or the stamp is missing).
$(STAMP): pyproject.toml | $(VPY)
	$(VENV)/bin/pip install -e '.[dev,ray]'
	touch $@

data: venv
	$(VPY) -m autoshrink data $(if $(PTB),--from '$(PTB)')

# Git stores notebooks/*.ipynb without their outputs (.gitattributes names the filter, which is
# local git configuration): running the notebooks leaves them unmodified in git.
git-filter:
	@git rev-parse --git-dir >/dev/null 2>&1 && git config filter.nbstrip.clean '$(PYTHON) scripts/nbstrip.py' || true

# Data preparation failing must not keep the lab from starting.
lab: venv git-filter
	@$(MAKE) --no-print-directory data || \
	  echo "make lab: preparing data failed (see above); starting JupyterLab anyway. Try: make data PTB=path/to/ptb_or_proxy"
	$(VENV)/bin/jupyter lab $(LAB_ROOT) $(ROOT_ARGS) $(LAB_ARGS)

test: venv
	$(if $(AUTOSHRINK_DATA),AUTOSHRINK_DATA='$(AUTOSHRINK_DATA)') $(VPY) -m pytest -q $(PYTEST_ARGS)

# The tests not marked slow, browser, notebooks or ray (markers: pyproject.toml): under two minutes.
FAST := not slow and not browser and not notebooks and not ray
test-fast: venv
	$(if $(AUTOSHRINK_DATA),AUTOSHRINK_DATA='$(AUTOSHRINK_DATA)') $(VPY) -m pytest -q -m '$(FAST)' $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

# The documentation site from docs/ into site/; strict, so a broken link fails.
docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

clean-venv:
	rm -rf $(VENV)
