"""Each setting described once: the command line's flags, the panel's groups, the resume rule, the
branch rule and the runs list's columns all come from SearchConfig's field metadata
(config.setting). Each derived list is checked against the rule written out by hand, and each
rule against what the code then does (a flag refused, a resume refused, a column shown); the
seed salts against their numbers, on which every published result depends."""
import dataclasses
import subprocess
import sys

import pytest

from autoshrink import cli
from autoshrink.core import runtime
from autoshrink.core.config import GROUPS, SearchConfig, settings
from autoshrink.core.errors import ConfigError
from autoshrink.search_folder import SAFE_ON_RESUME, SPACE, check_resume

FIELDS = [f.name for f in dataclasses.fields(SearchConfig)]
# A valid value other than the default, for each setting (a resume or a flag that changes it).
OTHER = {"nodes": 5, "data": "elsewhere", "emb_path": "vectors.pkl", "emsize": 64, "lr": 10.0, "clip": 0.5,
         "epochs": 3, "batch_size": 32, "eval_batch_size": 64, "bptt": 20, "keep_fraction": 0.5,
         "max_steps_to_action": 4, "drop_k": 2, "halving": 2, "retest": 2, "retest_margin": 0.5,
         "ops": "tanh,tanh,relu,relu,sigmoid,identity", "target_ppl": 300.0, "ppl_weight": 0.5, "cost_weight": 2.0,
         "seed": 7, "seed_rule": "candidate", "device": "cpu", "parallel": 3, "save": "other-run", "precision": "bf16",
         "fuse": "off", "graphs": "off", "backend": "ray", "ray_address": "auto", "gpus_per_task": 0.5}


def test_every_setting_has_one_group_and_each_mark_is_a_yes_or_no():
    assert set(OTHER) == set(FIELDS)
    for f in dataclasses.fields(SearchConfig):
        assert f.metadata["group"] in GROUPS, f.name
        assert all(isinstance(f.metadata[k], bool) for k in ("resumable", "search_only", "listed", "retrain"))
    assert sorted(settings(*GROUPS)) == sorted(FIELDS) == sorted(settings())
    with pytest.raises(ValueError, match="unknown group"):
        settings("shrink")


def test_the_derived_lists_are_the_rules_written_out():
    assert SPACE == ("nodes", "ops")
    assert set(SAFE_ON_RESUME) == {"save", "device", "data", "parallel", "fuse", "graphs", "backend", "ray_address",
                                   "gpus_per_task"}
    assert set(cli.SEARCH_ONLY) == {"keep_fraction", "max_steps_to_action", "drop_k", "ops", "parallel", "save",
                                    "seed_rule", "retest", "retest_margin", "halving"}
    assert cli.BACKEND_FLAGS == ("backend", "ray_address", "gpus_per_task")
    assert set(cli.QUALITY_FLAGS) == {"data", "emsize", "nhid", "lr", "clip", "epochs", "batch_size",
                                      "eval_batch_size", "bptt", "device", "precision", "fuse"}


def _flags(parser, command: str) -> set[str]:
    sub = next(a for a in parser._subparsers._group_actions if a.dest == "command").choices[command]
    return {o[2:] for a in sub._actions for o in a.option_strings if o.startswith("--")}


def test_the_command_lines_flags_come_from_the_settings():
    p = cli.parser()
    every = set(SearchConfig.__dataclass_fields__)          # the fields and the seed flags nhid, nhidlast
    assert every <= _flags(p, "search") and every <= _flags(p, "proxy")
    quality = _flags(p, "quality")
    assert set(cli.QUALITY_FLAGS) <= quality and not (every - set(cli.QUALITY_FLAGS)) & quality
    assert set(cli.BACKEND_FLAGS) <= _flags(p, "train")


