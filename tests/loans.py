"""A small loans table as people's own tables come: text categories, missing values, a row-number
and a name column (the README's "Your own table" walk-through uses it).

    python tests/loans.py loans.csv [rows]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

HOMES = ("rent", "own", "mortgage", "parents")
JOBS = ("fixed", "freelance", "partime", "others", "student", "retired")


def write_loans(path: str | Path, rows: int = 400, seed: int = 0) -> Path:
    """Write the table: ``Status`` (good/bad) depends on home, job, income, age and records.

    ``Id`` counts rows, ``Name`` is unique per row (both left out as identifiers); ``Age`` and
    ``Home`` have gaps (about 1 in 10 rows); ``Records`` is a boolean; ``Job`` has a rare level.
    """
    rng = np.random.default_rng(seed)
    path = Path(path)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Id", "Name", "Age", "Income", "Home", "Married", "Records", "Job", "Status"])
        for i in range(rows):
            age = int(rng.integers(18, 75))
            income = round(float(rng.normal(130, 40)), 1)
            home = HOMES[int(rng.integers(0, len(HOMES)))]
            job = JOBS[int(rng.choice(len(JOBS), p=[0.4, 0.2, 0.15, 0.15, 0.08, 0.02]))]
            records = bool(rng.random() < 0.2)
            score = (home in ("own", "mortgage")) + (job == "fixed") + (income > 130) - 2 * records
            score += 0.02 * (age - 45) + rng.normal(0, 0.6)
            status = "good" if score > 0.8 else "bad"
            w.writerow(
                [
                    i + 1,
                    f"Person {i:04d}",
                    "" if rng.random() < 0.1 else age,
                    income,
                    "" if rng.random() < 0.1 else home,
                    "yes" if rng.random() < 0.5 else "no",
                    records,
                    job,
                    status,
                ]
            )
    return path


if __name__ == "__main__":
    out = write_loans(
        sys.argv[1] if len(sys.argv) > 1 else "loans.csv", int(sys.argv[2]) if len(sys.argv) > 2 else 400
    )
    print(out)
