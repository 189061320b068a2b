"""The whole lab cluster for the rollout, rollback and verify tests: hosts.toml sections and secrets.

`node_config` is enough for the node steps (no server needed); the `cluster` fixture adds the
real MariaDB (through db1's sshd) and svnserve so that setup-cluster runs every step.
Import the fixtures into a test module:
`from tests.acceptance.cluster import cluster, svnserve  # noqa: F401`.
"""
from __future__ import annotations

import json
import shutil

import pytest

from tests.acceptance.test_jars import MYSQL, SVNKIT, TRILEAD
from tests.lab import make_jar
from tests.svnlab import svnserve  # noqa: F401  (a fixture the cluster fixture needs)

DB_PW = "Contraseña'Db\"pw%9€"  # what users write: quotes, percent, letters outside ASCII and Latin-1
SVN_PW = "Señal&Pw<7>q€"
ESB = ("esb-mgr", "esb-w1", "esb-w2")


def certs_dir(lab):
    """certs.dir under the manager's lab root, so that lab.snapshot() sees the pairs."""
    return lab.hosts["esb-mgr"].root / "ssl"


def sections(lab, tmp_path, database: str) -> str:
    """[certs] and [artifacts] (three small jars built here) after the given [database] section."""
    arts = {"mysql_connector_jar": make_jar(tmp_path / "artifacts" / MYSQL, "connector", ("com.mysql.jdbc.Driver",)),
            "svnkit_jar": make_jar(tmp_path / "artifacts" / SVNKIT, "svnkit"),
            "trilead_jar": make_jar(tmp_path / "artifacts" / TRILEAD, "trilead")}
    return (f"{database}\n[certs]\ndir = \"{certs_dir(lab)}\"\n\n[artifacts]\n"
            + "".join(f'{k} = "{v}"\n' for k, v in arts.items()))


def node_config(lab, tmp_path, extra: str = "") -> None:
    """Everything the node steps (setup-manager, setup-worker) need; no database or svn server runs."""
    db = '[database]\nhost = "db1"\nport = 3306\nuser = "regadmin"\n'
    lab.extra_toml = sections(lab, tmp_path, db) + extra
    lab.write_toml()
    lab.write_env(WSO2_DB_PASSWORD=DB_PW, SVN_PASSWORD=SVN_PW)


@pytest.fixture
def cluster(lab, mariadb, svnserve, tmp_path):  # noqa: F811
    """The lab (fresh homes) with a clean MariaDB reached through db1 and an empty svnserve root."""
    mariadb.reset()
    if svnserve.repo.exists():
        shutil.rmtree(svnserve.repo)
    lab.extra_toml = sections(lab, tmp_path, mariadb.toml())
    lab.write_toml()
    lab.write_env(MYSQL_ADMIN_PASSWORD=mariadb.root_password, WSO2_DB_PASSWORD=DB_PW, SVN_PASSWORD=SVN_PW)
    lab.mariadb, lab.svnserve = mariadb, svnserve
    return lab


def fab_json(lab, *args: str) -> tuple[int, dict]:
    """Run fab with --json; (exit code, document)."""
    r = lab.fab(*args, "--json")
    assert r.stderr == "" or "Traceback" not in r.stderr, r.stderr
    return r.returncode, json.loads(r.stdout)


def statuses(doc: dict) -> dict[tuple[str, str], str]:
    """(host, step) -> status of a --json document."""
    return {(h, s): v["status"] for h, steps in doc["hosts"].items() for s, v in steps.items()}


def no_secret(r, *more: str) -> None:
    """No secret of the cluster fixture in a run's output."""
    for s in (DB_PW, SVN_PW, *more):
        assert s not in r.stdout and s not in r.stderr
