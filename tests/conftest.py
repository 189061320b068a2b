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


#: test files whose labs use the login (root) home's .esb-cluster or a system account: one xdist worker runs them
#: all, one at a time (another worker's lab never touches the login home: Lab.reset cleans it only after its own use)
LOGIN_HOME_FILES = ("test_one_machine.py", "test_sudo.py")
#: seconds a test of the file takes (measured: --durations), to start the longest units first
UNIT_SECONDS: dict[str, float] = {
    "test_day2.py": 200, "test_secrets.py": 165, "test_rotation.py": 115, "test_deploy.py": 75, "test_diagram.py": 60,
    "test_lifecycle_faults.py": 55, "test_stalled_host.py": 50, "test_hardening.py": 48, "test_release_500.py": 35,
    "test_secret_files.py": 35, "test_keystore_rotation.py": 34, "test_live.py": 30, "test_lifecycle.py": 30,
    "test_lifecycle_health.py": 30, "test_svnrepo.py": 21, "test_databases.py": 19, "test_certs.py": 19,
    "test_jars.py": 17, "test_faults.py": 16, "test_rollout.py": 15, "test_sudo.py": 15, "test_loadbalancer.py": 15,
}


def uses_login_home(item) -> bool:
    """A test whose nodes keep their state in the login home (default state) or which makes a system account."""
    callspec = getattr(item, "callspec", None)
    return item.path.name in LOGIN_HOME_FILES or (callspec is not None and callspec.params.get("lab") is True)


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`-n N --dist loadgroup`, what ./run-tests runs): a test file is one unit of work, so its
    module lab is made once, and every test that uses the login home goes to one group; the longest units first."""
    groups: dict[str, list] = {}
    for item in items:
        group = "login-home" if uses_login_home(item) else item.path.name
        item.add_marker(pytest.mark.xdist_group(group))
        groups.setdefault(group, []).append(item)
    if config.pluginmanager.hasplugin("xdist") and getattr(config.option, "numprocesses", None):
        weight = {g: sum(UNIT_SECONDS.get(i.path.name, 1.0) for i in members) for g, members in groups.items()}
        items[:] = [i for g in sorted(groups, key=lambda g: -weight[g]) for i in groups[g]]
