"""A RemoteHost on a real sshd of the test lab (fresh product homes per test), for the remote layer's own tests."""
from __future__ import annotations

import pytest

from tasks.hoststoml import load_inventory
from tasks.remote import RemoteHost
from tasks.engine.runner import new_run_id


@pytest.fixture
def remote(lab):
    """esb-w1's RemoteHost (its own run id); closed (and unlocked) after the test."""
    lab.write_toml()
    inv = load_inventory(lab.hosts_toml)
    made = []

    def make(name: str = "esb-w1", run_id: str | None = None, **kw) -> RemoteHost:
        r = RemoteHost(inv.hosts[name], run_id or new_run_id(), **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()
