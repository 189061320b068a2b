"""setup-cluster, setup-manager and setup-worker over the real lab, MariaDB and svnserve.

setup-cluster reaches the guide's state on every host, a second run writes nothing, a stopped
worker sshd leaves the others done and exit 1 naming it, and --resume completes the rollout.
"""
from __future__ import annotations

import json

from tests.acceptance.cluster import ESB, cluster, fab_json, no_secret, node_config, statuses  # noqa: F401
from tests.acceptance.cluster import svnserve  # noqa: F401
from tests.acceptance.util import conf_diff
from tests.mariadb import DATABASES, READ_COUNTERS

import pytest

from tasks.commands.rollout import NODE_STEPS as ALL_NODE_STEPS
from tasks.steps import by_name

#: the node steps setup-* runs on the lab (whose hosts.toml has no [security] switch on)
NODE_STEPS = [n for n in ALL_NODE_STEPS if by_name(n).switch is None]

#: every rollout test twice: with the lab's state_dir per host, and with none (the default a user has)
pytestmark = pytest.mark.parametrize("lab", [False, True], indirect=True, ids=["state_dir", "default-state"])

#: the node steps a worker runs (set-proxyports is the manager's only)
WORKER_STEPS = [n for n in NODE_STEPS if "worker" in by_name(n).roles]
#: what a shipped manager already has: its start script says -DworkerNode=false
AS_SHIPPED_ON_MANAGER = ("set-worker-profile",)


def state(lab) -> dict:
    return json.loads((lab.dir / ".esb-state" / "setup-cluster.json").read_text())


def db_writes(before: dict, after: dict) -> dict:
    return {k: after[k] - before.get(k, 0) for k in after
            if after[k] != before.get(k, 0) and k not in READ_COUNTERS and not k.startswith("Com_show")}


def test_setup_cluster_reaches_the_guide_state_then_a_second_run_writes_nothing(cluster):
    lab = cluster
    r = lab.fab("setup-cluster")
    assert r.returncode == 0, r.stdout + r.stderr
    no_secret(r, lab.mariadb.root_password)
    phases = [ln for ln in r.stdout.splitlines() if ln.startswith("== ")]
    assert phases == ["== certificates: esb-mgr", "== databases: db1", "== svn: esb-mgr", "== manager: esb-mgr",
                      "== workers: esb-w1, esb-w2", "== lb: no targets, skipped"]  # this lab has no lb host
    for step in NODE_STEPS:  # a progress line per host and step
        assert f"[esb-mgr] {step}: {'ok' if step in AS_SHIPPED_ON_MANAGER else 'changed'}" in r.stdout
    assert "[esb-w1] set-proxyports" not in r.stdout and "[esb-w2] set-proxyports" not in r.stdout
    assert state(lab)["status"] == "completed"
    # the guide's state: every step's own verify and the cluster checks agree
    v = lab.fab("verify")
    assert v.returncode == 0, v.stdout + v.stderr
    assert set(lab.mariadb.databases()) == set(DATABASES)
    assert (lab.svnserve.repo / "conf" / "passwd").exists()
    assert '+        <parameter name="domain">wso2.esb.domain</parameter>' in conf_diff(lab, "esb-w2", "axis2/axis2.xml")
    assert "+        <AutoCommit>true</AutoCommit>" in conf_diff(lab, "esb-mgr", "carbon.xml")

    before, svn_before, counters = lab.snapshot(), lab.svnserve.snapshot(), lab.mariadb.com_counters()
    stats = lab.dir / "stats.jsonl"
    r = lab.fab("setup-cluster", "--json", env={"ESB_STATS_FILE": str(stats)})
    code, doc = r.returncode, json.loads(r.stdout)
    assert code == 0 and doc["exit"] == 0
    run = json.loads(stats.read_text().splitlines()[-1])
    assert {h: c["connections"] for h, c in run["hosts"].items()} == {h: 1 for h in (*ESB, "db1")}
    assert set(statuses(doc).values()) == {"ok"}, statuses(doc)
    assert len(statuses(doc)) == 3 + len(NODE_STEPS) + 2 * len(WORKER_STEPS)  # certs, dbs, svn; the nodes' steps
    assert lab.snapshot() == before and lab.svnserve.snapshot() == svn_before  # bytes and mtimes
    assert db_writes(counters, lab.mariadb.com_counters()) == {}


