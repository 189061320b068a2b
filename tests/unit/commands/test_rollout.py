"""Pure parts of the rollouts (tasks/commands/rollout.py) and their state file (tasks/engine/runstate.py)."""
from __future__ import annotations

import pytest

from tasks.engine.step import find_steps, host_work
from tasks.steps import STEPS, by_name

from tasks.commands import rollout
from tasks.config import ConfigError
from tasks.engine.report import Reporter
from tasks.engine.runstate import load_state, save_state
from tests.unit.helpers import inventory

INV = inventory()


def names(work):
    return {h.name: [s.name for s in steps] for h, steps in work}


def test_node_steps_exist_in_guide_order():
    steps, missing = find_steps(STEPS, rollout.NODE_STEPS)
    assert missing == [] and [s.name for s in steps] == list(rollout.NODE_STEPS)


def test_every_step_declares_a_phase_and_setup_cluster_runs_it():
    from tasks.steps import STEPS
    from tasks.engine.step import PHASES
    for step in STEPS:
        assert step.phase in PHASES, f"{step.name} belongs to no phase of setup-cluster: it would never run there"
    in_cluster = {n for _, names, _ in rollout.CLUSTER_PHASES for n in names}
    assert in_cluster == {s.name for s in STEPS}


def test_a_new_step_lands_in_its_phase_by_its_declaration_alone(monkeypatch):
    from tasks import steps as steps_pkg
    from tasks.steps.base import Step

    class Extra(Step):
        name, phase = "extra-step", "svn"

    monkeypatch.setattr(rollout, "STEPS", [*steps_pkg.STEPS, Extra()])
    assert rollout.steps_of("svn") == ("create-svn-repo", "extra-step")


def test_preflight_names_every_missing_secret_and_local_file_before_any_host(tmp_path):
    from tasks.engine.runner import Session, preflight
    from tasks.secrets import Secrets
    from tests.unit.helpers import base_data
    d = base_data()
    d["artifacts"] = {"mysql_connector_jar": str(tmp_path / "nowhere.jar")}
    inv = inventory(d)
    session = Session(inv, Secrets({"WSO2_DB_PASSWORD": "x" * 8}), "patch")
    steps, _ = find_steps(STEPS, rollout.NODE_STEPS)
    with pytest.raises(ConfigError) as e:
        preflight(host_work(inv.esb_nodes, steps, inv), session)
    msg = str(e.value)
    assert msg.startswith("not started, no host touched: ")
    assert "install-jdbc-driver: [artifacts] mysql_connector_jar: " in msg and "nowhere.jar does not exist" in msg
    assert "install-svnkit: [artifacts] svnkit_jar is not set" in msg
    assert "enable-depsync: SVN_PASSWORD is not set" in msg and "WSO2_DB_PASSWORD" not in msg
    assert session.remotes() == {}  # no host was connected
    preflight([], Session(inv, Secrets({}), "verify"))  # verify reports per host instead


def test_a_step_missing_from_the_build_is_named_not_dropped_silently():
    steps, missing = find_steps(STEPS, ["patch-axis2", "no-such-step"])
    assert [s.name for s in steps] == ["patch-axis2"] and missing == ["no-such-step"]
    rep = Reporter("patch", as_json=True)
    rollout.report_missing(missing, rep)
    assert rep.extra["missing_steps"] == ["no-such-step"]
    assert "not in this build, not run: no-such-step" in rep.extra["notes"][0]


def test_set_proxyports_only_in_the_manager_sequence():
    steps, _ = find_steps(STEPS, rollout.NODE_STEPS)
    per_host = names(host_work(INV.esb_nodes, steps, INV))
    running = [s for s in steps if s.enabled(INV)]  # the [security] steps only when switched on
    assert per_host["esb-mgr"] == [s.name for s in running]
    assert per_host["esb-w1"] == per_host["esb-w2"] == [s.name for s in running if "worker" in s.roles]
    assert "set-proxyports" in per_host["esb-mgr"] and "set-proxyports" not in per_host["esb-w1"]


