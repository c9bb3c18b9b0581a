"""dqs engine: the importable library. Pure functions and small classes; no printing, no CLI."""

from .errors import DqsError, EngineError, ExitCode, InputError

__all__ = ["DqsError", "EngineError", "ExitCode", "InputError"]
