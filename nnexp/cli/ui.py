"""``nnexp ui``: the MLflow UI on the local tracking home, bound to 127.0.0.1.

    nnexp ui                 # mlruns/mlflow.db in the cwd (or $MLFLOW_TRACKING_URI)
    nnexp ui --port 5050

It prints the address of the runs table of the experiment holding the latest run (then of every
other experiment with runs), so a fresh browser lands on the runs, not MLflow 3's GenAI overview.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path

from nnexp.cli.common import subcommand
from nnexp.repro.errors import Refusal
from nnexp.tracking.links import UI_HOST as HOST
from nnexp.tracking.links import UI_PORT


def add_parser(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    """Register the subcommand."""
    p = subcommand(sub, "ui", "start the MLflow UI on the local tracking home (127.0.0.1)", __doc__)
    p.add_argument(
        "--backend-store-uri",
        metavar="URI",
        default=None,
        help="tracking store; default: $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db in the cwd",
    )
    p.add_argument("--port", type=int, default=UI_PORT, help=f"port on 127.0.0.1 (default: {UI_PORT})")
    p.set_defaults(func=run)


def check_port(port: int) -> None:
    """Refuse a port outside 1..65535 or one already in use on 127.0.0.1."""
    if not 0 < port < 65536:
        raise Refusal(f"--port must be 1..65535, got {port}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise Refusal(
                    f"port {port} on {HOST} is in use (another MLflow UI?); pick another: --port N"
                ) from None
            raise Refusal(f"cannot bind {HOST}:{port}: {exc}") from None


def _listed(uri: str) -> list[tuple[str, str]]:
    """:func:`experiments_by_latest_run`, or nothing when the store cannot be read (the UI says why)."""
    from nnexp.tracking.masking import mask_secrets
    from nnexp.tracking.queries import experiments_by_latest_run

    try:
        return experiments_by_latest_run(uri)
    except Exception as exc:  # noqa: BLE001 - the UI itself reports an unusable store
        print(f"note: cannot list the experiments of {mask_secrets(uri)}: {mask_secrets(str(exc))[:300]}")
        return []


def command(uri: str, port: int) -> list[str]:
    """The ``mlflow ui`` command line (this interpreter's MLflow, one worker)."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def open_lines(experiments: list[tuple[str, str]], port: int) -> list[str]:
    """``open: <runs table of the latest experiment>`` then ``also: ...`` for the others."""
    from nnexp.tracking.links import experiment_url, local_ui

    base = local_ui(port)
    if not experiments:
        return [f"open: {base}   (no runs yet)"]
    lines = []
    for i, (exp_id, name) in enumerate(experiments):
        note = f"experiment {name!r}" + (", latest run" if i == 0 and len(experiments) > 1 else "")
        lines.append(f"{'open' if i == 0 else 'also'}: {experiment_url(base, exp_id)}   ({note})")
    return lines


def run(args: argparse.Namespace) -> int:
    """Print the addresses, then become the MLflow UI process (Ctrl-C stops it)."""
    from nnexp.tracking.masking import mask_secrets
    from nnexp.tracking.store import resolve_tracking_uri, sqlite_path

    uri = resolve_tracking_uri(args.backend_store_uri, Path.cwd())
    check_port(args.port)
    db = sqlite_path(uri)
    experiments: list[tuple[str, str]] = []
    if db is not None and not db.exists():
        print(
            f"note: {db} does not exist yet: the UI starts empty (train or sweep from this directory first)"
        )
    else:
        experiments = _listed(uri)
    print(f"MLflow UI for {mask_secrets(uri)}")
    print("\n".join(open_lines(experiments, args.port)))
    print("(Ctrl-C stops it)", flush=True)
    cmd = command(uri, args.port)
    os.execv(cmd[0], cmd)
    return 0  # pragma: no cover - execv does not return
