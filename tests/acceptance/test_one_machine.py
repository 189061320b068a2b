"""Several nodes on one machine (CONTRACT §5, issue 9), exactly as a user writes them: three ESB entries and the
db entry reached through one sshd as one login, one hosts file, no state_dir key (the default, .esb-cluster in
the login home).  setup-cluster, verify and two rollbacks work for every node; the shared hosts file is written
once per run with one backup; a run never waits for itself; two runs exclude each other on the shared file."""
from __future__ import annotations

import json
import re
import os
import shutil
import socket
import subprocess
import time

import pytest
from lxml import etree

from tests.acceptance.cluster import DB_PW, SVN_PW, sections
from tests.lab import Lab, SharedLab
from tests.svnlab import start_svnserve

ESB = ("esb-mgr", "esb-w1", "esb-w2")
AXIS2 = "axis2/axis2.xml"


@pytest.fixture(scope="module")
def machine():
    lab = SharedLab.create()
    svn = start_svnserve(lab)
    lab.svnserve = svn
    yield lab
    svn.proc.terminate()
    svn.proc.wait(5)
    lab.close()


@pytest.fixture
def one_machine(machine, mariadb, tmp_path):
    lab = machine
    lab.start(lab.hosts["esb-mgr"])
    mariadb.reset()
    if lab.svnserve.repo.exists():
        shutil.rmtree(lab.svnserve.repo)
    lab.extra_toml = sections(lab, tmp_path, mariadb.toml())
    lab.reset()
    lab.write_env(MYSQL_ADMIN_PASSWORD=mariadb.root_password, WSO2_DB_PASSWORD=DB_PW, SVN_PASSWORD=SVN_PW)
    lab.mariadb = mariadb
    return lab


def files(lab: Lab) -> dict[str, tuple[bytes, int]]:
    """Bytes and mode of every file of the nodes and of the machine's shared hosts file."""
    return {p: (data, os.stat(p).st_mode & 0o7777) for p, (data, _) in Lab.files(lab.snapshot(state=False)).items()}


def manifests_naming(lab: Lab, path) -> list[str]:
    """The backup runs (node/run) whose manifest lists path."""
    out = []
    for n in lab.hosts:
        for m in lab.state_dir(n).glob("backups/*/manifest.json"):
            if any(f["path"] == str(path) for f in json.loads(m.read_text())["files"]):
                out.append(f"{n}/{m.parent.name}")
    return out


def value(lab: Lab, host: str, rel: str, xpath: str, ns: dict | None = None) -> list[str]:
    root = etree.fromstring(lab.hosts[host].conf(rel).read_bytes())
    return [e.text for e in root.xpath(xpath, namespaces=ns or {})]


def test_the_toml_has_no_state_dir_and_one_machine(one_machine):
    text = one_machine.hosts_toml.read_text()
    assert not re.search(r"^\s*state_dir\s*=", text, re.M)
    assert len({(h.address, h.port) for h in one_machine.hosts.values()}) == 1


