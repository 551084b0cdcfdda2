"""Your own table through the real ``nnexp-train`` and ``nnexp reproduce``: the column roles as
the run's first lines and tags, bad tables refused before any run, a reproduction."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from test_nnexp_reproduce import nnexp, ok, run

pytestmark = pytest.mark.slow

TRAIN = ["data=csv", "data.path=loans.csv", "data.target=Status", "trainer.epochs=3", "model.width=16"]


def _runs(cwd: Path) -> int:
    db = cwd / "mlruns" / "mlflow.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as con:
        return con.execute("select count(*) from runs").fetchone()[0]


def test_a_table_run_prints_and_records_its_columns_and_reproduces(loans_csv: Path) -> None:
    from mlflow.tracking import MlflowClient

    from nnexp.contract import COLUMN_TAGS

    cwd = loans_csv.parent
    out = ok(run(cwd, "nnexp-train", *TRAIN))
    lines = out.splitlines()
    columns = next(x for x in lines if x.startswith("columns: "))
    assert lines.index(columns) == next(i for i, x in enumerate(lines) if x.startswith("data: ")) + 1
    assert columns.startswith("columns: 2 numeric, 4 categorical (Home, Married, Records, Job), 2 left out")
    run_id = re.search(r"MLflow run: ([0-9a-f]{32})", out).group(1)
    r = MlflowClient(f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}").get_run(run_id)
    tags = r.data.tags
    assert tags[COLUMN_TAGS["categorical_columns"]] == "Home, Married, Records, Job"
    assert tags[COLUMN_TAGS["numeric"]] == "2" and "Name: 400 distinct" in tags[COLUMN_TAGS["left_out"]]
    assert re.fullmatch(r"Age=\d+, Home=\d+", tags[COLUMN_TAGS["missing"]])
    assert r.data.params["data.max_categories"] == "20"
    schema = r.inputs.dataset_inputs[0].dataset.schema
    assert '"name": "Home"' in schema and '"type": "boolean", "name": "Records"' in schema

    repro = ok(nnexp(cwd, "reproduce", "--run-id", run_id, "--quiet"))
    assert "verdict: identical" in repro, repro


BAD = {
    "no feature": (
        "name,label\n" + "".join(f"p{i},{i % 2}\n" for i in range(80)),
        "no usable feature column left",
    ),
    "target all missing": (
        "a,b,label\n1,2,\n3,4,\n",
        "target column 'label' has no values (all 2 rows missing)",
    ),
    "ragged rows": ("a,b,label\n1,2,0\n3,4,1,9\n", "line 3 has 4 fields, the header has 3"),
    "not utf-8": (
        b"a,city,label\n1,Z\xfcrich,0\n",
        "not valid UTF-8 text (byte b'\\xfc' on line 2); set data.encoding",
    ),
    "no such target": ("a,b,y\n1,2,0\n", "target column 'label' not found; columns: ['a', 'b', 'y']"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_table_is_refused_before_any_run(tmp_path: Path, case: str) -> None:
    text, message = BAD[case]
    (tmp_path / "t.csv").write_bytes(text if isinstance(text, bytes) else text.encode())
    proc = run(
        tmp_path, "nnexp-train", "data=csv", "data.path=t.csv", "data.target=label", "trainer.epochs=1"
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert "epoch " not in proc.stdout and _runs(tmp_path) == 0
