"""Errors with stable codes and exit codes.

A ``UserError`` is something the person running ``kluis`` can fix: it names the file, row,
column and rule, and says how to fix it, but never quotes a value from the microdata.
An ``InternalError`` is a bug in Kansenkluis.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    BAD_INPUT = 3
    POLICY_REFUSAL = 4


class KluisError(Exception):
    """Base class; ``code`` is a stable machine-readable identifier."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" + (f" (fix: {self.hint})" if self.hint else "")

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "hint": self.hint}


class UserError(KluisError):
    """Bad input or bad usage; nothing was changed. Exit code 3 unless stated otherwise."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(
        self, code: str, message: str, hint: str = "", exit_code: ExitCode = ExitCode.BAD_INPUT
    ) -> None:
        super().__init__(code, message, hint)
        self.exit_code = exit_code


class UsageError(UserError):
    """The command was called wrongly (exit code 2)."""

    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(code, message, hint, exit_code=ExitCode.USAGE)


class PolicyRefusal(UserError):
    """The disclosure policy or the privacy budget forbids the request (exit code 4)."""

    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(code, message, hint, exit_code=ExitCode.POLICY_REFUSAL)


class InternalError(KluisError):
    """A bug: an invariant that should always hold did not."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, hint="this is a bug in Kansenkluis; please report it")
