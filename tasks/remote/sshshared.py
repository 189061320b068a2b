"""What every SSH connection of one fab run shares, loaded once instead of once per host.

Opening a Fabric Connection builds a Config (Invoke's and Fabric's YAML/JSON files, ~/.ssh/config),
paramiko reads the private key file, and the known_hosts file is parsed again: at 96 hosts that was
more local work than the SFTP reads themselves (issue 15, measured with a per-thread profile). Here
the Config is built once and shared (read-only), a key file is read once per (path, mtime), and
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
    c = Config()
    # the one setting a Fabric Connection writes into its config (Invoke's DataProxy stores an attribute its class
    # lacks as a setting): given here the value every connection of the project gives it (transport.py)
    c.inline_ssh_env = False
    return c


def config() -> Config:
    """The Fabric Config every connection of the run reads (one object: a clone per connection, a deep copy, was
    a twelfth of a 96-host rollout's interpreter time). Shared read-only: Fabric's Connection and Invoke's runners
    only read it, and nothing of this project sets a value in it (tests/unit/remote/test_sshshared.py)."""
    with _lock:
        return _base_config()


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
