"""Inference on transformed inputs: logits in chunks, head outputs, class indices, and R^2.

Pure functions over a :class:`~nnexp.nn.network.Network` and arrays; ``MLP.predict``,
``predict_proba``, ``score`` and the training loop's validation call them.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .losses import OUTPUTS
from .network import Network


def logits_chunks(net: Network, x: np.ndarray, step: int) -> Iterator[tuple[slice, np.ndarray]]:
    """Inference logits of already-transformed ``x`` in chunks of ``step`` rows."""
    for start in range(0, x.shape[0], step):
        sl = slice(start, min(start + step, x.shape[0]))
        yield sl, net.forward_eval(x[sl])


def head_outputs(
    net: Network,
    x: np.ndarray,
    step: int,
    target_mean: np.ndarray | None = None,
    target_scale: np.ndarray | None = None,
) -> np.ndarray:
    """Head outputs for transformed ``x``, shape (n, n_outputs): probabilities, or (identity
    head) regression values mapped back to the target's units by ``target_mean``/``target_scale``."""
    out = np.empty((x.shape[0], net.sizes[-1]), dtype=net.dtype)
    to_output = OUTPUTS[net.head]
    for sl, logits in logits_chunks(net, x, step):
        out[sl] = to_output(logits)
    if net.head == "identity":
        out *= target_scale.astype(net.dtype)
        out += target_mean.astype(net.dtype)
    return out


def class_indices(net: Network, x: np.ndarray, step: int) -> np.ndarray:
    """The predicted class index (0..K-1) of each row of transformed ``x``."""
    idx = np.empty(x.shape[0], dtype=np.int64)
    for sl, logits in logits_chunks(net, x, step):
        idx[sl] = logits.argmax(axis=1) if net.head == "softmax" else (logits[:, 0] >= 0)
    return idx


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination averaged over outputs (a constant target: 1 if predicted
    exactly, else 0)."""
    yt = np.asarray(y_true, dtype=np.float64).reshape(y_pred.shape[0], -1)
    yp = np.asarray(y_pred, dtype=np.float64).reshape(y_pred.shape[0], -1)
    ss_res = ((yt - yp) ** 2).sum(axis=0)
    ss_tot = ((yt - yt.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(
        ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0)
    )
    return float(r2.mean())
