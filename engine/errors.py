"""Errors the engine raises. Each carries the exit code the CLI should use and a hint.

The CLI renders them once, on stderr; the engine never prints.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # runtime failure: the input was fine, something went wrong doing the work
    BAD_INPUT = 2  # usage error or bad input: the user can fix it
    ALERTS = 3  # `dqs alerts --fail-on LEVEL`: an alert reached that severity (the outputs are complete)
    INTERRUPTED = 130


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when the message is empty)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class DqsError(Exception):
    """Base error: a one-line message plus a hint that tells the user what to do."""

    exit_code: ExitCode = ExitCode.FAILURE
    detail: str | None = None  # a few lines shown under the message (e.g. the offending SQL line)

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nHint: {self.hint}"


class InputError(DqsError):
    """The input (results log, rules file, options) cannot be used as given."""

    exit_code = ExitCode.BAD_INPUT


class EngineError(DqsError):
    """The database engine failed on a query; carries the logical query name and its SQL."""

    exit_code = ExitCode.FAILURE

    def __init__(self, message: str, *, query_name: str, sql: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.query_name = query_name
        self.sql = sql
