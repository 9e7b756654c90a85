"""The search record: what `<save>/search.json` holds, in its parts.

    layout.py    the files' format names and version
    schema.py    the typed record (SearchRecord, Step, Candidate, ...), its version and format
    migrate.py   older versions read as today's, one function per version
    files.py     read_state / write_state, the record's paths kept relative to its folder
    plain.py     the typed record's queries on the plain dict (best_of, cell_of, ...)
    which.py     "best", "final" or "step:N"
    load.py      load_cell: a cell from a record, a cell file, a graph pickle or a published name
    strategy.py  StrategyRecord: another strategy's run (strategy.json), typed for the views

    state = read_state("search-run")            # the plain dict, checked and migrated (raises ConfigError)
    rec = SearchRecord.from_dict(state)          # typed: rec.steps[0].candidates[0].ppl, rec.best_step()
    cell = load_cell("search-run", "step:2")     # a cell of it

The layout on disk is the plain dict (docs/guide/record-format.md). `Search` holds the typed
record (`search.record`), changes it and writes `to_dict()`. Everything a caller needs is named
here; the parts import each other, never this file.
"""
from ..rules import decision_key
from .files import (
           PATHS,
           holds_strategy_run,
           is_search_record,
           paths_from_record,
           paths_to_record,
           read_state,
           record_path,
           write_state,
)
from .layout import FORMAT, KEYS, STRATEGY_FILE, STRATEGY_FORMAT, VERSION
from .load import load_cell, strategy_pick
from .migrate import migrate
from .plain import best_of, best_ppl, cell_of, done_steps, typed
from .schema import Best, Candidate, Final, Retest, Retests, Rung, SearchRecord, Step, Trained
from .strategy import StrategyRecord, incumbent_means
from .which import WHICH, parse_which, which_name

__all__ = ["PATHS", "is_search_record", "paths_from_record", "paths_to_record", "read_state", "record_path",
           "write_state", "load_cell", "strategy_pick", "migrate", "best_of", "best_ppl", "cell_of", "done_steps",
           "typed", "FORMAT", "KEYS", "STRATEGY_FILE", "STRATEGY_FORMAT", "VERSION", "Best", "Candidate", "Final",
           "Retest", "Retests", "Rung", "SearchRecord", "Step", "Trained", "decision_key", "WHICH", "parse_which",
           "which_name", "StrategyRecord", "incumbent_means", "holds_strategy_run"]
