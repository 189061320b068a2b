"""What every SSH connection of one fab run shares, loaded once instead of once per host.

Opening a Fabric Connection builds a Config (Invoke's and Fabric's YAML/JSON files, ~/.ssh/config),
paramiko reads the private key file, and the known_hosts file is parsed again: at 96 hosts that was
more local work than the SFTP reads themselves (issue 15, measured with a per-thread profile). Here
the Config is built once and cloned per connection, a key file is read once per (path, mtime), and
known_hosts once per (path, mtime, size): each connection gets its own host's entries only.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache

import paramiko
from fabric import Config

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _base_config() -> Config:
    return Config()


def config() -> Config:
    """A Fabric Config for one connection (a clone: connections never share mutable settings)."""
    with _lock:
        return _base_config().clone()


@lru_cache(maxsize=8)
def _key(path: str, mtime_ns: int, size: int) -> paramiko.PKey:
    return paramiko.PKey.from_path(path)


def private_key(path: str) -> paramiko.PKey:
    """The private key of a key file (read once while the file is unchanged); paramiko's errors as they are."""
    st = os.stat(path)
    with _lock:
        return _key(path, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=8)
def _known(path: str, mtime_ns: int, size: int) -> paramiko.HostKeys:
    return paramiko.HostKeys(path)


def known_keys(path: str, hostport: str) -> dict[str, paramiko.PKey]:
    """The known_hosts entries of one host ("addr" or "[addr]:port"): key type -> key; {} when none."""
    try:
        st = os.stat(path)
    except OSError:
        return {}
    with _lock:
        keys = _known(path, st.st_mtime_ns, st.st_size)
    found = keys.lookup(hostport)
    return dict(found) if found else {}


__all__ = ["config", "private_key", "known_keys"]
