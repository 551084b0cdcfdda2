"""The compute core: parameter layout, forward and backward passes, batch normalisation.

Memory layout
-------------
All trainable parameters live in one contiguous vector ``flat`` and their gradients in
``grad`` with the same layout; the per-layer arrays are views into them. The vector holds
every dense weight matrix first (``W1, W2, ..., W_out``), then the biases, then the
batch-norm scales and shifts. Keeping the weights as one prefix lets L2 and decoupled weight
decay touch them with a single vectorised operation, and optimizers / gradient clipping work
on the whole vector at once.

The *public* order (``Network.params``, ``MLP.params``) is the conventional
``W1, b1, W2, b2, ..., W_out, b_out`` followed, when batch norm is on, by
``gamma1, beta1, gamma2, beta2, ...`` (one pair per hidden layer). ``W_l`` has shape
``(fan_in, fan_out)`` and a layer computes ``x @ W + b``.

Hidden layer ``l`` computes ``A = act(BN(x @ W + b))`` with
``BN(z) = gamma * (z - mean) / sqrt(var + eps) + beta`` when batch norm is on. Under batch
norm the dense bias is mathematically redundant (the batch mean removes it), so its gradient
is exactly zero and it is never changed by training. Inverted dropout multiplies the hidden
activations by a keep-mask scaled by ``1 / (1 - p)`` in training only.

Batch-norm running statistics (used at inference) live in a second vector ``stats`` with
views ``running_mean[l]`` / ``running_var[l]``; they are state, not parameters.

Training buffers are allocated once for the batch size and reused (every matmul and ufunc
writes with ``out=``); a shorter final batch uses the leading rows of the same buffers.
"""

from __future__ import annotations

import numpy as np

from .activations import ACTIVATIONS, DERIVATIVES
from .initializers import INITIALIZERS, resolve_init
from .losses import LOSSES


