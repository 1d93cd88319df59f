"""The one error type the data layer raises for bad input."""

from __future__ import annotations


class DataError(ValueError):
    """Bad or unreadable input data: the message names the file (and line or member) at fault.

    A subclass of ValueError so that callers who only know the standard exceptions still catch it.
    """
