"""Pure planner of set-proxyports on the shipped catalina-server.xml bytes."""
from __future__ import annotations

import pytest
from lxml import etree

from tasks.engine.context import StepError
from tasks.steps.catalina import CATALINA, SetProxyPorts, plan_catalina
from tests.unit.helpers import base_data, changed_lines, inventory, run_planner, shipped
from tests.memnode import product_node
from tests.unit.helpers import patch_on, plan_on, whats


def proxy_ports(data: bytes) -> dict[str, str | None]:
    root = etree.fromstring(data)
    return {c.get("port"): c.get("proxyPort") for c in root.iter("Connector")}


def test_proxy_ports_set_on_their_own_lines():
    edits, fc = run_planner(CATALINA, plan_catalina, "esb-mgr")
    assert proxy_ports(fc.new) == {"9763": "80", "9443": "443"}
    assert changed_lines(fc) == ['+                proxyPort="80"', '+                proxyPort="443"']
    assert [(i.what, i.wanted, i.actual) for i in edits.items] == [
        ("Connector[@port='9763']/@proxyPort", "80", None),
        ("Connector[@port='9443']/@proxyPort", "443", None)]
    new = fc.new.decode()
    assert '                port="9763"\n                proxyPort="80"\n                redirectPort="9443" \n' in new
    assert fc.new.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n")


def test_proxy_ports_follow_the_inventory_and_correct_old_values():
    d = base_data()
    d["cluster"].update(lb_http_port=8080, lb_https_port=8443)
    _, first = run_planner(CATALINA, plan_catalina, "esb-mgr")
    edits, fc = run_planner(CATALINA, plan_catalina, "esb-mgr", inv=inventory(d), data=first.new)
    assert changed_lines(fc) == ['-                proxyPort="80"', '+                proxyPort="8080"',
                                 '-                proxyPort="443"', '+                proxyPort="8443"']
    assert edits.items[0].actual == "80"


def test_proxy_ports_idempotent():
    _, fc = run_planner(CATALINA, plan_catalina, "esb-mgr")
    again, _ = run_planner(CATALINA, plan_catalina, "esb-mgr", data=fc.new)
    assert again.items == [] and not again.doc.changed


def test_commented_examples_stay_comments():
    _, fc = run_planner(CATALINA, plan_catalina, "esb-mgr")
    assert fc.new.count(b'\tproxyPort="80"\n    -->') == 1
    assert fc.new.count(b'\tproxyPort="443"\n    -->') == 1


def test_missing_connector_is_refused():
    data = shipped(CATALINA).replace(b'port="9443"', b'port="9444"')
    with pytest.raises(StepError, match='expected one <Connector port="9443">, found 0'):
        run_planner(CATALINA, plan_catalina, "esb-mgr", data=data)


def test_default_targets_are_the_manager():
    assert [h.name for h in SetProxyPorts().default_targets(inventory())] == ["esb-mgr"]


# ---------------------------------------------------------------- the step on a node in memory (tests/memnode.py)

def test_set_proxyports_plans_the_shipped_catalina_server_xml_and_converges():
    inv = inventory()
    node = product_node(inv.hosts["esb-mgr"])
    plan, _ = plan_on(SetProxyPorts(), node, inv)
    assert whats(plan) == [(CATALINA, "Connector[@port='9763']/@proxyPort"),
                           (CATALINA, "Connector[@port='9443']/@proxyPort")]
    patch_on(SetProxyPorts(), node, inv)
    assert proxy_ports(node.data(plan.files[0].path)) == {"9763": "80", "9443": "443"}
    assert not plan_on(SetProxyPorts(), node, inv)[0]
