"""First-order optimizers that update one flat parameter vector in place.

The network keeps all of its parameters in a single contiguous array (per-layer arrays are
views into it) and its gradients in a second one with the same layout, so every update
below is a handful of vectorised passes over one array instead of a Python loop over layers.
The first ``n_decay`` entries of the vector are the dense-layer weight matrices; decoupled
weight decay (AdamW) is applied to those only, never to biases or batch-norm parameters.

``step(grad, lr)`` **overwrites** ``grad`` (it is used as scratch space to avoid allocating);
the learning rate is passed per call so schedules stay outside the optimizer.

Update rules (g = gradient, t = step count starting at 1):

* ``sgd``:       p -= lr * g
* ``momentum``:  v = mu * v - lr * g;  p += v
* ``nesterov``:  v = mu * v - lr * g;  p += mu * v - lr * g   (Sutskever et al. 2013 form)
* ``rmsprop``:   s = rho * s + (1 - rho) * g^2;  p -= lr * g / (sqrt(s) + eps)
* ``adagrad``:   s += g^2;  p -= lr * g / (sqrt(s) + eps)
* ``adam``:      m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
                 p -= lr * m_hat / (sqrt(v_hat) + eps) with bias-corrected m_hat, v_hat
* ``adamw``:     adam, then p_w -= lr * weight_decay * p_w on the weights (Loshchilov & Hutter)

Adam keeps ``m / (1 - b1)`` and ``v / (1 - b2)`` internally and folds every constant into two
scalars per step; this is the same update algebraically and saves passes over memory.

Subnormal numbers: a state entry whose gradient stays exactly zero for a while (an input pixel
that is almost always 0, a dead unit) decays geometrically (``m *= beta1`` ...) into the
subnormal range, where x86 arithmetic is many times slower (after 4 MNIST epochs Adam's first
moment held ~5000 subnormal entries, and an in-place multiply over a state vector full of them
ran ~7x slower than over normal numbers). Every few steps (chosen from the decay rate so no entry can cross from
above the threshold to subnormal in between) state entries below ``tiny * 1e6`` (about 1e-32
in float32, far below any eps) are set to exactly zero.
"""

from __future__ import annotations

import math

import numpy as np


def global_norm(grad: np.ndarray) -> float:
    """Euclidean norm of the whole (flat) gradient vector, accumulated by BLAS."""
    return math.sqrt(float(np.dot(grad, grad)))


def clip_by_global_norm(grad: np.ndarray, max_norm: float) -> float:
    """Scale ``grad`` in place so its global norm is at most ``max_norm``; return the norm before.

    A non-finite norm is returned unchanged (and ``grad`` left as is) so that the caller's
    divergence check sees it instead of a silently rescaled NaN.
    """
    norm = global_norm(grad)
    if math.isfinite(norm) and norm > max_norm:
        np.multiply(grad, max_norm / norm, out=grad)
    return norm


def _step_scaled_by_root(
    params: np.ndarray, grad: np.ndarray, accum: np.ndarray, tmp: np.ndarray, eps: float, lr: float
) -> None:
    """``params -= lr * grad / (sqrt(accum) + eps)`` in place (RMSprop, Adagrad); clobbers grad, tmp."""
    np.sqrt(accum, out=tmp)
    np.add(tmp, eps, out=tmp)
    np.divide(grad, tmp, out=grad)
    np.multiply(grad, -lr, out=grad)
    np.add(params, grad, out=params)