def test_a_stopped_worker_fails_alone_then_resume_completes(cluster):
    lab = cluster
    w2 = lab.hosts["esb-w2"]
    lab.stop(w2)
    try:
        r = lab.fab("setup-cluster")
    finally:
        lab.start(w2)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "failed on: esb-w2" in r.stdout
    assert "[esb-w2] map-hosts: failed: unreachable" in r.stdout
    for step in WORKER_STEPS:  # the other worker finished every step
        assert f"[esb-w1] {step}: changed" in r.stdout
    assert "setup-cluster stopped at phase workers, step map-hosts (failed on esb-w2)" in r.stdout
    assert "fab setup-cluster --resume" in r.stdout
    s = state(lab)
    assert (s["status"], s["phase"], s["step"], s["failed_hosts"]) == ("stopped", "workers", "map-hosts", ["esb-w2"])
    assert conf_diff(lab, "esb-w2", "axis2/axis2.xml") == []  # untouched

    mgr_before = {p: v for p, v in lab.snapshot().items() if "/esb-mgr/" in p}
    code, doc = fab_json(lab, "setup-cluster", "--resume")
    assert code == 0, doc
    assert "resuming run" in doc["notes"][0]
    st = statuses(doc)
    assert {h for h, _ in st} == {"esb-w1", "esb-w2"}  # resumed at the workers phase
    assert {v for (h, _), v in st.items() if h == "esb-w1"} == {"ok"}
    assert {v for (h, _), v in st.items() if h == "esb-w2"} == {"changed"}
    assert {p: v for p, v in lab.snapshot().items() if "/esb-mgr/" in p} == mgr_before
    assert state(lab)["status"] == "completed"
    assert lab.fab("verify").returncode == 0
    r = lab.fab("setup-cluster", "--resume")
    assert r.returncode == 0 and "nothing to resume" in r.stdout


def test_setup_manager_and_setup_worker_on_their_own_targets(lab, tmp_path):
    node_config(lab, tmp_path)
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w1", "setup-manager")
    assert r.returncode == 1 and "esb-w1 is a worker (use setup-worker)" in r.stderr
    r = lab.fab("setup-worker", "--dry-run")
    assert r.returncode == 0 and r.stdout.count(": would change") == 2 * len(WORKER_STEPS) and "@@" in r.stdout
    assert lab.snapshot() == before
    no_secret(r)

    code, doc = fab_json(lab, "setup-manager")
    assert code == 0, doc
    assert statuses(doc) == {("esb-mgr", s): "ok" if s in AS_SHIPPED_ON_MANAGER else "changed" for s in NODE_STEPS}
    r = lab.fab("setup-worker")
    assert r.returncode == 0, r.stdout + r.stderr
    for h in ("esb-w1", "esb-w2"):
        assert r.stdout.count(f"[{h}] ") == len(WORKER_STEPS) and f"[{h}] set-proxyports" not in r.stdout
    assert "[esb-mgr]" not in r.stdout
    no_secret(r)
    assert lab.fab("setup-manager", "--verify").returncode == 0
    r = lab.fab("-H", "esb-w2", "setup-worker", "--verify")
    assert r.returncode == 0 and r.stdout.count(": ok") == len(WORKER_STEPS)
    assert lab.fab("verify", "--steps", "cluster").returncode == 0  # loopback warnings only


def test_parallel_one_at_a_time_still_finishes_every_host(lab, tmp_path):
    node_config(lab, tmp_path, extra="\n[run]\nparallel = 1\n")
    r = lab.fab("-H", "esb-w1,esb-w2", "setup-worker")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [ln.split("]")[0] for ln in r.stdout.splitlines() if ln.startswith("[")]
    assert lines == ["[esb-w1"] * len(WORKER_STEPS) + ["[esb-w2"] * len(WORKER_STEPS)  # one host after the other


def test_a_rollout_whose_local_jar_is_missing_touches_no_host(lab, tmp_path):
    node_config(lab, tmp_path)
    lab.write_toml(lab.toml().replace(f'"{tmp_path / "artifacts" / "trilead-ssh2-1.0.0-build215.jar"}"',
                                      f'"{tmp_path / "gone.jar"}"'))
    for args in (("setup-manager",), ("setup-worker",), ("setup-cluster",), ("setup-cluster", "--dry-run")):
        before = lab.snapshot()
        r = lab.fab(*args)
        assert r.returncode == 1, r.stdout + r.stderr
        assert r.stderr.startswith("error: not started, no host touched: "), r.stderr
        assert "install-svnkit: [artifacts] trilead_jar: " in r.stderr, r.stderr
        assert "gone.jar does not exist on this machine" in r.stderr and "Traceback" not in r.stderr
        assert lab.snapshot() == before  # not even the hosts files of the steps before install-svnkit
        assert not (lab.dir / ".esb-state").exists()
