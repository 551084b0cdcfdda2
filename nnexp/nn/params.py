"""scikit-learn-style hyperparameter access for ``MLP``: the constructor keywords are the
hyperparameters (``get_params``/``set_params``, as ``sklearn.base.clone`` and grid searches
expect), checked against their declaration (:mod:`nnexp.nn.hyperparameters`) on demand."""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

from .validation import validate_hyperparameters

_H = TypeVar("_H", bound="Hyperparameters")


class Hyperparameters:
    """Mixin: every ``__init__`` keyword of the subclass is a hyperparameter stored unchanged
    under its own name."""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [n for n, p in sig.parameters.items() if n != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as a dict of constructor keyword -> value."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self: _H, **params: Any) -> _H:
        """Set hyperparameters by keyword (takes effect at the next ``fit`` / ``initialize``)."""
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"unknown hyperparameter {name!r} for {type(self).__name__}; valid names: {sorted(valid)}"
                )
            setattr(self, name, value)
        return self

    def validate_params(self) -> None:
        """Raise ``ValueError`` naming the first invalid hyperparameter and its valid range/choices."""
        validate_hyperparameters(self.get_params())

    def __repr__(self) -> str:
        defaults = {n: p.default for n, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = []
        for name, value in self.get_params().items():
            default = defaults.get(name)
            same = (
                type(value) is type(default)
                and isinstance(value, (bool, int, float, str, type(None)))
                and value == default
            )
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"
