"""Shared fixtures: one lab of real sshd hosts per test session, product homes reset per test."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.lab import Lab, product_fixture  # noqa: E402


@pytest.fixture(scope="session")
def lab_session():
    lab = Lab.create(n_workers=2, extra_roles=("db",))
    yield lab
    lab.close()


@pytest.fixture
def lab(lab_session, request):
    """The session lab with fresh product homes, hosts files, hosts.toml and no .env.

    Parametrized indirectly with True (`default_state`), its hosts.toml has no state_dir key: every node's state
    goes where a user's would, .esb-cluster/nodes/<name> in the login home."""
    lab_session.extra_toml = ""
    lab_session.env = {}
    lab_session.default_state = getattr(request, "param", False)
    for h in lab_session.hosts.values():
        if h.proc is None or h.proc.poll() is not None:
            lab_session.start(h)
    lab_session.reset()
    env = lab_session.dir / ".env"
    if env.exists():
        env.unlink()
    return lab_session


@pytest.fixture(scope="session")
def mariadb():
    """A real MariaDB server for the whole session (tests/mariadb.py); tests reset what they use."""
    from tests.mariadb import MariaDB
    server = MariaDB.start()
    yield server
    server.stop()


@pytest.fixture
def shipped():
    """Path to the shipped (unmodified) 4.9.0 product files."""
    return product_fixture()
