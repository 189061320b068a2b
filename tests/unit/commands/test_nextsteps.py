"""tasks/commands/nextsteps.py: which step fixes a cluster finding, and the shortest command list after a scale out."""
from __future__ import annotations

from tasks.commands.nextsteps import command_list, fixing_step, with_fix
from tasks.engine.plan import Item
from tasks.engine.report import StepResult
from tasks.rules import AXIS2, CARBON, REGISTRY
from tasks.steps import STEPS

ORDER = STEPS


def test_each_file_part_is_fixed_by_the_step_that_writes_it():
    assert fixing_step(Item(AXIS2, "clustering/members", "a", "b")) == "patch-axis2"
    assert fixing_step(Item(CARBON, "DeploymentSynchronizer/SvnUrl", "a", "b")) == "enable-depsync"
    assert fixing_step(Item(CARBON, "Ports/Offset", "1", "0")) == "set-hostnames"
    assert fixing_step(Item(REGISTRY, "remoteInstance/cacheId", "a", "b")) == "mount-registry"
    assert fixing_step(Item("hosts file", "x", "a", "b")) is None
    assert with_fix("esb-mgr", Item(AXIS2, "m", "a", "b")).line().endswith("(fix: fab -H esb-mgr patch-axis2)")


def test_a_scale_out_gives_one_line_per_host_set_in_guide_order():
    w3 = [StepResult("esb-w3", s, "drift") for s in ("map-hosts", "install-jdbc-driver", "configure-datasources",
                                                     "patch-axis2", "set-hostnames", "set-worker-profile")]
    mgr = StepResult("esb-mgr", "cluster", "drift", [with_fix("esb-mgr", Item(AXIS2, "clustering/members", "a", "b"))])
    other = [StepResult("db1", "create-dbs", "drift"), StepResult("lb1", "configure-lb", "drift"),
             StepResult("esb-w1", "patch-axis2", "ok")]
    hosts = ["esb-mgr", "esb-w1", "esb-w2", "esb-w3", "db1", "lb1"]
    assert command_list(w3 + [mgr] + other, ORDER, hosts) == [
        "fab -H db1 create-dbs",
        "fab -H esb-mgr patch-axis2",
        "fab -H esb-w3 map-hosts install-jdbc-driver configure-datasources patch-axis2 set-hostnames "
        "set-worker-profile",
        "fab -H lb1 configure-lb"]
    assert command_list(other, ORDER, hosts) == ["fab -H db1 create-dbs", "fab -H lb1 configure-lb"]
    # knowing the roles: the new worker's six steps are what setup-worker runs (issue 31), two steps stay two
    roles = {"esb-mgr": "manager", "esb-w1": "worker", "esb-w3": "worker", "db1": "db", "lb1": "lb"}
    assert command_list(w3 + [mgr] + other, ORDER, hosts, roles)[2] == "fab -H esb-w3 setup-worker"
    assert command_list(w3[3:5], ORDER, hosts, roles) == ["fab -H esb-w3 patch-axis2 set-hostnames"]


def test_a_step_whose_patch_would_refuse_is_never_recommended_the_command_its_items_name_is():
    """create-keystore on a node whose server has run (the shipped key back after rollback --all): verify must not
    keep recommending it; rotate-keystore, which its items name, is recommended instead (issue 30)."""
    refused = StepResult("esb-w1", "create-keystore", "drift",
                         [Item("repository/resources/security/wso2carbon.jks", "private key", "the node's own",
                               "the shipped one", fix="fab -H esb-w1 rotate-keystore")],
                         notes=["patch would refuse: the server on esb-w1 has run"])
    fine = StepResult("esb-w2", "create-keystore", "drift", [Item("wso2carbon.jks", "private key", "own", "shipped")])
    todo = command_list([refused, fine], ORDER, ["esb-w1", "esb-w2"])
    assert todo == ["fab -H esb-w2 create-keystore", "fab -H esb-w1 rotate-keystore"]