def keep_mask(out: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Fill ``out`` with an inverted-dropout keep-mask: each entry ``1 / (1 - p)`` with
    probability ``1 - p``, else 0 (one uniform draw per entry from ``rng``)."""
    rng.random(out=out, dtype=out.dtype)
    # keep with probability 1 - p: floor(u + 1 - p) is 1 iff u >= p
    np.add(out, 1.0 - p, out=out)
    np.floor(out, out=out)
    np.multiply(out, 1.0 / (1.0 - p), out=out)
    return out


class Network:
    """A dense feed-forward network with preallocated training buffers."""

    def __init__(
        self,
        n_in: int,
        hidden: list[int],
        n_out: int,
        *,
        activation: str = "relu",
        head: str = "softmax",
        batch_norm: bool = False,
        dtype: np.dtype | str = np.float32,
        leaky_slope: float = 0.01,
        bn_momentum: float = 0.9,
        bn_eps: float = 1e-5,
    ) -> None:
        self.dtype = np.dtype(dtype)
        self.sizes = [int(n_in), *map(int, hidden), int(n_out)]
        self.n_layers = len(self.sizes) - 1
        self.n_hidden = self.n_layers - 1
        self.activation = activation
        self.head = head
        self.batch_norm = bool(batch_norm)
        self.leaky_slope = float(leaky_slope)
        self.bn_momentum = float(bn_momentum)
        self.bn_eps = float(bn_eps)
        self._act = ACTIVATIONS[activation]
        self._dact = DERIVATIVES[activation]
        self._loss = LOSSES[head]

        shapes_w = [(a, b) for a, b in zip(self.sizes[:-1], self.sizes[1:])]
        n_w = sum(a * b for a, b in shapes_w)
        n_b = sum(self.sizes[1:])
        n_bn = 2 * sum(self.sizes[1:-1]) if self.batch_norm else 0
        self.n_weights = n_w
        self.size = n_w + n_b + n_bn
        self.flat = np.zeros(self.size, dtype=self.dtype)
        self.grad = np.zeros(self.size, dtype=self.dtype)

        def carve(
            buf: np.ndarray,
        ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
            off = 0
            W, b, gamma, beta = [], [], [], []
            for shape in shapes_w:
                n = shape[0] * shape[1]
                W.append(buf[off : off + n].reshape(shape))
                off += n
            for width in self.sizes[1:]:
                b.append(buf[off : off + width])
                off += width
            if self.batch_norm:
                for width in self.sizes[1:-1]:
                    gamma.append(buf[off : off + width])
                    off += width
                    beta.append(buf[off : off + width])
                    off += width
            assert off == buf.size
            return W, b, gamma, beta

        self.W, self.b, self.gamma, self.beta = carve(self.flat)
        self.gW, self.gb, self.ggamma, self.gbeta = carve(self.grad)
        for g in self.gamma:
            g.fill(1.0)

        hidden_widths = self.sizes[1:-1]
        n_stats = 2 * sum(hidden_widths) if self.batch_norm else 0
        self.stats = np.zeros(n_stats, dtype=self.dtype)
        self.running_mean: list[np.ndarray] = []
        self.running_var: list[np.ndarray] = []
        off = 0
        if self.batch_norm:
            for width in hidden_widths:
                self.running_mean.append(self.stats[off : off + width])
                off += width
                self.running_var.append(self.stats[off : off + width])
                off += width
            for rv in self.running_var:
                rv.fill(1.0)

        self._rows = 0  # capacity of the training buffers
        self._eval_cache: dict[int, list[np.ndarray]] = {}

    # ------------------------------------------------------------------ parameters
    @property
    def params(self) -> list[np.ndarray]:
        """Parameter views in public order: W1, b1, ..., W_out, b_out, then gamma1, beta1, ..."""
        out: list[np.ndarray] = []
        for W, b in zip(self.W, self.b):
            out += [W, b]
        for g, be in zip(self.gamma, self.beta):
            out += [g, be]
        return out

    @property
    def grads(self) -> list[np.ndarray]:
        """Gradient views, same order and shapes as :attr:`params`."""
        out: list[np.ndarray] = []
        for W, b in zip(self.gW, self.gb):
            out += [W, b]
        for g, be in zip(self.ggamma, self.gbeta):
            out += [g, be]
        return out

    def initialize(self, rng: np.random.Generator, init: str = "auto") -> None:
        """Draw dense weights with the configured scheme; zero biases; gamma 1, beta 0; reset stats."""
        for l, W in enumerate(self.W):
            scheme = resolve_init(init, self.activation, output_layer=(l == self.n_layers - 1))
            fan_in, fan_out = W.shape
            W[...] = INITIALIZERS[scheme](rng, fan_in, fan_out, self.leaky_slope)
        for b in self.b:
            b.fill(0.0)
        for g, be in zip(self.gamma, self.beta):
            g.fill(1.0)
            be.fill(0.0)
        for rm, rv in zip(self.running_mean, self.running_var):
            rm.fill(0.0)
            rv.fill(1.0)

    def l2_penalty(self, l2: float) -> float:
        """0.5 * l2 * (sum of squared dense weights); biases and batch-norm parameters excluded."""
        if l2 == 0.0:
            return 0.0
        w = self.flat[: self.n_weights]
        return 0.5 * float(l2) * float(np.dot(w, w))

    # ------------------------------------------------------------------ training pass
    def allocate(self, rows: int) -> None:
        """(Re)allocate the training buffers for mini-batches of up to ``rows`` rows."""
        if rows <= self._rows:
            return
        dt = self.dtype
        hidden = self.sizes[1:-1]
        self._A = [np.empty((rows, h), dt) for h in hidden]  # post-activation, pre-dropout
        self._D = [np.empty((rows, h), dt) for h in hidden]  # gradient w.r.t. layer output
        self._M = [np.empty((rows, h), dt) for h in hidden]  # scaled dropout keep-masks
        self._Adrop = [np.empty((rows, h), dt) for h in hidden]  # dropped activations
        self._Xhat = [np.empty((rows, h), dt) for h in hidden] if self.batch_norm else []
        self._T = [np.empty((rows, h), dt) for h in hidden] if self.batch_norm else []  # scratch
        self._inv_std = [np.empty(h, dt) for h in hidden] if self.batch_norm else []
        self._logits = np.empty((rows, self.sizes[-1]), dt)
        self._rows = rows

    def forward_train(
        self,
        x: np.ndarray,
        *,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
        masks: list[np.ndarray] | None = None,
        update_stats: bool = True,
    ) -> np.ndarray:
        """Training-mode forward pass (batch statistics, dropout); returns the logits buffer.

        Dropout masks are drawn from ``rng`` when ``dropout > 0``, or taken from ``masks``
        (0/1 keep-masks, one ``(n, width)`` array per hidden layer) when given. With
        ``update_stats`` the batch-norm running statistics are updated.
        """
        m = x.shape[0]
        self.allocate(m)
        self._x = x
        self._m = m
        use_dropout = masks is not None or dropout > 0.0
        self._use_dropout = use_dropout
        scale = 1.0 / (1.0 - dropout)
        inp = x
        for l in range(self.n_hidden):
            A = self._A[l][:m]
            if self.batch_norm:
                Z = self._Xhat[l][:m]
                np.matmul(inp, self.W[l], out=Z)
                np.add(Z, self.b[l], out=Z)
                self._batch_norm_forward(l, Z, A, update_stats)
            else:
                Z = A
                np.matmul(inp, self.W[l], out=Z)
                np.add(Z, self.b[l], out=Z)
            self._act(A, self.leaky_slope)
            if use_dropout:
                M = self._M[l][:m]
                if masks is not None:
                    np.multiply(masks[l], scale, out=M)
                else:
                    assert rng is not None, "dropout needs a random generator"
                    keep_mask(M, dropout, rng)
                out = self._Adrop[l][:m]
                np.multiply(A, M, out=out)
                inp = out
            else:
                inp = A
        logits = self._logits[:m]
        np.matmul(inp, self.W[-1], out=logits)
        np.add(logits, self.b[-1], out=logits)
        return logits

    def _batch_norm_forward(self, l: int, Z: np.ndarray, A: np.ndarray, update_stats: bool) -> None:
        """Normalise Z in place with batch statistics (Z becomes x_hat); A = gamma * x_hat + beta."""
        m = Z.shape[0]
        mean = Z.mean(axis=0)
        np.subtract(Z, mean, out=Z)
        np.multiply(Z, Z, out=A)  # A as scratch for the squares
        var = A.mean(axis=0)
        inv_std = self._inv_std[l]
        np.add(var, self.bn_eps, out=inv_std)
        np.sqrt(inv_std, out=inv_std)
        np.divide(1.0, inv_std, out=inv_std)
        np.multiply(Z, inv_std, out=Z)
        np.multiply(Z, self.gamma[l], out=A)
        np.add(A, self.beta[l], out=A)
        if update_stats:
            mom = self.bn_momentum
            unbiased = var * (m / (m - 1.0)) if m > 1 else var
            rm, rv = self.running_mean[l], self.running_var[l]
            np.multiply(rm, mom, out=rm)
            rm += (1.0 - mom) * mean
            np.multiply(rv, mom, out=rv)
            rv += (1.0 - mom) * unbiased

    def backward(self, delta: np.ndarray) -> None:
        """Back-propagate ``delta = dL/dlogits`` (the logits buffer) and fill :attr:`grad`.

        Uses the buffers of the preceding :meth:`forward_train`; ``delta`` is consumed.
        """
        m = self._m
        for l in range(self.n_layers - 1, -1, -1):
            if l == 0:
                inp = self._x
            elif self._use_dropout:
                inp = self._Adrop[l - 1][:m]
            else:
                inp = self._A[l - 1][:m]
            np.matmul(inp.T, delta, out=self.gW[l])
            if self.batch_norm and l < self.n_hidden:
                self.gb[l].fill(0.0)  # exactly zero: the batch mean cancels the bias
            else:
                np.sum(delta, axis=0, out=self.gb[l])
            if l == 0:
                break
            D = self._D[l - 1][:m]
            np.matmul(delta, self.W[l].T, out=D)
            if self._use_dropout:
                np.multiply(D, self._M[l - 1][:m], out=D)
            self._dact(self._A[l - 1][:m], D, self.leaky_slope)
            if self.batch_norm:
                self._batch_norm_backward(l - 1, D)
            delta = D

    def _batch_norm_backward(self, l: int, D: np.ndarray) -> None:
        """D holds dL/d(BN output); turn it into dL/dZ in place and fill dgamma, dbeta.

        dZ = gamma * inv_std * (D - mean(D) - x_hat * mean(D * x_hat)), with
        mean(D) = dbeta / m and mean(D * x_hat) = dgamma / m.
        """
        m = D.shape[0]
        xhat = self._Xhat[l][:m]
        T = self._T[l][:m]
        gbeta, ggamma = self.gbeta[l], self.ggamma[l]
        np.sum(D, axis=0, out=gbeta)
        np.multiply(D, xhat, out=T)
        np.sum(T, axis=0, out=ggamma)
        np.multiply(xhat, ggamma / m, out=T)
        np.subtract(D, T, out=D)
        np.subtract(D, gbeta / m, out=D)
        np.multiply(D, self.gamma[l] * self._inv_std[l], out=D)

    # ------------------------------------------------------------------ inference
    def _eval_buffers(self, rows: int) -> list[np.ndarray]:
        bufs = self._eval_cache.get(rows)
        if bufs is None:
            if len(self._eval_cache) > 4:
                self._eval_cache.clear()
            bufs = [np.empty((rows, h), self.dtype) for h in self.sizes[1:]]
            self._eval_cache[rows] = bufs
        return bufs

    def forward_eval(self, x: np.ndarray) -> np.ndarray:
        """Inference-mode logits for one chunk ``x`` (running statistics, no dropout).

        Returns a view of a cached buffer: copy it if it must outlive the next call.
        """
        bufs = self._eval_buffers(x.shape[0])
        inp = x
        for l in range(self.n_layers):
            Z = bufs[l]
            np.matmul(inp, self.W[l], out=Z)
            if l < self.n_hidden and self.batch_norm:
                # gamma * (z + b - mean) / sqrt(var + eps) + beta folded into scale and shift
                scale = self.gamma[l] / np.sqrt(self.running_var[l] + self.bn_eps)
                shift = self.beta[l] + (self.b[l] - self.running_mean[l]) * scale
                np.multiply(Z, scale, out=Z)
                np.add(Z, shift, out=Z)
            else:
                np.add(Z, self.b[l], out=Z)
            if l < self.n_hidden:
                self._act(Z, self.leaky_slope)
            inp = Z
        return bufs[-1]

    def loss_on_batch(self, logits: np.ndarray, targets: np.ndarray, grad: bool = True) -> float:
        """Mean data loss of the head on ``logits`` (overwritten with dL/dlogits when ``grad``)."""
        return self._loss(logits, targets, grad)

    def all_finite(self) -> bool:
        """True when every parameter and running statistic is finite."""
        return bool(np.isfinite(self.flat).all() and np.isfinite(self.stats).all())