@pytest.mark.parametrize("name", settings(search_only=True))
def test_proxy_refuses_each_search_only_flag_in_one_line(name, capsys):
    value = str(OTHER[name])
    assert cli.main(["proxy", "--cell", "shrinkrnn", f"--{name}", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: --{name} is a search setting and proxy trains one cell; drop --{name}"]


def test_proxy_halving_is_refused_through_the_command_line():
    r = subprocess.run([sys.executable, "-m", "autoshrink", "proxy", "--cell", "shrinkrnn", "--halving", "2"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == ["error: --halving is a search setting and proxy trains one cell; "
                                             "drop --halving"]


@pytest.mark.parametrize("name", FIELDS)
def test_a_resume_may_change_exactly_the_resumable_settings(name):
    saved = SearchConfig(precision="fp32").to_dict()       # as a search records it: its precision resolved
    change = {name: OTHER[name]}
    if dataclasses.fields(SearchConfig)[FIELDS.index(name)].metadata["resumable"]:
        assert check_resume(saved, change) == change
    else:
        with pytest.raises(ConfigError, match=f"--{name} "):
            check_resume(saved, change)


@pytest.mark.parametrize("name", settings("space"))
def test_a_branch_refuses_to_change_the_search_space(name, tmp_path):
    from autoshrink.core.record import write_state
    from autoshrink.search import Search
    from records import best_first
    write_state(tmp_path / "parent", best_first(tmp_path / "data", tmp_path / "parent"))
    change = {"nodes": 5, "ops": "tanh,tanh,tanh,tanh"}[name]
    with pytest.raises(ConfigError, match=f"--{name} defines the search space"):
        Search.branch(tmp_path / "parent", 0, tmp_path / "branch", **{name: change})


def test_the_panels_groups_come_from_the_settings():
    from autoshrink.lab.widgets import ADVANCED, PANEL_GROUPS, SETTINGS
    groups = dict(PANEL_GROUPS)
    assert groups["the search"] == ("nodes", "ops", "keep_fraction", "max_steps_to_action", "drop_k", "halving",
                                    "retest", "retest_margin", "target_ppl", "ppl_weight", "cost_weight", "seed",
                                    "seed_rule")
    assert groups["training"] == ("emsize", "lr", "clip", "epochs", "batch_size", "eval_batch_size", "bptt")
    assert groups["files"] == ("data", "emb_path", "save")
    assert ADVANCED == ("device", "parallel", "precision", "fuse", "graphs", "backend", "ray_address",
                        "gpus_per_task")
    assert sorted([*sum(groups.values(), ()), *ADVANCED]) == sorted(name for name, _, _ in SETTINGS)


def test_the_runs_lists_columns_are_the_listed_settings(tmp_path):
    import json

    from autoshrink.core.rules import initial_cell
    from autoshrink.runs import list_runs
    cfg = SearchConfig(nodes=4, seed=3, precision="fp32", save=str(tmp_path / "s"))
    full = initial_cell(cfg).to_dict()
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "search.json").write_text(json.dumps(
        {"format": "autoshrink-search/1", "config": cfg.to_dict(), "initial": full, "cell": full, "steps": [],
         "best": None, "final": None}))
    [row] = list_runs(tmp_path)
    assert row["settings"] == {"nodes": 4, "emsize": 100, "epochs": 10, "seed": 3, "seed_rule": "step",
                               "precision": "fp32"}


def test_one_table_of_seed_salts_with_the_numbers_every_result_depends_on():
    salts = {k: v for k, v in vars(runtime).items() if k.startswith("SALT_")}
    assert salts == {"SALT_OPS": 0x0B5, "SALT_ORDER": 0x5F, "SALT_RETEST": 0x2E7, "SALT_EMB": 0xE3B,
                     "SALT_FINAL": 0xF1, "SALT_BATCHES": 0xB977, "SALT_RANDOM": 0x7A4D, "SALT_WEIGHTS": 0x3E1,
                     "SALT_SAME_OPS": 0x50C5, "SALT_POOL": 0x9001, "SALT_REPLAY": 0x2E9, "SALT_STRATEGY": 0x57A,
                     "SALT_BASELINE": 0xBA5, "SALT_CEILING": 0xCE1, "SALT_SEEDS_CEILING": 0x5CE1}
    assert len(set(salts.values())) == len(salts)


def test_no_seed_is_salted_outside_the_table():
    """A literal number beside a seed's parts is a salt that escaped core/runtime.py."""
    import re
    from pathlib import Path
    pkg = Path(runtime.__file__).resolve().parent.parent
    stray = [f"{p.relative_to(pkg)}: {m.group(0)}" for p in pkg.rglob("*.py")
             for m in re.finditer(r"derive_seed\([^)]*\b(0x[0-9A-Fa-f]+|\d{2,})\b[^)]*\)", p.read_text())]
    assert stray == []