def test_cluster_phases_in_guide_order_limited_to_targets():
    phases = rollout.cluster_phases(INV, list(INV.hosts.values()))
    assert [p.name for p in phases] == ["certificates", "databases", "svn", "manager", "workers", "lb"]
    got = {p.name: names(p.work(INV)) for p in phases}
    assert got["lb"] == {}  # no lb host in this inventory: the phase has no targets
    assert got["certificates"] == {"esb-mgr": ["create-certs"]}
    assert got["databases"] == {"db1": ["create-dbs"]}
    assert got["svn"] == {"esb-mgr": ["create-svn-repo"]}
    assert set(got["workers"]) == {"esb-w1", "esb-w2"}
    only_w1 = rollout.cluster_phases(INV, [INV.hosts["esb-w1"]])
    assert [p.name for p in only_w1 if p.work(INV)] == ["workers"]


def test_the_load_balancer_is_its_own_last_phase():
    from tests.unit.helpers import base_data
    d = base_data()
    d["hosts"]["lb1"] = {"address": "192.168.1.30", "role": "lb"}
    inv = inventory(d)
    phases = {p.name: names(p.work(inv)) for p in rollout.cluster_phases(inv, list(inv.hosts.values()))}
    assert phases["lb"] == {"lb1": ["configure-lb"]}
    assert phases["certificates"] == {"lb1": ["create-certs"]}  # the balancer's certificates, made on it first


def test_phase_work_from_a_step():
    phase = rollout.cluster_phases(INV, list(INV.hosts.values()))[3]
    rest = [n for n in rollout.NODE_STEPS[rollout.NODE_STEPS.index("patch-axis2"):] if by_name(n).enabled(INV)]
    assert rest[:3] == ["patch-axis2", "set-hostnames", "set-proxyports"]
    assert names(phase.work(INV, "patch-axis2")) == {"esb-mgr": rest}


def test_roles_are_checked():
    with pytest.raises(ConfigError, match="esb-w1 is a worker \\(use setup-worker\\)"):
        rollout.check_roles([INV.hosts["esb-mgr"], INV.hosts["esb-w1"]], "manager", "setup-manager")
    with pytest.raises(ConfigError, match="db1 is a db$"):
        rollout.check_roles([INV.hosts["db1"]], "worker", "setup-worker")


@pytest.mark.parametrize("state,expected,note", [
    (None, (0, None), "no stopped setup-cluster recorded"),
    ({"status": "completed", "run_id": "R1"}, None, "nothing to resume"),
    ({"status": "stopped", "run_id": "R1", "phase": "workers", "step": "mount-registry", "inventory_sha256": ""},
     (4, "mount-registry"), "resuming run R1 at phase workers, step mount-registry"),
    ({"status": "stopped", "run_id": "R1", "phase": "workers", "step": "mount-registry", "inventory_sha256": "x"},
     (4, None), "changed since run R1"),
    ({"status": "stopped", "phase": "gone"}, (0, None), "unknown"),
])
def test_resume_point(state, expected, note):
    rep = Reporter("patch", as_json=True)
    phases = rollout.cluster_phases(INV, list(INV.hosts.values()))
    assert rollout.resume_point(state, phases, INV, rep) == expected
    assert note in rep.extra["notes"][0]


def test_state_file_is_replaced_atomically_and_a_bad_one_is_ignored(tmp_path):
    path = tmp_path / ".esb-state" / "setup-cluster.json"
    save_state(path, {"status": "stopped", "phase": "svn"})
    save_state(path, {"status": "completed"})
    assert load_state(path) == {"status": "completed"}
    assert [p.name for p in path.parent.iterdir()] == ["setup-cluster.json"]  # no temp file left
    path.write_text("{not json")
    assert load_state(path) is None
    assert load_state(tmp_path / "absent.json") is None
