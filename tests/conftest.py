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
#: about the seconds a test of the file takes (./run-tests --durations=0, 2026-12-07), to start the longest units first
UNIT_SECONDS: dict[str, float] = {
    "test_rotation.py": 41, "test_day2.py": 26, "test_lifecycle_faults.py": 25, "test_keystore_rotation.py": 24,
    "test_secrets.py": 21, "test_lint.py": 20, "test_stalled_host.py": 18, "test_deploy.py": 15,
    "test_lifecycle.py": 11.5, "test_lifecycle_health.py": 9.4, "test_hardening.py": 8.7, "test_diagram.py": 8,
    "test_release_500.py": 8, "test_secret_files.py": 8, "test_live.py": 6.5, "test_one_machine.py": 4,
    "test_sudo.py": 4, "test_rollout.py": 3, "test_databases.py": 2.4, "test_loadbalancer.py": 2.1,
    "test_faults.py": 1.7,
}


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to under pytest-xdist: its file (so its module lab is made once, on one
    worker), or "login-home" for every test whose nodes keep their state in the login home (the default state
    dir: parametrized `default-state`; SharedLab; the sudo login), which one worker runs one at a time."""
    path = nodeid.split("::", 1)[0]
    if path.rsplit("/", 1)[-1] in LOGIN_HOME_FILES or "[default-state" in nodeid:
        return "login-home"
    return path


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist: the units in the order of their expected length, longest first (every worker collects
    the same order; the scheduler below hands out units in it)."""
    if getattr(config.option, "numprocesses", None) or getattr(config, "workerinput", None):
        units: dict[str, list] = {}
        for item in items:
            units.setdefault(unit_of(item.nodeid), []).append(item)
        weight = {u: sum(UNIT_SECONDS.get(i.path.name, 1.0) for i in members) for u, members in units.items()}
        items[:] = [i for u in sorted(units, key=lambda u: -weight[u]) for i in units[u]]


@pytest.hookimpl(optionalhook=True)  # a run without pytest-xdist has no such hook
def pytest_xdist_make_scheduler(config, log):
    """./run-tests (`-n 3`): whole units to each worker (unit_of), in collection order (--no-loadscope-reorder)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    return ByUnit(config, log)
