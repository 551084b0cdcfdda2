"""``nnexp audit``: were the pruned trials rightly pruned? Re-train a sample to full budget.

    nnexp audit --study digits                 # 3 pruned trials, seed 0
    nnexp audit --study digits --sample 5 --seed 1

Each sampled trial (stopped by the pruner; diverged ones are left out) is re-trained from its
recorded config and seed without pruning; a false prune is one whose full-budget objective beats
the study's best. The audit is an ``audit-<study>`` run under the sweep's parent run.

Exit status: 0 done (whatever the false-prune rate), 2 refused (unknown study, nothing pruned),
3 tracking store unreachable.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from nnexp.cli.common import (
    add_out_dir_option,
    add_storage_option,
    add_tracking_option,
    open_study,
    subcommand,
    tracking_uri,
)

#: Pruned trials re-trained when --sample is not given.
DEFAULT_SAMPLE = 3


def add_parser(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    """Register the subcommand."""
    p = subcommand(sub, "audit", "re-train pruned trials to full budget: the false-prune rate", __doc__)
    p.add_argument("--study", metavar="NAME", required=True, help="the study (see: nnexp studies)")
    p.add_argument(
        "--sample",
        type=int,
        default=DEFAULT_SAMPLE,
        metavar="K",
        help=f"pruned trials to re-train (default: {DEFAULT_SAMPLE}; all when fewer)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the sample (default: 0)")
    add_storage_option(p)
    add_tracking_option(p)
    add_out_dir_option(p, "re-trained", "audit")
    p.add_argument("--progress", action="store_true", help="per-epoch lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Sample, re-train, print the false-prune rate; 0 when the audit ran."""
    from nnexp.repro.audit import audit

    uri = tracking_uri(args.tracking_uri)
    _, study = open_study(args.study, args.storage)
    out_dir = Path(
        args.out_dir or Path("outputs", "audit", time.strftime("%Y-%m-%d"), time.strftime("%H-%M-%S"))
    )
    result = audit(
        study,
        args.sample,
        tracking_uri=uri,
        out_dir=out_dir.resolve(),
        seed=args.seed,
        progress=args.progress,
        echo=lambda line: print(line, flush=True),
    )
    print(result.summary())
    print(f"audit run: {result.run_id} (under the sweep's parent run; nnexp ui to browse)")
    return 0
