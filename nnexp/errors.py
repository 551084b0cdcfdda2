"""The errors that end a command with a message instead of a traceback, and their exit codes.

Every entry point (``nnexp-train``, a sweep, ``nnexp``) maps an exception to its exit code with
:func:`exit_code`; the codes are documented in the README:

* 1 :data:`EXIT_FAILED`: the work ran but failed (no trial completed, a reproduction mismatch);
* 2 :data:`EXIT_INVALID`: bad input, refused before anything ran;
* 3 :data:`EXIT_UNREACHABLE`: the tracking server or the Optuna storage cannot be reached, or
  the disk nnexp writes to is full (fix it, then the same command resumes);
* 128 + signal number: interrupted (:data:`EXIT_INTERRUPTED` 130 for SIGINT/Ctrl-C, 143 for
  SIGTERM), as a shell reports a process its signal stopped.
"""

from __future__ import annotations

import signal
import sys
from typing import NoReturn

EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130


class InvalidInput(Exception):
    """Bad input, refused before anything ran (exit 2)."""

    exit_code = EXIT_INVALID


class Unreachable(RuntimeError):
    """A service (tracking server, Optuna storage) cannot be reached (exit 3)."""

    exit_code = EXIT_UNREACHABLE


class ConfigError(InvalidInput, ValueError):
    """A configuration value is invalid; the message names every offending key (exit 2)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class SearchSpaceError(InvalidInput, ValueError):
    """A search-space entry is invalid; the message names the entry and what is wrong."""


class SweepSettingError(InvalidInput, ValueError):
    """A ``hydra.sweeper`` setting is invalid; the message names the key."""


class UnsafeName(InvalidInput, ValueError):
    """A study/experiment/run name that would escape its directory or break MLflow."""


class DataError(InvalidInput, ValueError):
    """The dataset a config names cannot be loaded (a missing or broken file, a bad column)."""


class Refusal(InvalidInput):
    """A request that cannot be carried out as asked; the message says why and what to do."""


class TrackingUnavailable(Unreachable):
    """The MLflow tracking server does not answer."""


class StorageUnavailable(Unreachable):
    """The Optuna storage (a database server) cannot be reached."""


class SweepStopped(Unreachable):
    """Workers stopped because the tracking server or the Optuna storage stayed unreachable."""


class ServiceUnreachable(Unreachable):
    """The tracking server or the Optuna storage stayed unreachable past
    ``hydra.sweeper.reconnect_timeout``: this worker stops (the sweep exits non-zero)."""


class NotWritable(InvalidInput, OSError):
    """A place nnexp must write to (the tracking home, the Optuna journal, the output dir) is
    read-only; found before anything runs (exit 2)."""


class DiskFull(Unreachable, OSError):
    """The disk under the tracking store, the journal or the output dir is full (exit 3): the
    work stops at the first write that fails; what was recorded stays, the same command resumes."""


class SweepFailed(RuntimeError):
    """No trial completed (everything is still recorded)."""

    exit_code = EXIT_FAILED


class SweepAborted(BaseException):
    """The sweeper process is gone (or the user interrupted): stop this worker now."""


def exit_code(exc: BaseException) -> int | None:
    """The exit code for an expected failure, None for a bug (let its traceback show)."""
    if isinstance(exc, KeyboardInterrupt):  # nnexp.cli.interrupts sets ``signum``
        return 128 + int(getattr(exc, "signum", signal.SIGINT))
    code = getattr(exc, "exit_code", None)
    return code if isinstance(code, int) else None


def config_problems(exc: BaseException) -> str:
    """``invalid configuration:`` and one problem per line for a ``ConfigError``, else str."""
    problems = getattr(exc, "problems", None)
    if problems:
        return "invalid configuration:\n  " + "\n  ".join(problems)
    return str(exc)


def fail(prog: str, message: str, code: int) -> NoReturn:
    """Print ``<prog>: error: <message>`` on stderr and exit with ``code``."""
    print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)
