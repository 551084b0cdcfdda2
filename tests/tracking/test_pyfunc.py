"""The logged pyfunc model takes plain input and loads where nnexp cannot be imported."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from helpers import cli_env, free_port, serve


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A small MLP trained on digits, logged as a pyfunc model to a fresh SQLite store."""
    import mlflow
    from sklearn.datasets import load_digits

    from nnexp.nn import MLP
    from nnexp.tracking.pyfunc import log_servable_model

    root = tmp_path_factory.mktemp("pyfunc")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    X, y = load_digits(return_X_y=True)
    net = MLP(depth=1, width=16, epochs=3, seed=0).fit(X, y)
    client = mlflow.MlflowClient(uri)
    exp = client.create_experiment("pyfunc", artifact_location=(root / "artifacts").as_uri())
    run_id = client.create_run(exp).info.run_id
    model_uri = log_servable_model(run_id, net, X, tracking_uri=uri)
    client.set_terminated(run_id)
    return {"uri": uri, "model_uri": model_uri, "X": X, "expected": net.predict(X), "root": root}


def test_model_uri_is_a_logged_model_of_the_run(logged):
    import mlflow

    assert logged["model_uri"].startswith("models:/m-")
    client = mlflow.MlflowClient(logged["uri"])
    (model,) = mlflow.search_logged_models(
        experiment_ids=[client.get_experiment_by_name("pyfunc").experiment_id], output_format="list"
    )
    assert f"models:/{model.model_id}" == logged["model_uri"]


def test_predict_takes_plain_input(logged):
    import mlflow
    import pandas as pd

    mlflow.set_tracking_uri(logged["uri"])
    model = mlflow.pyfunc.load_model(logged["model_uri"])
    X, expected = logged["X"], logged["expected"]
    inputs = {
        "float64 array": X,
        "float32 array": X.astype(np.float32),
        "int64 array": X.astype(np.int64),
        "DataFrame": pd.DataFrame(X),
        "DataFrame with named int columns": pd.DataFrame(
            X.astype(np.int64), columns=[f"px{i}" for i in range(64)]
        ),
        "list of rows": X.tolist(),
    }
    for what, data in inputs.items():
        np.testing.assert_array_equal(np.asarray(model.predict(data)), expected, err_msg=what)
    assert model.metadata.signature.outputs is not None


BLOCK_NNEXP = textwrap.dedent(
    """
    import sys

    class BlockNnexp:
        def find_spec(self, name, path=None, target=None):
            if name == "nnexp" or name.startswith("nnexp."):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
            return None

    sys.meta_path.insert(0, BlockNnexp())
    """
)


def test_loads_and_predicts_where_nnexp_cannot_be_imported(logged, tmp_path):
    """``python -I`` in an empty cwd with a meta-path blocker: only the shipped code can serve."""
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
            import mlflow
            mlflow.set_tracking_uri({logged["uri"]!r})
            model = mlflow.pyfunc.load_model({logged["model_uri"]!r})
            X = np.asarray(json.loads(sys.stdin.read()))
            print(json.dumps(np.asarray(model.predict(X)).tolist()))
            print(sorted({{m.split(".")[0] for m in sys.modules if m.startswith("nnexp")}}))
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "-I", str(script)],
        cwd=tmp_path,
        input=json.dumps(logged["X"][:50].tolist()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    predicted, modules = proc.stdout.strip().splitlines()[-2:]
    assert json.loads(predicted) == logged["expected"][:50].tolist()
    assert modules == "['nnexp_mlp']"  # the shipped copy of nnexp.nn, nothing else


def post(url: str, payload: dict) -> object:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as resp:  # 127.0.0.1 only
        return json.loads(resp.read())["predictions"]


@contextlib.contextmanager
def served(model_uri: str, tracking_uri: str, log: Path):
    """``mlflow models serve`` on 127.0.0.1:<free port> (local env); stopped on exit."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        model_uri,
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "--workers",
        "1",
    ]
    base = f"http://127.0.0.1:{port}"
    env = cli_env(MLFLOW_TRACKING_URI=tracking_uri)  # its bin first on PATH: serve starts uvicorn
    with serve(cmd, f"{base}/ping", log.parent, log, env=env, timeout=120):
        yield f"{base}/invocations"


@pytest.mark.slow
def test_json_through_mlflow_models_serve(logged, tmp_path):
    X, expected = logged["X"][:20], logged["expected"][:20].tolist()
    ints = X.astype(int).tolist()  # JSON numbers without a fraction arrive as integers
    with served(logged["model_uri"], logged["uri"], tmp_path / "serve.log") as url:
        assert post(url, {"inputs": X.tolist()}) == expected
        assert post(url, {"inputs": ints}) == expected
        assert post(url, {"dataframe_split": {"data": ints}}) == expected
        records = [{f"px{i}": v for i, v in enumerate(row)} for row in X.tolist()]
        assert post(url, {"dataframe_records": records}) == expected
