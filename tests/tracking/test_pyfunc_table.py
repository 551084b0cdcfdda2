"""A model of a user's table serves raw rows: columns by name, nulls, unseen categories, where
nnexp cannot be imported and through ``mlflow models serve``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from test_pyfunc import BLOCK_NNEXP, post, served

#: Raw rows as a client sends them: columns in another order, an extra column, a null number, a
#: null category and one never seen in training.
RECORDS = [
    {"Job": "fixed", "Records": False, "Married": "no", "Home": "own", "Income": 150.0, "Age": 40.0, "x": 1},
    {
        "Job": "astronaut",
        "Records": True,
        "Married": "yes",
        "Home": None,
        "Income": 90.5,
        "Age": None,
        "x": 2,
    },
    {"Job": None, "Records": None, "Married": "no", "Home": "castle", "Income": 130.0, "Age": 61.0, "x": 3},
]


@pytest.fixture(scope="module")
def table_model(tmp_path_factory):
    """An MLP fitted on the loans table (its encoding from the training rows), logged as a pyfunc
    model to a fresh SQLite store."""
    import mlflow
    import pandas as pd
    from loans import write_loans

    from nnexp.data import load_dataset
    from nnexp.nn import MLP
    from nnexp.tracking.pyfunc import log_servable_model

    root = tmp_path_factory.mktemp("pyfunc_table")
    ds = load_dataset("csv", path=write_loans(root / "loans.csv"), target="Status")
    net = MLP(depth=1, width=16, epochs=5, seed=0)
    net.columns_ = ds.columns
    net.fit(ds.X_train, ds.y_train)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    exp = client.create_experiment("table", artifact_location=(root / "artifacts").as_uri())
    run_id = client.create_run(exp).info.run_id
    model_uri = log_servable_model(run_id, net, ds.X_train, tracking_uri=uri)
    client.set_terminated(run_id)
    expected = net.predict(pd.DataFrame(RECORDS))
    assert (expected == net.predict(ds.columns.transform(pd.DataFrame(RECORDS)))).all()
    return {"uri": uri, "model_uri": model_uri, "expected": expected.tolist(), "net": net}


def test_the_signature_carries_the_original_columns(table_model):
    import mlflow

    mlflow.set_tracking_uri(table_model["uri"])
    model = mlflow.pyfunc.load_model(table_model["model_uri"])
    inputs = {c["name"]: c["type"] for c in model.metadata.signature.inputs.to_dict()}
    assert inputs == {
        "Age": "double",
        "Income": "double",
        "Home": "string",
        "Married": "string",
        "Records": "boolean",
        "Job": "string",
    }


def test_a_missing_column_is_named(table_model):
    import pandas as pd

    frame = pd.DataFrame(RECORDS).drop(columns=["Home"])
    with pytest.raises(ValueError, match=r"input is missing column 'Home'; the model needs \['Age', "):
        table_model["net"].predict(frame)


def test_raw_rows_by_column_name_where_nnexp_cannot_be_imported(table_model, tmp_path):
    script = tmp_path / "load.py"
    script.write_text(
        BLOCK_NNEXP
        + textwrap.dedent(
            f"""
            try:
                import nnexp
            except ModuleNotFoundError:
                pass
            else:
                raise SystemExit("nnexp is importable: the test proves nothing")
            import json
            import numpy as np
            import pandas as pd
            import mlflow
            mlflow.set_tracking_uri({table_model["uri"]!r})
            model = mlflow.pyfunc.load_model({table_model["model_uri"]!r})
            frame = pd.DataFrame(json.loads(sys.stdin.read()))
            print(json.dumps(np.asarray(model.predict(frame)).tolist()))
            try:
                model.predict(frame.drop(columns=["Job"]))
            except Exception as exc:
                print(str(exc).splitlines()[-1])
            print(sorted({{m.split(".")[0] for m in sys.modules if m.startswith("nnexp")}}))
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "-I", str(script)],
        cwd=tmp_path,
        input=json.dumps(RECORDS),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    predicted, missing, modules = proc.stdout.strip().splitlines()[-3:]
    assert json.loads(predicted) == table_model["expected"]
    assert "missing inputs ['Job']" in missing
    assert modules == "['nnexp_mlp']"


@pytest.mark.slow
def test_json_records_with_nulls_and_unseen_categories_through_mlflow_models_serve(table_model, tmp_path):
    import pandas as pd

    split = json.loads(pd.DataFrame(RECORDS).to_json(orient="split", index=False))
    with served(table_model["model_uri"], table_model["uri"], tmp_path / "serve.log") as url:
        assert post(url, {"dataframe_records": RECORDS}) == table_model["expected"]
        assert post(url, {"dataframe_split": split}) == table_model["expected"]
    assert np.asarray(table_model["expected"]).shape == (3,)
