"""Pure planner of patch-axis2 on the shipped axis2.xml bytes: values, owned lines, idempotence, members."""
from __future__ import annotations

import pytest
from lxml import etree

from tasks.steps.axis2 import AXIS2, PatchAxis2, plan_axis2, wanted_members
from tasks.engine.context import StepError
from tests.unit.helpers import base_data, changed_lines, inventory, run_planner, shipped
from tests.memnode import product_node
from tests.unit.helpers import patch_on, plan_on, whats


def clustering(data: bytes) -> dict:
    """What a reader of the file finds in <clustering>, read with lxml independently of the planner."""
    cl = etree.fromstring(data).find("clustering")
    param = lambda name: cl.findtext(f"parameter[@name='{name}']")
    sub = cl.find("parameter[@name='properties']/property[@name='subDomain']")
    return {"enable": cl.get("enable"), "scheme": param("membershipScheme"), "domain": param("domain"),
            "host": param("localMemberHost"), "port": param("localMemberPort"),
            "members": [(m.findtext("hostName").strip(), m.findtext("port").strip())
                        for m in cl.find("members").findall("member")],
            "subDomain": None if sub is None else sub.get("value")}


def epr_prefixes(data: bytes) -> dict[str, str | None]:
    root = etree.fromstring(data)
    return {tr.get("name"): tr.findtext("parameter[@name='WSDLEPRPrefix']")
            for tr in root.findall("transportReceiver") if tr.get("name") in ("http", "https")}


def test_manager_gets_the_guide_values_in_fifteen_owned_lines():
    edits, fc = run_planner(AXIS2, plan_axis2, "esb-mgr")
    assert clustering(fc.new) == {
        "enable": "true", "scheme": "wka", "domain": "wso2.esb.domain", "host": "192.168.1.12", "port": "4100",
        "members": [("192.168.1.13", "4200"), ("192.168.1.14", "4300")], "subDomain": "mgt"}
    assert changed_lines(fc) == [
        '-                enable="false">', '+                enable="true">',
        '-        <parameter name="domain">wso2.carbon.domain</parameter>',
        '+        <parameter name="domain">wso2.esb.domain</parameter>',
        '-        <parameter name="localMemberHost">127.0.0.1</parameter>',
        '+        <parameter name="localMemberHost">192.168.1.12</parameter>',
        '+            <property name="subDomain" value="mgt"/>',
        '-                <hostName>127.0.0.1</hostName>', '-                <port>4000</port>',
        '+                <hostName>192.168.1.13</hostName>', '+                <port>4200</port>',
        '+            </member>', '+            <member>',
        '+                <hostName>192.168.1.14</hostName>', '+                <port>4300</port>',
    ]
    assert epr_prefixes(fc.new) == {"http": None, "https": None}  # the manager's stay commented out
    assert fc.new.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n')


def test_worker_lists_the_manager_and_gets_wsdl_epr_prefixes():
    edits, fc = run_planner(AXIS2, plan_axis2, "esb-w2")
    got = clustering(fc.new)
    assert (got["host"], got["port"], got["members"], got["subDomain"]) == \
        ("192.168.1.14", "4300", [("192.168.1.12", "4100")], "worker")
    assert epr_prefixes(fc.new) == {"http": "http://esb.wso2.com:80", "https": "https://esb.wso2.com:443"}
    assert [i.what for i in edits.items][-2:] == ["transportReceiver[@name='http']/parameter[@name='WSDLEPRPrefix']",
                                                  "transportReceiver[@name='https']/parameter[@name='WSDLEPRPrefix']"]


@pytest.mark.parametrize("host", ["esb-mgr", "esb-w1"])
def test_a_second_plan_finds_nothing(host):
    _, fc = run_planner(AXIS2, plan_axis2, host)
    again, _ = run_planner(AXIS2, plan_axis2, host, data=fc.new)
    assert again.items == [] and not again.doc.changed


