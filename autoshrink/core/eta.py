"""The time left of a run of many trainings, smoothed: what a progress line says.

    left = TimeLeft()
    left.update(done, count)     # after each training: seconds left (None before the first)

The raw estimate is the rate over all trainings so far (elapsed / done) times those left. Trainings
that end together (a batched group) make it swing: the first of a group ends with the whole group's
time spent but one training counted. So each raw estimate is blended with the previous estimate
aged by the time since (an exponential moving average, weight `alpha` on the new one).
"""
from __future__ import annotations

import time


class TimeLeft:
    def __init__(self, alpha: float = 0.5, clock=time.perf_counter):
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        self.alpha, self.clock = alpha, clock
        self.start = clock()
        self.last: tuple[float, float] | None = None     # (when, estimate) of the previous update

    def update(self, done: int, count: int, first_done: int = 0) -> float | None:
        """Seconds left after `done` of `count` trainings (`first_done` of them were done before this
        run started: they took no time here)."""
        now = self.clock()
        ran = done - first_done
        if ran <= 0:
            return None
        raw = (now - self.start) / ran * max(count - done, 0)
        if self.last is None or done >= count:
            estimate = raw
        else:
            aged = max(self.last[1] - (now - self.last[0]), 0.0)
            estimate = self.alpha * raw + (1 - self.alpha) * aged
        self.last = (now, estimate)
        return estimate
