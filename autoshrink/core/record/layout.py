"""The names and version of the record files (docs/guide/record-format.md)."""

VERSION = 2                                   # search.json's layout; migrate.py reads every older one
PREFIX = "autoshrink-search/"
FORMAT = f"{PREFIX}{VERSION}"
KEYS = ("format", "config", "initial", "cell", "steps", "best", "final")   # what every search.json holds
STRATEGY_FORMAT = "autoshrink-strategy/1"     # strategy.json of a strategy run (strategy_run.StrategyRun)
STRATEGY_FILE = "strategy.json"
