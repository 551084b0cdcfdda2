"""``nnexp studies``: the studies of an Optuna storage, trial counts by state, best values."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nnexp.cli.common import add_storage_option, format_value
from nnexp.contract import EndState
from nnexp.tracking.masking import mask_secrets

if TYPE_CHECKING:
    from nnexp.repro.studies import StudyInfo

STATES = (EndState.COMPLETE, EndState.PRUNED, EndState.FAIL, "RUNNING", "WAITING")


def add_parser(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    """Register the subcommand."""
    p = sub.add_parser(
        "studies", help="list the studies in a storage (trials by state, best value)", description=__doc__
    )
    add_storage_option(p)
    p.set_defaults(func=run)


def table(infos: list[StudyInfo]) -> str:
    """A fixed-width table: study, direction, trials, one column per state, best value/trial/run."""
    head = ["study", "direction", "trials", *(s.lower() for s in STATES), "best", "trial", "MLflow run"]
    rows = [head]
    for s in infos:
        rows.append(
            [
                s.name,
                s.direction,
                str(s.n_trials),
                *(str(s.counts.get(k, 0)) for k in STATES),
                format_value(s.best_value),
                "-" if s.best_number is None else str(s.best_number),
                s.best_run_id or "-",
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def run(args: argparse.Namespace) -> int:
    """Print the table; exit 0 (an empty storage prints a hint)."""
    from nnexp.repro.studies import list_studies, open_existing, storage_url

    url = storage_url(args.storage)
    infos = list_studies(open_existing(url))
    print(f"storage: {mask_secrets(url)}")
    if not infos:
        print("no studies yet: run a sweep (nnexp-train -m hparams_search=digits, or scripts/sweep.sh)")
        return 0
    print(table(infos))
    return 0
