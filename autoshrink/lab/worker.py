"""One job at a time behind a lab panel: in a background thread (a button) or in the caller's (a
notebook cell), with the busy guard, the pause and stop flags a job polls, and wait. The search
lab's runner and the final-training lab both run their jobs through a Worker.

    worker = Worker("the lab is busy; press Stop or call wait() first", on_end=redraw)
    worker.start(job)      # job() in a thread; nothing happens while another job runs
    worker.run(job)        # job() here; a RuntimeError (the message above) while another job runs
    worker.pause(); worker.stop(); worker.wait()     # the job reads worker.pausing / worker.stopping
"""
from __future__ import annotations

import threading


class Worker:
    def __init__(self, busy_message: str, on_end=None):
        self.busy_message = busy_message    # the refusal of run() while a job runs
        self.on_end = on_end                # called after each job, once busy is False again
        self.busy = False
        self.pausing = self.stopping = False
        self._thread: threading.Thread | None = None

    def run(self, job):
        """job() in this thread; returns what it returns."""
        if self.busy:
            raise RuntimeError(self.busy_message)
        self._begin()
        return self._run(job)

    def start(self, job) -> bool:
        """job() in a background thread; False (and nothing started) while another job runs."""
        if self.busy:
            return False
        self._begin()
        self._thread = threading.Thread(target=self._run, args=(job,), daemon=True)
        self._thread.start()
        return True

    def _begin(self) -> None:
        self.pausing = self.stopping = False
        self.busy = True

    def _run(self, job):
        try:
            return job()
        finally:
            self.busy = False
            if self.on_end is not None:
                self.on_end()

    def pause(self) -> None:
        self.pausing = True

    def stop(self) -> None:
        self.stopping = True

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background job to end."""
        if self._thread is not None:
            self._thread.join(timeout)
