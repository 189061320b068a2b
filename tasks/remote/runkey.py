"""The control machine's run key: manifests are signed with it so that rollback can tell a
manifest this machine wrote from one a node forged. The key never leaves the control
machine (never sent, never printed).

A manifest without a valid signature (another operator's machine, an older run, a planted file) is
still usable, but only with what can be checked on its own: paths whose real location is inside what
the project manages, plain modes, the target's own owner. What only a signature vouches for (a link
the operator made that leads outside the managed roots, the recorded owner, a setuid bit) needs one.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets as pysecrets
from functools import lru_cache
from pathlib import Path

#: the field of a manifest that carries its signature
MAC_FIELD = "mac"


def key_path() -> Path:
    """ESB_RUN_KEY_FILE, else $XDG_CONFIG_HOME/esb-cluster/run.key (~/.config by default)."""
    given = os.environ.get("ESB_RUN_KEY_FILE")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "esb-cluster" / "run.key"


@lru_cache(maxsize=None)
def _key(path: str) -> bytes:
    p = Path(path)
    try:
        data = p.read_bytes()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = pysecrets.token_bytes(32)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # a second process racing us: it wins, we read
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def key() -> bytes:
    """This machine's run key, made (0600) on first use."""
    try:
        return _key(str(key_path()))
    except FileExistsError:
        _key.cache_clear()
        return _key(str(key_path()))


def _canonical(manifest: dict) -> bytes:
    body = {k: v for k, v in manifest.items() if k != MAC_FIELD}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign(manifest: dict) -> dict:
    """The manifest with its signature (an HMAC-SHA256 of its canonical JSON under this machine's key)."""
    return {**manifest, MAC_FIELD: hmac.new(key(), _canonical(manifest), hashlib.sha256).hexdigest()}


def signed(manifest: object) -> bool:
    """True when this machine wrote the manifest as it is (a valid signature under its key)."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get(MAC_FIELD), str):
        return False
    want = hmac.new(key(), _canonical(manifest), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, manifest[MAC_FIELD])
