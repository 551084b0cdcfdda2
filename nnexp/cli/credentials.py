"""Keep passwords given in URLs out of every file and terminal line (before Hydra starts).

Hydra writes the command line to ``.hydra/overrides.yaml``, ``.hydra/config.yaml``,
``multirun.yaml`` and its job lines, and nnexp composes trial and best configs from it. So a URL
override with credentials (``tracking.uri=postgresql://nnexp:S3cret@db/mlflow``,
``hydra.sweeper.storage=postgresql://...``) is taken off the command line before Hydra sees it:
its value goes to the environment variable nnexp reads when the key is null
(``MLFLOW_TRACKING_URI``, ``NNEXP_OPTUNA_STORAGE``), which sweep workers inherit, and the
override becomes ``<key>=null``. A URI that arrives with credentials by the environment already
is left there; then MLflow's own "View run ... at <url>" line is switched off too, since it
would print the URL with its password (``nnexp.tracking.store.silence_run_links``, which every
command reaches when it resolves its tracking URI).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping, Sequence

from nnexp.tracking.masking import has_secret


def secret_keys() -> dict[str, str]:
    """Override key -> the environment variable that carries its value instead."""
    from nnexp.search.storage import STORAGE_ENV
    from nnexp.tracking.store import TRACKING_ENV

    return {"tracking.uri": TRACKING_ENV, "hydra.sweeper.storage": STORAGE_ENV}


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def move_credentials(argv: Sequence[str], environ: MutableMapping[str, str] | None = None) -> list[str]:
    """``argv`` with every URL override holding credentials replaced by ``<key>=null``; the
    URL itself put into its environment variable (``environ``: ``os.environ``)."""
    from nnexp.tracking.store import TRACKING_ENV, silence_run_links

    env = os.environ if environ is None else environ
    out: list[str] = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and has_secret(value):  # secret_keys imports optuna: only when needed
            var = secret_keys().get(key.lstrip("+~"))
            if var:
                env[var] = _unquote(value)
                arg = f"{key}=null"
        out.append(arg)
    silence_run_links(env.get(TRACKING_ENV, ""), env)
    return out
