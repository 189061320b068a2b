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
import tempfile
from functools import lru_cache
from pathlib import Path

from ..schema import ConfigError

#: the field of a manifest that carries its signature
MAC_FIELD = "mac"


def key_path() -> Path:
    """ESB_RUN_KEY_FILE, else $XDG_CONFIG_HOME/esb-cluster/run.key (~/.config by default)."""
    given = os.environ.get("ESB_RUN_KEY_FILE")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "esb-cluster" / "run.key"


#: a run key is at least this many bytes (the one this module makes is exactly this long)
KEY_BYTES = 32

_WAY_OUT = ("move it away to have a new key made (a new key cannot vouch for the manifests of older runs: "
            "their rollback then trusts only what can be checked on its own), or restore the key from a backup")


class RunKeyError(ConfigError):
    """The run key file is there but is not a key (too short, a folder, unreadable, a dangling link):
    never replaced silently (every earlier run would lose its signature), the operator decides."""


def _not_a_key(p: Path, what: str) -> RunKeyError:
    return RunKeyError(f"the run key {p} {what}, not a key: {_WAY_OUT}")


def _read(p: Path) -> bytes | None:
    """The key at p; None when nothing is there (not even a dangling link); RunKeyError when something is
    there that is not a key."""
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        if p.is_symlink():
            raise _not_a_key(p, f"is a link to {os.readlink(p)}, which does not exist") from None
        return None
    except IsADirectoryError:
        raise _not_a_key(p, "is a folder") from None
    except OSError as e:
        raise _not_a_key(p, f"cannot be read ({e.strerror or e})") from None
    if len(data) < KEY_BYTES:
        raise _not_a_key(p, f"is {len(data)} bytes (a key has {KEY_BYTES})")
    return data


@lru_cache(maxsize=None)
def _key(path: str) -> bytes:
    p = Path(path)
    found = _read(p)
    if found is not None:
        return found
    try:
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # written whole under a private name, then linked into place: another process sees no key or a whole one
        fd, tmp = tempfile.mkstemp(prefix=".run.key.", dir=p.parent)  # mode 0600
    except OSError as e:
        raise RunKeyError(f"the run key {p} cannot be made in {p.parent} ({e.strerror or e})") from None
    key = pysecrets.token_bytes(KEY_BYTES)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        os.link(tmp, p)  # a second process racing us: it wins (FileExistsError), we read its key
    except FileExistsError:
        found = _read(p)
        if found is None:
            raise _not_a_key(p, "appeared and vanished while being made") from None
        return found
    finally:
        os.unlink(tmp)
    return key


def key() -> bytes:
    """This machine's run key, made (0600) on first use; RunKeyError (naming the file and what to do) when the
    file is there but is not a key: it is never replaced silently."""
    return _key(str(key_path()))  # an error is not cached: the next call reads the file again


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
