"""Options and look-ups shared by the ``nnexp`` subcommands (storage, tracking store, studies)."""

from __future__ import annotations

import argparse
from pathlib import Path

from nnexp.repro.errors import Refusal
from nnexp.tracking.masking import mask_secrets


def subcommand(
    sub: argparse._SubParsersAction, name: str, summary: str, doc: str | None
) -> argparse.ArgumentParser:
    """Register subcommand ``name``: ``summary`` in ``nnexp --help``, its module ``doc`` (kept as
    written) in ``nnexp NAME --help``."""
    return sub.add_parser(
        name, help=summary, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def add_out_dir_option(parser: argparse.ArgumentParser, what: str, command: str) -> None:
    """``--out-dir DIR`` for the weights a command re-trains (default under ``outputs/<command>/``)."""
    parser.add_argument(
        "--out-dir",
        metavar="DIR",
        default=None,
        help=f"where the {what} weights go (default: outputs/{command}/<date>/<time>)",
    )


def add_storage_option(parser: argparse.ArgumentParser) -> None:
    """``--storage URL`` (default: the sweeper's default journal)."""
    parser.add_argument(
        "--storage",
        metavar="URL",
        default=None,
        help="Optuna storage (as hydra.sweeper.storage); default: mlruns/optuna/journal.log in the cwd",
    )


def add_tracking_option(parser: argparse.ArgumentParser) -> None:
    """``--tracking-uri URI`` (default: ``$MLFLOW_TRACKING_URI``, else ``mlruns/mlflow.db`` in the cwd)."""
    parser.add_argument(
        "--tracking-uri",
        metavar="URI",
        default=None,
        help="MLflow tracking store; default: $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db in the cwd",
    )


def tracking_uri(explicit: str | None, *, must_exist: bool = True) -> str:
    """The tracking URI as ``nnexp-train`` resolves it from the cwd; refuse a missing SQLite file."""
    from nnexp.tracking.store import resolve_tracking_uri, sqlite_path

    uri = resolve_tracking_uri(explicit, Path.cwd())
    db = sqlite_path(uri)
    if must_exist and db is not None and str(db) != ":memory:" and not db.exists():
        raise Refusal(
            f"no MLflow store at {mask_secrets(uri)}: run from the directory the sweep ran in, "
            "or pass --tracking-uri (or set MLFLOW_TRACKING_URI)"
        )
    return uri


def open_study(name: str, storage: str | None) -> tuple[str, object]:
    """``(storage URL, optuna.Study)`` for study ``name``; refuses with the list of studies."""
    from nnexp.repro.studies import load_study, open_existing, storage_url

    url = storage_url(storage)
    return url, load_study(open_existing(url), name, url)


def format_value(value: float | None) -> str:
    """A metric value for the terminal (6 significant digits; ``-`` for none)."""
    return "-" if value is None else f"{value:.6g}"
