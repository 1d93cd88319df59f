"""Images that cannot be decoded: skipped and listed, or fatal, and never more than a set share.

Why: one truncated JPEG among thousands should not abort a run that has trained for an hour,
but a folder where a tenth of the files are broken is a mistake worth stopping for.
"""

from __future__ import annotations

from pathlib import Path

from dshgan.data.errors import DataError

ON_BAD_IMAGE = ("skip", "fail")


class BadImages:
    """Counts and lists the images that failed to decode out of ``total``."""

    def __init__(self, total: int, on_bad_image: str = "skip", max_fraction: float = 0.05):
        if on_bad_image not in ON_BAD_IMAGE:
            raise ValueError(f"on_bad_image must be one of {ON_BAD_IMAGE}, got {on_bad_image!r}")
        if not 0 <= max_fraction <= 1:
            raise ValueError(f"max_bad_fraction must be in [0, 1], got {max_fraction}")
        self.total, self.mode, self.max_fraction = total, on_bad_image, max_fraction
        self.failures: list[tuple[str, str]] = []  # (name, message)

    def __len__(self) -> int:
        return len(self.failures)

    def record(self, name: str, message: str) -> None:
        """Note one bad image; raises DataError in "fail" mode or past the allowed share."""
        if self.mode == "fail":
            raise DataError(f"{message} (pass --on-bad-image skip to skip unreadable images)")
        self.failures.append((name, message))
        if len(self.failures) > self.max_fraction * self.total:
            raise DataError(
                f"{len(self.failures)} of {self.total} images could not be decoded, more than "
                f"the allowed share of {self.max_fraction:g} (data.max_bad_fraction); the "
                f"latest: {message}")

    def write(self, path: str | Path) -> Path | None:
        """``<name>\\t<message>`` per bad image (nothing written when there are none)."""
        if not self.failures:
            return None
        from dshgan.io_utils import atomic_write_text

        atomic_write_text(path, "".join(f"{n}\t{m}\n" for n, m in self.failures))
        return Path(path)

    def summary(self) -> str:
        return (f"{len(self.failures)} of {self.total} images could not be decoded and were "
                "skipped" if self.failures else "every image decoded")
