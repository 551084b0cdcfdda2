"""A scikit-learn model trained epoch by epoch and swept by nnexp: pruning, parallel workers,
resume and MLflow, with nothing of nnexp's network.

``SGDClassifier.partial_fit`` makes one pass over the training set per epoch; after each,
``nnexp.report`` sends the validation loss and accuracy to the sweep (the pruner may stop the
trial there: ``optuna.TrialPruned`` propagates out of the task function). The test accuracy of
the model at its best validation epoch goes to ``nnexp.report_test``: never used to select, the
sweep prints the winner's. The trial's MLflow child run is the active run while the task
function runs, so the app's own ``mlflow.log_*`` calls land in it.

python examples/sklearn_sgd/app.py                  # one run; nothing is logged
python examples/sklearn_sgd/app.py -m               # the sweep (run it again to resume)
"""

import hydra
import mlflow
import numpy as np
from omegaconf import DictConfig
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import nnexp

DATASETS = {"digits": load_digits, "breast_cancer": load_breast_cancer}


def split(name: str, seed: int) -> tuple[np.ndarray, ...]:
    """Stratified 60/20/20 train/val/test split, standardised on the training part."""
    x, y = DATASETS[name](return_X_y=True)
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.4, stratify=y, random_state=seed)
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=seed
    )
    scaler = StandardScaler().fit(x_train)
    return (
        scaler.transform(x_train),
        y_train,
        scaler.transform(x_val),
        y_val,
        scaler.transform(x_test),
        y_test,
    )


@hydra.main(version_base=None, config_path="conf", config_name="config")
def train(cfg: DictConfig) -> float:
    """Train for ``cfg.epochs`` epochs; the objective is the best validation accuracy."""
    x_train, y_train, x_val, y_val, x_test, y_test = split(cfg.dataset, int(cfg.split_seed))
    classes = np.unique(y_train)
    model = SGDClassifier(
        loss="log_loss",
        penalty=cfg.penalty,
        alpha=float(cfg.alpha),
        learning_rate=cfg.learning_rate,
        eta0=float(cfg.eta0),
        random_state=int(cfg.seed),
    )
    if mlflow.active_run() is not None:  # in a sweep's trial: its child run
        mlflow.log_param("n_train", len(y_train))
    rng = np.random.default_rng(int(cfg.seed))
    best_accuracy, test_accuracy = 0.0, 0.0
    for epoch in range(1, int(cfg.epochs) + 1):
        order = rng.permutation(len(y_train))
        model.partial_fit(x_train[order], y_train[order], classes=classes)
        val_loss = log_loss(y_val, model.predict_proba(x_val), labels=classes)
        val_accuracy = model.score(x_val, y_val)
        if val_accuracy > best_accuracy:
            best_accuracy, test_accuracy = val_accuracy, model.score(x_test, y_test)
        nnexp.report(epoch, val_loss=val_loss, val_accuracy=val_accuracy)  # may raise TrialPruned
    nnexp.report_test(test_accuracy=test_accuracy)
    return best_accuracy


if __name__ == "__main__":
    train()
