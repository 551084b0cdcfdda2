"""Keep credentials out of MLflow and the terminal: mask secrets inside URLs and query strings."""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

# scheme://userinfo@  (userinfo is everything up to the last "@" before the host part)
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/\s?#'\"]+)@")
# ?password=...  &token=...  (query-string secrets)
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&;](?:password|passwd|pwd|secret|token|access_token|api_key|apikey|key|"
    r"sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token)=)(?P<value>[^&;#\s'\"]+)",
    re.IGNORECASE,
)


def _mask_userinfo(match: re.Match[str]) -> str:
    userinfo = match.group("userinfo")
    user, sep, _password = userinfo.partition(":")
    # user:password -> user:***   ;  a lone user part may itself be a token -> ***
    masked = f"{user}:{MASK}" if sep else MASK
    return f"{match.group('scheme')}{masked}@"


def mask_secrets(text: str) -> str:
    """Return ``text`` with URL passwords/tokens replaced by ``***``.

    ``postgresql://user:pass@host/db`` -> ``postgresql://user:***@host/db``;
    ``http://token@host`` -> ``http://***@host``; ``...?token=abc`` -> ``...?token=***``.
    Text without credentials comes back unchanged.
    """
    if "://" not in text and "=" not in text:
        return text
    text = _USERINFO.sub(_mask_userinfo, text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group('key')}{MASK}", text)


def has_secret(text: str) -> bool:
    """Whether ``text`` holds a URL password or token (what :func:`mask_secrets` hides)."""
    return mask_secrets(text) != text


def mask_obj(value: Any) -> Any:
    """:func:`mask_secrets` applied to every string inside nested dicts/lists/tuples."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {k: mask_obj(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_obj(v) for v in value)
    return value
