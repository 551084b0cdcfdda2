"""``nnexp ui``: the MLflow UI on the local tracking home, bound to 127.0.0.1.

    nnexp ui                 # mlruns/mlflow.db in the cwd (or $MLFLOW_TRACKING_URI)
    nnexp ui --port 5050
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path
from typing import List

from nnexp.repro.errors import Refusal

HOST = "127.0.0.1"


def add_parser(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    """Register the subcommand."""
    p = sub.add_parser("ui", help="start the MLflow UI on the local tracking home (127.0.0.1)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend-store-uri", metavar="URI", default=None,
                   help="tracking store; default: $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db in the cwd")
    p.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default: 5000)")
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
                raise Refusal(f"port {port} on {HOST} is in use (another MLflow UI?); pick another: --port N") from None
            raise Refusal(f"cannot bind {HOST}:{port}: {exc}") from None


def command(uri: str, port: int) -> List[str]:
    """The ``mlflow ui`` command line (this interpreter's MLflow, one worker)."""
    return [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
            "--host", HOST, "--port", str(port), "--workers", "1"]


def run(args: argparse.Namespace) -> int:
    """Print the URL, then become the MLflow UI process (Ctrl-C stops it)."""
    from nnexp.tracking.masking import mask_secrets
    from nnexp.tracking.store import resolve_tracking_uri, sqlite_path

    uri = resolve_tracking_uri(args.backend_store_uri, Path.cwd())
    check_port(args.port)
    db = sqlite_path(uri)
    if db is not None and not db.exists():
        print(f"note: {db} does not exist yet: the UI starts empty (train or sweep from this directory first)")
    print(f"MLflow UI for {mask_secrets(uri)}")
    print(f"open: http://{HOST}:{args.port}   (Ctrl-C stops it)", flush=True)
    cmd = command(uri, args.port)
    os.execv(cmd[0], cmd)
    return 0  # pragma: no cover - execv does not return
