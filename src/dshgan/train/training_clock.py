"""How long a resumable run has trained, counted across every sitting.

Why: a run that is stopped and resumed, or only reloaded once finished, would otherwise report
the last sitting's seconds (near zero for a finished one), and a comparison "at the same wall
time" would read nonsense. Each checkpoint stores the seconds spent up to it and a resumed run
counts on from there. A run reports the seconds of its last checkpoint (written at its end), so
a finished run reloaded reports exactly what its training reported. What a killed sitting spent
after its last checkpoint is not counted (at most one checkpoint interval). A checkpoint written
before the clock existed gives ``None``: unknown, never zero.
"""

from __future__ import annotations

import time


def _now() -> float:
    return time.perf_counter()


class TrainingClock:
    """Seconds trained so far: the earlier sittings' (``before``) plus this one's."""

    def __init__(self, before: float | None = 0.0):
        self.before = before
        self.at_checkpoint = before  # what the last checkpoint written or read holds
        self._start = _now()

    def seconds(self) -> float | None:
        if self.before is None:
            return None
        return self.before + (_now() - self._start)

    def for_checkpoint(self) -> float | None:
        """The seconds to store in a checkpoint written now (and to report once done)."""
        self.at_checkpoint = self.seconds()
        return self.at_checkpoint

    @classmethod
    def resumed(cls, checkpoint: dict) -> TrainingClock:
        """Counting on from a checkpoint's ``train_seconds``."""
        return cls(checkpoint.get("train_seconds"))


def total_seconds(*parts: float | None) -> float | None:
    """The sum of several runs' clocks (stage 2 and its self-training rounds); unknown when
    one of them is."""
    return None if any(p is None for p in parts) else float(sum(parts))


def round_seconds(seconds: float | None) -> float | None:
    """For reports: a tenth of a second, unknown kept unknown."""
    return None if seconds is None else round(seconds, 1)
