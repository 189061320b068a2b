"""tasks/commands/lifecycle/balancer.py on nodes in memory (tests/memnode.py): the run's connections (Nodes) are
all the balancer and node_states need: a worker marked down and back in the upstreams, nginx -t before each reload
and the files put back when it refuses, the drain markers, the serving workers."""
from __future__ import annotations

import pytest

from tasks.commands.lifecycle.balancer import Balancer, node_states
from tasks.commands.lifecycle.commands import last_worker
from tasks.commands.lifecycle.status import balancer_view
from tasks.engine.context import StepError
from tasks.formats.nginxconf import marked_down
from tasks.steps.loadbalancer import FILES, ConfigureLb, drain_marker
from tests.memnode import MemoryNode, MemoryRun
from tests.unit.helpers import base_data, inventory, patch_on
from tests.unit.steps.test_loadbalancer import CONF, lb_node


def cluster(test_exit: int = 0):
    data = base_data()
    data["hosts"]["lb1"] = {"address": "192.168.1.30", "role": "lb"}
    inv = inventory(data)
    lb = lb_node(inv)
    patch_on(ConfigureLb(), lb, inv)
    lb.answers.clear()
    lb.commands.clear()
    lb.on(r"-t$", (test_exit, "", "" if not test_exit else "[emerg] no"))
    lb.on(r"-s reload$", (0, "", ""))
    nodes = {"lb1": lb}
    for name in ("esb-mgr", "esb-w1", "esb-w2"):
        node = nodes[name] = MemoryNode(inv.hosts[name])
        home = node.host.product_home
        node.on(r"^sh -c .*date \+%s", (0, f"1000\npid 7\nmtime 990\nstate S\netimes 10\ncmd java -Dcarbon.home={home} "
                                           f"org.wso2.carbon.bootstrap.Bootstrap\n", ""))
    return inv, MemoryRun(inv, nodes), lb


def test_a_worker_goes_out_of_every_upstream_and_back_with_nginx_tested_and_reloaded():
    inv, run, lb = cluster()
    balancer = Balancer(run)
    w1 = inv.hosts["esb-w1"]
    assert balancer.mark(w1, down=True) == ["lb1"]
    assert balancer.down() == {"esb-w1"}
    assert all(marked_down(lb.data(f"{CONF}/{n}")) <= Balancer.servers(w1) for n in FILES)
    assert [c for c, _ in lb.commands] == ["nginx -c /etc/nginx/nginx.conf -t", "nginx -c /etc/nginx/nginx.conf -s reload"]
    assert lb.backups == []  # a down mark is reconciled from the truth, never backed up
    states, errors = node_states(run, inv.esb_nodes)
    assert errors == {} and all(s.running for s in states.values())
    assert balancer.serving(states) == ["esb-w2"]
    assert last_worker([inv.hosts["esb-w2"]], balancer) == (["esb-w2"], [])
    assert balancer.mark(w1, down=False) == ["lb1"] and balancer.down() == set()
    assert balancer.mark(w1, down=False) == []  # nothing to change: nginx is not asked again
    assert len(lb.commands) == 4


def test_a_refused_mark_puts_the_upstreams_back_and_an_unreachable_host_is_an_answer():
    inv, run, lb = cluster(test_exit=1)
    before = {n: lb.data(f"{CONF}/{n}") for n in FILES}
    with pytest.raises(StepError, match="nginx -t on lb1 refused the upstreams with esb-w1 down"):
        Balancer(run).mark(inv.hosts["esb-w1"], down=True)
    assert {n: lb.data(f"{CONF}/{n}") for n in FILES} == before
    del run.nodes["esb-w2"]
    states, errors = node_states(run, inv.esb_nodes)
    assert sorted(states) == ["esb-mgr", "esb-w1"] and list(errors) == ["esb-w2"]


def test_the_drain_markers_and_the_balancers_view():
    inv, run, lb = cluster()
    balancer = Balancer(run)
    balancer.set_drained(inv.hosts["esb-w2"], True)
    assert lb.stat(drain_marker(inv.hosts["lb1"], "esb-w2")).mode & 0o777 == 0o600
    assert balancer_view(run) == (set(), {"esb-w2"})
    balancer.set_drained(inv.hosts["esb-w2"], False)
    assert balancer.drained() == set()
    del run.nodes["lb1"]
    assert balancer_view(run) is None
