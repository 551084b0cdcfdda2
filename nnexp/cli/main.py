"""``nnexp``: from a finished sweep to a verified, registered, servable model.

    nnexp studies                         # what is in the Optuna storage
    nnexp best --study digits             # best trial + a config nnexp-train re-runs
    nnexp reproduce --study digits --register digits-mlp
    nnexp ui                              # MLflow UI on 127.0.0.1:5000

Training and sweeps stay with ``nnexp-train`` (Hydra); these subcommands read what they recorded.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from nnexp.cli import best, reproduce, studies, ui

SUBCOMMANDS = (studies, best, reproduce, ui)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="nnexp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Console-script entry point; returns (and exits with) the subcommand's status.

    2: refused (the message says why and what to do); 3: the tracking store is unreachable.
    """
    args = build_parser().parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from nnexp.errors import EXIT_INTERRUPTED, config_problems, exit_code

    try:
        code = int(args.func(args))
    except KeyboardInterrupt:
        print(f"nnexp {args.command}: interrupted", file=sys.stderr, flush=True)
        code = EXIT_INTERRUPTED
    except Exception as exc:  # expected failures get a message and their exit code
        code = exit_code(exc)
        if code is None:
            raise
        print(f"nnexp {args.command}: error: {config_problems(exc)}", file=sys.stderr, flush=True)
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
