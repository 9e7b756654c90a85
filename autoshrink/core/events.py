"""What the training loops report while they run: one vocabulary of small typed records.

A loop calls `on_event(event)` with one of the records below; a face (the CLI's printers, the
lab's runner and panels, a notebook) looks at its type:

    def show(event):
        if isinstance(event, CandidateDone):
            print(event.edge, event.record["ppl"])

    Search(cfg, on_event=show).run()

Each layer has its own records, so one name never means two things:
- training (train.train_cells, backend.*.train): TrainingStarted, EpochDone, TrainingDone; `index`
  is the candidate's place in the cells given to that call (the only `index`: a candidate's place
  in its step, or a job's in its report, is `position`, the trainings finished are `done`);
- the search (search.Search): CandidateStarted, CandidateEpoch, CandidateDone, StepDone,
  SearchFinished; `step` is the step number, or "final" for the final cell (edge None);
- final training (final.FinalRun): FinalStarted, FinalEpoch, PhaseSwitched, FinalDone;
- the quality report (quality.QualityReport): JobStarted, JobDone;
- the space table (space.table.TableBuilder): TableProgress;
- a strategy trained (strategy_run.StrategyRun): StrategyTold, after each result is told.
The records are frozen and picklable: Ray tasks send them to the driver as they are.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Union

Edge = Optional[tuple]        # (i, j), or None for the final cell


# --- training: one call trains several candidates (train.train_cells, a backend)
@dataclass(frozen=True)
class TrainingStarted:
    index: int                # the candidate's place in the call's cells


@dataclass(frozen=True)
class EpochDone:
    index: int
    epoch: int                # 0-based: the epoch just trained
    epochs: int
    train_loss: float         # running (EMA) training loss of the epoch
    val_loss: float           # validation loss after it (inf or nan when diverged)


@dataclass(frozen=True)
class TrainingDone:
    index: int
    result: Any               # train.Result


# --- the search (search.Search)
@dataclass(frozen=True)
class _OfCandidate:
    step: Union[int, str]     # the step, or "final"
    edge: Edge                # the edge this candidate removes


@dataclass(frozen=True)
class CandidateStarted(_OfCandidate):
    position: int             # its place in the step's order (0-based; for a retest, in the retests)
    count: int                # candidates in the step (or retests)


@dataclass(frozen=True)
class CandidateEpoch(_OfCandidate):
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float


@dataclass(frozen=True)
class CandidateDone(_OfCandidate):
    done: int                 # trainings of the step finished, this one included (1-based; or retests)
    count: int
    record: dict              # the candidate as search.json records it


@dataclass(frozen=True)
class StepDone:
    step: int
    record: dict              # the step as search.json records it


@dataclass(frozen=True)
class SearchFinished:
    record: dict              # search.json's "final"


# --- final training (final.FinalRun)
@dataclass(frozen=True)
class FinalStarted:
    epoch: int                # the first epoch this run trains (0 unless resumed)
    epochs: int
    phase: str                # "SGD" or "ASGD"
    params: int
    model: str                # "cell" or "lstm"
    resumed: bool
    precision: str


@dataclass(frozen=True)
class FinalEpoch:
    epoch: int
    epochs: int
    phase: str
    train_loss: float
    val_loss: float
    val_ppl: Optional[float]  # None when diverged
    best_val_loss: float
    seconds: float


@dataclass(frozen=True)
class PhaseSwitched:
    epoch: int                # the epoch after which the optimizer changed
    phase: str


@dataclass(frozen=True)
class FinalDone:
    result: dict              # run.json's "result"


# --- the quality report (quality.QualityReport)
@dataclass(frozen=True)
class JobStarted:
    job: str                  # the cache key of the training
    position: int             # 0-based: its place among the report's trainings (not a call's `index`)
    count: int


@dataclass(frozen=True)
class JobDone:
    job: str
    position: int
    count: int
    record: dict


# --- the space table (space.table.TableBuilder)
@dataclass(frozen=True)
class TableProgress:
    job: str                  # "<cell key> / seed <k>": the training just done
    done: int                 # trainings of the table done, this one included
    count: int                # trainings the table holds
    eta_seconds: float        # the rest at this process's pace so far
    record: dict              # the run recorded (ppl, test_ppl, seconds, ...)


# --- a strategy trained (strategy_run.StrategyRun)
@dataclass(frozen=True)
class StrategyTold:
    done: int                 # trainings told so far, this one included
    budget: int
    training: dict            # the training as strategy.json records it (key, seed, score, ppl, ...)
    pick: Optional[str]       # the strategy's pick after it (a cell key)
    record: dict              # a copy of the record with the trainings told so far (what a view draws)


def ignore(event) -> None:
    """The on_event of a caller that wants none."""
