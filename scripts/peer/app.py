"""The peer of ``nnexp-train -m``: a Hydra app as a user of the official Optuna sweeper writes it.

It trains nnexp's own network (``nnexp.nn.MLP``) on the data nnexp's trainer loads
(``nnexp.data.load_dataset`` with the same keywords and seed, so the split is identical), logs
each trial to MLflow the plain way (one ``mlflow.start_run`` per trial: params, per-epoch
metrics, the test accuracy) and returns the best validation accuracy to
``hydra-optuna-sweeper``. It runs in the peer's own virtual environment
(``scripts/bench_peer.py`` builds it), never in nnexp's.

    python scripts/peer/app.py -m search=digits hydra.sweeper.sampler.seed=0
    python scripts/peer/app.py -m search=mnist hydra/launcher=joblib hydra.launcher.n_jobs=2 \\
        hydra.sweeper.n_jobs=2

With ``bench.trials_file`` set (``$PEER_TRIALS_FILE``), each trial also appends one JSON line
(start and end time, value, test accuracy, epochs, fit seconds) for the benchmark's table.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import hydra
import mlflow
from omegaconf import DictConfig, OmegaConf
from threadpoolctl import threadpool_limits

from nnexp.data import load_dataset
from nnexp.nn import MLP

#: The swept and fixed keys logged as the run's params.
PARAMS = (
    "optimizer.name",
    "optimizer.lr",
    "trainer.batch_size",
    "model.depth",
    "model.width",
    "model.dropout",
    "model.l2",
    "trainer.epochs",
    "data.name",
)


def load_data(cfg: DictConfig) -> Any:
    """The split nnexp's trainer uses for ``data.*`` (``nnexp.config.to_model.dataset_kwargs``)."""
    d = cfg.data  # data.dir null: $NNEXP_DATA_DIR, then ./data, as for nnexp
    extra = {"max_train_samples": d.max_train_samples} if d.get("max_train_samples") else {}
    return load_dataset(
        d.name, d.dir, seed=int(cfg.trainer.seed), val_size=d.val_size, test_size=d.test_size, **extra
    )


def build_model(cfg: DictConfig) -> MLP:
    """The MLP with the config's hyperparameters (every other keyword at nnexp's default)."""
    m, o, t = cfg.model, cfg.optimizer, cfg.trainer
    extra = {k: o[k] for k in ("momentum", "rho", "beta1", "beta2", "eps") if k in o}
    return MLP(
        depth=int(m.depth),
        width=int(m.width),
        dropout=float(m.dropout),
        l2=float(m.l2),
        optimizer=str(o.name),
        lr=float(o.lr),
        batch_size=int(t.batch_size),
        epochs=int(t.epochs),
        seed=int(t.seed),
        scaling=str(cfg.data.scaling),
        early_stopping=True,
        monitor=str(t.early_stopping.monitor),
        patience=int(t.early_stopping.patience),
        restore_best=True,
        **extra,
    )


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    """Train one trial, log it to MLflow, return its best validation accuracy."""
    started = time.time()
    mlflow.set_tracking_uri(cfg.mlflow.uri)
    mlflow.set_experiment(cfg.mlflow.experiment)
    with threadpool_limits(limits=cfg.trainer.threads), mlflow.start_run():
        ds = load_data(cfg)
        model = build_model(cfg)
        mlflow.log_params({k: OmegaConf.select(cfg, k) for k in PARAMS})

        def log_epoch(_model: MLP, record: dict[str, float]) -> None:
            mlflow.log_metrics(
                {k: float(v) for k, v in record.items() if k != "epoch"}, step=int(record["epoch"])
            )

        model.fit(ds.X_train, ds.y_train, ds.X_val, ds.y_val, callbacks=[log_epoch])
        best = max(model.history_["val_accuracy"])
        test_acc = float(model.score(ds.X_test, ds.y_test))
        mlflow.log_metrics({"best_val_accuracy": best, "test_accuracy": test_acc})
    if cfg.bench.trials_file:
        row = {"started": started, "ended": time.time(), "value": best, "test_accuracy": test_acc}
        fit_s = sum(model.history_["epoch_seconds"])  # training itself, as nnexp's history.json
        row.update(epochs=int(model.n_epochs_run_), fit_s=fit_s, pid=os.getpid())
        with open(cfg.bench.trials_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
    return best


def create_store() -> None:
    """Open the MLflow store of ``conf/config.yaml`` once, before any trial: two trials creating a
    fresh SQLite store at once (the joblib launcher) race, and one fails with ``table ... already
    exists`` (what a user of the official sweeper meets on the first parallel sweep)."""
    uri = OmegaConf.load(os.path.join(os.path.dirname(__file__), "conf", "config.yaml")).mlflow.uri
    mlflow.MlflowClient(uri).search_experiments(max_results=1)


if __name__ == "__main__":
    create_store()
    main()
