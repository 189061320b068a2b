"""The node's keystore as a step or a probe opens it: KEYSTORE_PASSWORD's rule (8 characters at
least, not the shipped one; never printed) and a keystore parsed with a clear StepError.
create-keystore, secure-vault (tasks/steps/) and the live checks (tasks/probes/) share them."""
from __future__ import annotations

from ..formats import jks
from ..rules import SHIPPED_STORE_PASSWORD
from ..secrets import Secrets
from .context import StepError

SECRET = "KEYSTORE_PASSWORD"
MIN_PASSWORD = 8


def check_password(value: str) -> None:
    """A KEYSTORE_PASSWORD Carbon may rely on: 8 characters at least, not the shipped one (never printed)."""
    if len(value) < MIN_PASSWORD:
        raise StepError(f"{SECRET} is too weak: it has fewer than {MIN_PASSWORD} characters")
    if value == SHIPPED_STORE_PASSWORD:
        raise StepError(f"{SECRET} is too weak: it is the shipped password every download has")


def keystore_password(secrets: Secrets) -> str | None:
    """KEYSTORE_PASSWORD when set (checked), else None (verify then reports only what needs no password)."""
    value = secrets.get(SECRET)
    if value:
        check_password(value)
    return value


def parse_store(data: bytes, label: str) -> jks.Keystore:
    """A keystore's entries; a clear StepError for one that is not JKS or is damaged."""
    try:
        return jks.parse(data)
    except jks.JksError as e:
        raise StepError(f"{label}: {e}; create-keystore handles JKS keystores only (nothing was changed)") from None