def test_members_follow_the_inventory_value_by_value():
    """A worker dropped from hosts.toml is dropped from the manager's members; the others are edited in place."""
    _, first = run_planner(AXIS2, plan_axis2, "esb-mgr")
    d = base_data()
    del d["hosts"]["esb-w2"]
    d["hosts"]["esb-w1"]["member_port"] = 4250
    edits, fc = run_planner(AXIS2, plan_axis2, "esb-mgr", inv=inventory(d), data=first.new)
    assert clustering(fc.new)["members"] == [("192.168.1.13", "4250")]
    assert [(i.what, i.wanted, i.actual) for i in edits.items] == [
        ("clustering/members", "192.168.1.13:4250", "192.168.1.13:4200, 192.168.1.14:4300")]
    lines = changed_lines(fc)
    assert sorted(ln for ln in lines if ln[0] == "+") == ['+                <port>4250</port>']
    assert sorted(ln for ln in lines if ln[0] == "-") == sorted([
        '-                <port>4200</port>', '-            <member>', '-                <hostName>192.168.1.14</hostName>',
        '-                <port>4300</port>', '-            </member>'])


def test_each_node_advertises_its_own_member_host_not_its_ssh_address():
    d = base_data()
    d["hosts"]["esb-w1"]["member_host"] = "10.0.0.13"
    inv = inventory(d)
    _, fc = run_planner(AXIS2, plan_axis2, "esb-w1", inv=inv)
    assert clustering(fc.new)["host"] == "10.0.0.13"
    assert ("10.0.0.13", "4200") in wanted_members(inv.hosts["esb-mgr"], inv)


def test_a_hand_edited_value_is_the_only_item():
    _, fc = run_planner(AXIS2, plan_axis2, "esb-w1")
    edited = fc.new.replace(b'<parameter name="domain">wso2.esb.domain<', b'<parameter name="domain">other<')
    edits, again = run_planner(AXIS2, plan_axis2, "esb-w1", data=edited)
    assert [(i.what, i.wanted, i.actual) for i in edits.items] == [
        ("clustering/parameter[@name='domain']", "wso2.esb.domain", "other")]
    assert again.new == fc.new


@pytest.mark.parametrize("tag,message", [
    (b"clustering", "no <clustering> element"),
    (b"members", "no clustering/<members> element"),
])
def test_a_file_without_the_owned_elements_is_refused(tag, message):
    other = b"x" + tag[1:]
    data = shipped(AXIS2).replace(b"<" + tag + b">", b"<" + other + b">").replace(b"<" + tag + b" ", b"<" + other + b" ")
    data = data.replace(b"</" + tag + b">", b"</" + other + b">")
    with pytest.raises(StepError, match=message):
        run_planner(AXIS2, plan_axis2, "esb-mgr", data=data)


def test_default_targets_are_the_esb_nodes():
    assert [h.name for h in PatchAxis2().default_targets(inventory())] == ["esb-mgr", "esb-w1", "esb-w2"]


# ---------------------------------------------------------------- the step on a node in memory (tests/memnode.py)

CL = "clustering/parameter[@name='{}']"
SUB = "clustering/parameter[@name='properties']/property[@name='subDomain']/@value"


@pytest.mark.parametrize("host,items", [
    ("esb-mgr", ["clustering/@enable", CL.format("domain"), CL.format("localMemberHost"), "clustering/members", SUB]),
    ("esb-w1", ["clustering/@enable", CL.format("domain"), CL.format("localMemberHost"), CL.format("localMemberPort"),
                "clustering/members", SUB, "transportReceiver[@name='http']/parameter[@name='WSDLEPRPrefix']",
                "transportReceiver[@name='https']/parameter[@name='WSDLEPRPrefix']"]),
])
def test_patch_axis2_plans_the_shipped_axis2_xml_and_converges(host, items):
    inv = inventory()
    node = product_node(inv.hosts[host])
    plan, _ = plan_on(PatchAxis2(), node, inv)
    assert whats(plan) == [(AXIS2, w) for w in items]
    patch_on(PatchAxis2(), node, inv)
    assert clustering(node.data(plan.files[0].path))["members"] == wanted_members(inv.hosts[host], inv)
    assert not plan_on(PatchAxis2(), node, inv)[0]
