"""TPE (tree-structured Parzen estimator) through Optuna's ask-and-tell interface: each edge of the
space is a yes/no parameter, a sampled edge set is pruned to its cell, and the cell trains once
under a random table seed. A sample whose cell was trained already is told its mean observed
score without training (it costs no budget); after MAX_REPEATS such samples in a row an untried
cell is drawn uniformly instead, so the search always moves on.
"""
from __future__ import annotations

import math

from .base import Ask, Strategy, Told

MAX_REPEATS = 20       # samples of trained cells in a row before an untried cell is drawn uniformly
STARTUP = 5            # random samples before TPE models the scores (Optuna's n_startup_trials)


class TPE(Strategy):
    name = "tpe"
    about = "TPE (Optuna): samples edge sets where the scores so far say good cells lie"

    def __init__(self, *args, **kw):
        import optuna  # here, not at import: the command line builds its menus without it
        super().__init__(*args, **kw)
        self.optuna = optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=int(self.rng.integers(2**31)), n_startup_trials=STARTUP)
        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        dist = optuna.distributions.CategoricalDistribution([0, 1])
        self.params = {f"{i}-{j}": dist for i, j in self.space.edges}
        self.trials: dict = {}                     # ask -> the Optuna trial it answers

    def propose(self) -> list[Ask]:
        for _ in range(MAX_REPEATS):
            trial = self.study.ask(self.params)
            k = self.space.key_of(e for e in self.space.edges if trial.params[f"{e[0]}-{e[1]}"])
            if k not in self.seen:
                ask = self.first(k)
                self.trials[ask] = trial
                return [ask]
            self.finish(trial, self.mean(k))
        untried = self.untried()
        return [self.first(self.choice(untried))] if untried else []

    def observe(self, told: Told) -> None:
        trial = self.trials.pop(told.ask, None)
        if trial is not None:
            self.finish(trial, told.score)

    def finish(self, trial, score: float) -> None:
        """Tell Optuna a trial's score; a diverged cell (-inf) is a failed trial."""
        if math.isfinite(score):
            self.study.tell(trial, score)
        else:
            self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
