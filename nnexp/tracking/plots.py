"""PNG figures for a run: learning curves and a confusion matrix (matplotlib Agg, no pyplot)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

#: Resolution of the PNGs (render time grows with pixel count).
DPI = 80


def _figure(width: float, height: float):  # -> (Figure, FigureCanvasAgg)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    return fig, FigureCanvasAgg(fig)


def learning_curves(
    history: Mapping[str, Sequence[float]], path: str | Path, *, best_epoch: int | None = None
) -> Path:
    """Loss (train/val) and, when present, validation accuracy per epoch, saved as a PNG."""
    fig, canvas = _figure(10, 4)
    has_acc = "val_accuracy" in history
    ax_loss = fig.add_subplot(1, 2 if has_acc else 1, 1)
    for key in ("train_loss", "val_loss"):
        if key in history:
            values = np.asarray(history[key], dtype=float)
            ax_loss.plot(np.arange(1, len(values) + 1), values, label=key)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("loss")
    if has_acc:
        acc = np.asarray(history["val_accuracy"], dtype=float)
        ax_acc = fig.add_subplot(1, 2, 2)
        ax_acc.plot(np.arange(1, len(acc) + 1), acc, label="val_accuracy", color="tab:green")
        ax_acc.set_xlabel("epoch")
        ax_acc.set_ylabel("accuracy")
        ax_acc.set_title("validation accuracy")
        axes = (ax_loss, ax_acc)
    else:
        axes = (ax_loss,)
    for ax in axes:
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label="best epoch")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:  # no epoch (diverged at once): no empty legend
            ax.legend()
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.13, top=0.9, wspace=0.25)
    path = Path(path)
    canvas.print_png(str(path))
    return path


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``cm[i, j]`` = number of samples of true class ``i`` predicted as ``j`` (as
    ``sklearn.metrics.confusion_matrix`` with ``labels=range(n_classes)``, without its import cost)."""
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def confusion_matrix_png(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    path: str | Path,
    *,
    class_names: Sequence[str] | None = None,
    title: str = "confusion matrix (test)",
) -> Path:
    """The confusion matrix of integer labels as an annotated heat map PNG."""
    n = int(max(np.max(y_true, initial=0), np.max(y_pred, initial=0))) + 1
    if class_names is not None:
        n = max(n, len(class_names))
    labels = list(range(n))
    cm = confusion_counts(y_true, y_pred, n)
    names = list(class_names) if class_names is not None else [str(i) for i in labels]
    size = min(4 + 0.45 * n, 14)
    fig, canvas = _figure(size, size)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(labels, labels=names, rotation=45 if n > 10 else 0)
    ax.set_yticks(labels, labels=names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if n <= 30:
        threshold = cm.max() / 2 if cm.size else 0
        for i in range(n):
            for j in range(n):
                ax.text(
                    j,
                    i,
                    str(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if cm[i, j] > threshold else "black",
                )
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.93)
    path = Path(path)
    canvas.print_png(str(path))
    return path


def run_plots(
    folder: str | Path,
    history: Mapping[str, Sequence[float]],
    *,
    best_epoch: int | None = None,
    y_test: np.ndarray | None = None,
    y_pred_test: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
) -> Path:
    """A run's figures in ``folder`` (created): ``learning_curves.png`` and, for a classifier
    (``y_pred_test`` given), ``confusion_matrix.png``. Returns ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    learning_curves(history, folder / "learning_curves.png", best_epoch=best_epoch)
    if y_pred_test is not None and y_test is not None:
        confusion_matrix_png(y_test, y_pred_test, folder / "confusion_matrix.png", class_names=class_names)
    return folder