def test_setup_cluster_verify_and_two_rollbacks_on_one_machine(one_machine):
    lab = one_machine
    hosts_file = lab.hosts["esb-mgr"].hosts_file
    original = files(lab)
    r = lab.fab("setup-cluster", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "waiting for the lock" not in r.stderr and "locked by another run" not in r.stdout, r.stdout + r.stderr
    # every node has its own values
    c = {"c": "http://wso2.org/projects/carbon/carbon.xml"}
    for i, n in enumerate(ESB):
        assert value(lab, n, "carbon.xml", "//c:Ports/c:Offset", c) == [str(i)]
        assert value(lab, n, AXIS2, "//clustering/parameter[@name='localMemberPort']") == [str(4100 + 100 * i)]
        assert (lab.hosts[n].home / "repository/components/lib/mysql-connector-java-5.1.49.jar").exists()
        assert (lab.state_dir(n) / "backups").is_dir() and not (lab.state_dir(n) / "lock").exists()
    assert not (lab.home_state / "machine.lock").exists()
    text = hosts_file.read_text()
    assert text.count("carbondb.mysql-wso2.com") == 1, text
    assert len(manifests_naming(lab, hosts_file)) == 1  # written once, one backup
    assert r.stdout.count("map-hosts: changed") == 1 and r.stdout.count("map-hosts: ok") == 2, r.stdout
    v = lab.fab("verify", timeout=300)
    assert v.returncode == 0, v.stdout + v.stderr
    after_setup = files(lab)

    # a second change: the cluster gets new host names (carbon.xml of every node, the LB certificates)
    lab.write_toml(lab.toml().replace('hostname = "esb.wso2.com"', 'hostname = "esb2.wso2.com"'))
    r = lab.fab("setup-cluster", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert value(lab, "esb-w2", "carbon.xml", "//c:HostName", c) == ["esb2.wso2.com"]
    assert lab.fab("verify", timeout=300).returncode == 0

    first = lab.fab("rollback")
    assert first.returncode == 0, first.stdout + first.stderr
    assert files(lab) == after_setup
    second = lab.fab("rollback")
    assert second.returncode == 0, second.stdout + second.stderr
    assert files(lab) == original  # every node's files and the shared hosts file, byte for byte, with modes
    assert lab.fab("rollback").stdout.startswith("nothing to roll back")


def test_setup_worker_on_two_workers_of_one_machine_never_waits_for_itself(one_machine):
    lab = one_machine
    t0 = time.monotonic()
    r = lab.fab("setup-worker")
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    assert "waiting for the lock" not in r.stderr
    assert r.stdout.count("set-hostnames: changed") == 2
    assert took < 30, took  # it used to wait 60 s for its own lock and fail
    r = lab.fab("-H", "manager,workers", "patch-axis2", "enable-depsync", "set-hostnames")
    assert r.returncode == 0 and "locked" not in r.stdout, r.stdout + r.stderr


def test_two_runs_exclude_each_other_on_the_shared_hosts_file(one_machine):
    """A live run holds the machine's lock (it writes the hosts file): map-hosts waits, then gives up; a step that
    writes only a node's own files is not held up."""
    lab = one_machine
    lab.write_toml(lab.toml() + "\n[run]\nlock_wait = 1\n")
    sleeper = subprocess.Popen(["sleep", "60"])
    lock = lab.home_state / "machine.lock"
    try:
        lock.mkdir(parents=True)
        (lock / "owner").write_text(json.dumps({"run_id": "20000101T000000-1", "pid": sleeper.pid,
                                                "node": socket.gethostname(), "time": int(time.time()),
                                                "started": time.time() - 100}))
        before = lab.snapshot()
        r = lab.fab("-H", "esb-w1", "map-hosts")
        assert r.returncode == 1, r.stdout + r.stderr
        assert "is locked by another run (20000101T000000-1" in r.stdout, r.stdout
        assert lab.hosts["esb-w1"].hosts_file.read_bytes() == before[str(lab.hosts["esb-w1"].hosts_file)][0]
        r = lab.fab("-H", "esb-w1", "set-hostnames")
        assert r.returncode == 0 and "[esb-w1] set-hostnames: changed" in r.stdout, r.stdout + r.stderr
    finally:
        sleeper.kill()
        shutil.rmtree(lock, ignore_errors=True)


def test_two_entries_with_one_product_home_on_one_machine_are_refused(one_machine):
    lab = one_machine
    text = lab.toml()
    w2 = str(lab.hosts["esb-w2"].home)
    lab.write_toml(text.replace(w2, str(lab.hosts["esb-w1"].home)))
    before = lab.snapshot()
    r = lab.fab("set-hostnames")
    assert r.returncode == 1 and r.stdout == ""
    assert (f"[hosts.esb-w2].product_home: {lab.hosts['esb-w1'].home} on root@{lab.hosts['esb-w1'].address}:"
            f"{lab.hosts['esb-w1'].port} is already esb-w1's") in r.stderr, r.stderr
    assert lab.snapshot() == before
