"""``nnexp``: from a finished sweep to a verified, registered, servable model.

    nnexp studies                         # what is in the Optuna storage
    nnexp best --study digits             # best trial + a config nnexp-train re-runs
    nnexp reproduce --study digits --register digits-mlp
    nnexp audit --study digits --sample 3     # were the pruned trials rightly pruned?
    nnexp ui                              # MLflow UI on 127.0.0.1:5000

Training and sweeps stay with ``nnexp-train`` (Hydra); these subcommands read what they recorded.
"""

from __future__ import annotations

import argparse
import os
import sys

from nnexp.cli import audit, best, reproduce, studies, ui
from nnexp.cli.interrupts import install as install_interrupts
from nnexp.cli.interrupts import signal_name
from nnexp.shutdown import end_quickly

SUBCOMMANDS = (studies, best, reproduce, audit, ui)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="nnexp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def _mark_dead_runs(args: argparse.Namespace) -> None:
    """Runs of processes killed outright on this host become KILLED (nnexp.tracking.liveness),
    in the tracking store the subcommand uses (default: ``mlruns/mlflow.db`` in the cwd)."""
    from pathlib import Path

    from nnexp.tracking.liveness import mark_dead_runs_quietly
    from nnexp.tracking.store import resolve_tracking_uri

    explicit = getattr(args, "tracking_uri", None) or getattr(args, "backend_store_uri", None)
    mark_dead_runs_quietly(resolve_tracking_uri(explicit, Path.cwd()), prog=f"nnexp {args.command}")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns (and exits with) the subcommand's status.

    2: refused (the message says why and what to do); 3: the tracking store is unreachable;
    130/143: interrupted by SIGINT/SIGTERM.
    """
    args = build_parser().parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from nnexp.errors import config_problems, exit_code

    install_interrupts()  # SIGINT/SIGTERM: one line, exit 130/143
    _mark_dead_runs(args)
    try:
        code = int(args.func(args))
    except KeyboardInterrupt as exc:
        print(f"nnexp {args.command}: interrupted by {signal_name(exc)}", file=sys.stderr, flush=True)
        code = exit_code(exc)
    except Exception as exc:  # expected failures get a message and their exit code
        code = exit_code(exc)
        if code is None:
            raise
        print(f"nnexp {args.command}: error: {config_problems(exc)}", file=sys.stderr, flush=True)
    if argv is None:
        end_quickly()
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