class Optimizer:
    """Base class: holds the parameter vector and the step counter."""

    name = "base"

    def __init__(self, params: np.ndarray, n_decay: int = 0) -> None:
        if params.ndim != 1:
            raise ValueError("optimizers update a flat (1-D) parameter vector")
        self.params = params
        self.n_decay = int(n_decay)
        self.t = 0
        self._decaying: list[np.ndarray] = []  # state that shrinks geometrically without gradient
        self._flush_every = 0
        self._flush_below = float(np.finfo(params.dtype).tiny) * 1e6 if params.dtype.kind == "f" else 0.0

    def _track_decay(self, state: np.ndarray, decay: float) -> None:
        """Register ``state`` (multiplied by ``decay`` each step) for subnormal flushing."""
        self._decaying.append(state)
        if 0.0 < decay < 1.0:
            # between two flushes an entry shrinks by at most decay**k >= 1e-6
            k = max(1, min(256, int(math.log(1e-6) / math.log(decay))))
            self._flush_every = k if not self._flush_every else min(self._flush_every, k)

    def step(self, grad: np.ndarray, lr: float) -> None:
        """Apply one update with learning rate ``lr``; ``grad`` is clobbered."""
        self.t += 1
        self._update(grad, float(lr))
        if self._flush_every and self.t % self._flush_every == 0:
            self.flush_subnormals()

    def flush_subnormals(self) -> None:
        """Set decaying state entries below ``tiny * 1e6`` in magnitude to exactly zero."""
        for state in self._decaying:
            np.multiply(state, np.abs(state) >= self._flush_below, out=state)

    def _update(self, grad: np.ndarray, lr: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _zeros(self) -> np.ndarray:
        return np.zeros_like(self.params)


class SGD(Optimizer):
    """Plain stochastic gradient descent."""

    name = "sgd"

    def _update(self, grad: np.ndarray, lr: float) -> None:
        np.multiply(grad, -lr, out=grad)
        np.add(self.params, grad, out=self.params)


class Momentum(Optimizer):
    """Heavy-ball momentum."""

    name = "momentum"

    def __init__(self, params: np.ndarray, n_decay: int = 0, momentum: float = 0.9) -> None:
        super().__init__(params, n_decay)
        self.momentum = float(momentum)
        self.velocity = self._zeros()
        self._track_decay(self.velocity, self.momentum)

    def _update(self, grad: np.ndarray, lr: float) -> None:
        v = self.velocity
        np.multiply(v, self.momentum, out=v)
        np.multiply(grad, lr, out=grad)
        np.subtract(v, grad, out=v)
        np.add(self.params, v, out=self.params)


class Nesterov(Momentum):
    """Nesterov accelerated gradient in the reformulation of Sutskever et al. (2013)."""

    name = "nesterov"

    def _update(self, grad: np.ndarray, lr: float) -> None:
        v, p = self.velocity, self.params
        np.multiply(v, self.momentum, out=v)
        np.multiply(grad, lr, out=grad)
        np.subtract(v, grad, out=v)  # v = mu v - lr g
        np.subtract(p, grad, out=p)  # p += -lr g ...
        np.multiply(v, self.momentum, out=grad)
        np.add(p, grad, out=p)  # ... + mu v


class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton 2012)."""

    name = "rmsprop"

    def __init__(self, params: np.ndarray, n_decay: int = 0, rho: float = 0.9, eps: float = 1e-8) -> None:
        super().__init__(params, n_decay)
        self.rho = float(rho)
        self.eps = float(eps)
        self.square_avg = self._zeros()
        self._tmp = self._zeros()
        self._track_decay(self.square_avg, self.rho)

    def _update(self, grad: np.ndarray, lr: float) -> None:
        s, tmp = self.square_avg, self._tmp
        np.multiply(grad, grad, out=tmp)
        np.multiply(tmp, 1.0 - self.rho, out=tmp)
        np.multiply(s, self.rho, out=s)
        np.add(s, tmp, out=s)
        _step_scaled_by_root(self.params, grad, s, tmp, self.eps, lr)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011)."""

    name = "adagrad"

    def __init__(self, params: np.ndarray, n_decay: int = 0, eps: float = 1e-8) -> None:
        super().__init__(params, n_decay)
        self.eps = float(eps)
        self.sum_sq = self._zeros()
        self._tmp = self._zeros()

    def _update(self, grad: np.ndarray, lr: float) -> None:
        s, tmp = self.sum_sq, self._tmp
        np.multiply(grad, grad, out=tmp)
        np.add(s, tmp, out=s)
        _step_scaled_by_root(self.params, grad, s, tmp, self.eps, lr)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction, eps added to sqrt(v_hat)."""

    name = "adam"

    def __init__(
        self,
        params: np.ndarray,
        n_decay: int = 0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, n_decay)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)
        # Stored as m / (1 - beta1) and v / (1 - beta2): one multiply per step saved on each.
        self.m = self._zeros()
        self.v = self._zeros()
        self._track_decay(self.m, self.beta1)
        self._track_decay(self.v, self.beta2)

    def _update(self, grad: np.ndarray, lr: float) -> None:
        b1, b2, t = self.beta1, self.beta2, self.t
        m, v, p = self.m, self.v, self.params
        # m_hat = c1 * m', v_hat = c2 * v'  =>  lr * m_hat / (sqrt(v_hat) + eps)
        #   = (lr * c1 / sqrt(c2)) * m' / (sqrt(v') + eps / sqrt(c2))
        c1 = (1.0 - b1) / (1.0 - b1**t)
        sqrt_c2 = math.sqrt((1.0 - b2) / (1.0 - b2**t))
        step = lr * c1 / sqrt_c2
        eps = self.eps / sqrt_c2
        np.multiply(m, b1, out=m)
        np.add(m, grad, out=m)
        np.multiply(grad, grad, out=grad)
        np.multiply(v, b2, out=v)
        np.add(v, grad, out=v)
        np.sqrt(v, out=grad)
        np.add(grad, eps, out=grad)
        np.divide(m, grad, out=grad)
        np.multiply(grad, -step, out=grad)
        np.add(p, grad, out=p)


class AdamW(Adam):
    """Adam with decoupled weight decay applied to the dense weights (Loshchilov & Hutter 2019)."""

    name = "adamw"

    def __init__(
        self,
        params: np.ndarray,
        n_decay: int = 0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, n_decay, beta1=beta1, beta2=beta2, eps=eps)
        self.weight_decay = float(weight_decay)

    def _update(self, grad: np.ndarray, lr: float) -> None:
        if self.weight_decay and self.n_decay:
            w = self.params[: self.n_decay]
            np.multiply(w, 1.0 - lr * self.weight_decay, out=w)
        super()._update(grad, lr)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, RMSProp, Adagrad, Adam, AdamW)
}


def make_optimizer(
    name: str,
    params: np.ndarray,
    n_decay: int = 0,
    *,
    momentum: float = 0.9,
    rho: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.01,
) -> Optimizer:
    """Build optimizer ``name`` over ``params``, passing each the hyperparameters it uses."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid choices: {sorted(OPTIMIZERS)}")
    if name == "sgd":
        return SGD(params, n_decay)
    if name in ("momentum", "nesterov"):
        return OPTIMIZERS[name](params, n_decay, momentum=momentum)  # type: ignore[call-arg]
    if name == "rmsprop":
        return RMSProp(params, n_decay, rho=rho, eps=eps)
    if name == "adagrad":
        return Adagrad(params, n_decay, eps=eps)
    if name == "adam":
        return Adam(params, n_decay, beta1=beta1, beta2=beta2, eps=eps)
    return AdamW(params, n_decay, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)
