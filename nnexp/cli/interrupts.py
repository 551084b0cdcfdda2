"""SIGINT and SIGTERM end a command quietly: one line, no traceback, the shell's exit status.

Both signals raise :class:`Interrupted` (a ``KeyboardInterrupt``), so the code that cleans up
after an interrupt (a run marked KILLED, a sweep's running trials marked FAIL) runs for either;
:func:`quiet_interrupts` then prints ``<prog>: interrupted by SIGTERM`` and exits with
``128 + signal number``: 130 for SIGINT (Ctrl-C), 143 for SIGTERM.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

from nnexp.errors import exit_code

#: Signals turned into :class:`Interrupted`.
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A SIGINT or SIGTERM arrived (``signum`` says which)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


def _raise(signum: int, frame: Any) -> NoReturn:
    raise Interrupted(signum)


def install() -> None:
    """Make SIGINT and SIGTERM raise :class:`Interrupted` (a SIGINT ignored by the parent, as
    for background jobs of a non-interactive shell, stays ignored)."""
    for signum in SIGNALS:
        if signum == signal.SIGINT and signal.getsignal(signum) is signal.SIG_IGN:
            continue
        signal.signal(signum, _raise)


@contextlib.contextmanager
def quiet_interrupts(prog: str) -> Iterator[None]:
    """Turn an interrupt inside the block into one line on stderr and ``sys.exit(128 + signum)``."""
    try:
        yield
    except KeyboardInterrupt as exc:
        print(f"{prog}: interrupted by {signal_name(exc)}", file=sys.stderr, flush=True)
        sys.exit(exit_code(exc))


def signal_name(exc: BaseException) -> str:
    """``SIGINT`` or ``SIGTERM``: the signal behind an interrupt (Ctrl-C when none is recorded)."""
    return signal.Signals(getattr(exc, "signum", signal.SIGINT)).name
