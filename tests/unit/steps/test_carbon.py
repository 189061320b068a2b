"""Pure planners of enable-depsync and set-hostnames on the shipped carbon.xml bytes."""
from __future__ import annotations

import dataclasses

import pytest
from lxml import etree

from tasks.secrets import MASK, SecretMissing, Secrets
from tasks.steps.base import plan_xml
from tasks.engine.context import StepError
from tasks.steps.carbon import CARBON, plan_depsync, plan_hostnames
from tasks.formats.xmldoc import XmlDoc
from tests.unit.helpers import base_data, changed_lines, inventory, run_planner, shipped
from tasks.steps.carbon import EnableDepsync, SetHostnames
from tests.memnode import product_node
from tests.unit.helpers import patch_on, plan_on, whats

PW = "S3cret&<pw>"
SECRETS = Secrets({"SVN_PASSWORD": PW})
NS = "{http://wso2.org/projects/carbon/carbon.xml}"


def active(data: bytes, path: str) -> str | None:
    """Text of an active element of carbon.xml (default namespace), or None."""
    root = etree.fromstring(data)
    return root.findtext("/".join(NS + p for p in path.split("/")))


def depsync(host: str, **kw):
    return run_planner(CARBON, plan_depsync, host, secrets=SECRETS, **kw)


# ---------------------------------------------------------------- enable-depsync

@pytest.mark.parametrize("host,autocommit", [("esb-mgr", "true"), ("esb-w1", "false"), ("esb-w2", "false")])
def test_depsync_values(host, autocommit):
    _, fc = depsync(host)
    want = {"Enabled": "true", "AutoCommit": autocommit, "AutoCheckout": "true", "RepositoryType": "svn",
            "SvnUrl": "svn://192.168.1.12/depsyncrepo/", "SvnUser": "repouser", "SvnPassword": PW,
            "SvnUrlAppendTenantId": "true"}
    for tag, value in want.items():
        assert active(fc.new, f"DeploymentSynchronizer/{tag}") == value


def test_depsync_manager_diff_is_the_owned_lines_and_masks_the_password():
    edits, fc = depsync("esb-mgr")
    assert changed_lines(fc) == [
        "-        <Enabled>false</Enabled>",
        "-        <AutoCommit>false</AutoCommit>",
        "+        <Enabled>true</Enabled>",
        "+        <AutoCommit>true</AutoCommit>",
        "-        <SvnUrl>http://svnrepo.example.com/repos/</SvnUrl>",
        "-        <SvnUser>username</SvnUser>",
        f"-        <SvnPassword>{MASK}</SvnPassword>",
        "+        <SvnUrl>svn://192.168.1.12/depsyncrepo/</SvnUrl>",
        "+        <SvnUser>repouser</SvnUser>",
        f"+        <SvnPassword>{MASK}</SvnPassword>",
    ]
    diff = fc.diff()
    assert PW not in diff and "S3cret&amp;&lt;pw&gt;" not in diff and ">password<" not in diff
    assert b"<SvnPassword>S3cret&amp;&lt;pw&gt;</SvnPassword>" in fc.new
    pw_items = [i for i in edits.items if i.what.endswith("SvnPassword")]
    assert pw_items[0].secret and pw_items[0].as_dict()["wanted"] == MASK and pw_items[0].as_dict()["actual"] == MASK
    assert all(PW not in i.line() and "'password'" not in i.line() for i in edits.items)


def test_depsync_worker_keeps_autocommit_false():
    edits, fc = depsync("esb-w1")
    assert "-        <AutoCommit>false</AutoCommit>" not in changed_lines(fc)
    assert [i.what for i in edits.items] == ["DeploymentSynchronizer/" + t for t in
                                             ("Enabled", "SvnUrl", "SvnUser", "SvnPassword")]


def test_depsync_leaves_the_commented_registry_example_a_comment():
    _, fc = depsync("esb-mgr")
    old, new = shipped(CARBON).decode("latin-1"), fc.new.decode("latin-1")
    example = old[old.index("<!--<DeploymentSynchronizer>"):]
    example = example[:example.index("-->") + 3]
    assert example in new
    assert len(etree.fromstring(fc.new).findall(NS + "DeploymentSynchronizer")) == 1


def test_depsync_is_idempotent():
    _, fc = depsync("esb-mgr")
    again, _ = depsync("esb-mgr", data=fc.new)
    assert again.items == [] and not again.doc.changed


def test_depsync_new_password_is_drift_and_both_values_masked():
    _, fc = depsync("esb-w2")
    other = Secrets({"SVN_PASSWORD": "another-one"})
    edits, fc2 = run_planner(CARBON, plan_depsync, "esb-w2", secrets=other, data=fc.new)
    assert [i.what for i in edits.items] == ["DeploymentSynchronizer/SvnPassword"]
    assert PW not in fc2.diff() and "another-one" not in fc2.diff()
    assert "S3cret&amp;&lt;pw&gt;" not in fc2.diff()


def test_depsync_without_svn_password_fails_clearly():
    with pytest.raises(SecretMissing, match="SVN_PASSWORD is not set"):
        run_planner(CARBON, plan_depsync, "esb-mgr", secrets=Secrets({}))


def test_depsync_without_svn_url_fails_clearly():
    inv = inventory()
    inv = dataclasses.replace(inv, svn=dataclasses.replace(inv.svn, url=""))
    with pytest.raises(StepError, match=r"\[svn\]\.url is not set"):
        run_planner(CARBON, plan_depsync, "esb-mgr", inv=inv, secrets=SECRETS)


def test_depsync_refuses_a_file_without_an_active_section():
    text = shipped(CARBON).decode("latin-1")
    start = text.index("    <DeploymentSynchronizer>")
    end = text.index("</DeploymentSynchronizer>", start) + len("</DeploymentSynchronizer>")
    data = (text[:start] + text[end:]).encode("latin-1")
    with pytest.raises(StepError, match="expected one active <DeploymentSynchronizer>, found 0"):
        run_planner(CARBON, plan_depsync, "esb-mgr", secrets=SECRETS, data=data)


def test_depsync_adds_missing_children_in_guide_order():
    text = shipped(CARBON).decode("latin-1")
    for tag in ("SvnUser", "SvnPassword"):
        line = next(ln for ln in text.splitlines(keepends=True) if f"<{tag}>" in ln and "        <" in ln)
        text = text.replace(line, "", 1)
    edits, fc = depsync("esb-mgr", data=text.encode("latin-1"))
    new = fc.new.decode("latin-1")
    i = new.index("<SvnUrl>")
    assert new[i:].split("\n")[1:3] == ["        <SvnUser>repouser</SvnUser>",
                                        "        <SvnPassword>S3cret&amp;&lt;pw&gt;</SvnPassword>"]
    assert PW not in fc.diff()
    assert not plan_xml(fc.new, CARBON, plan_depsync, inventory().hosts["esb-mgr"], inventory(), SECRETS).items


# ---------------------------------------------------------------- set-hostnames

def test_hostnames_manager_uncomments_in_place():
    edits, fc = run_planner(CARBON, plan_hostnames, "esb-mgr")
    assert changed_lines(fc) == [
        "-    <!--HostName>www.wso2.org</HostName-->",
        "+    <HostName>esb.wso2.com</HostName>",
        "-    <!--MgtHostName>mgt.wso2.org</MgtHostName-->",
        "+    <MgtHostName>mgt.esb.wso2.com</MgtHostName>",
    ]
    assert active(fc.new, "HostName") == "esb.wso2.com"
    assert active(fc.new, "MgtHostName") == "mgt.esb.wso2.com"
    assert active(fc.new, "Ports/Offset") == "0"
    assert [(i.what, i.wanted, i.actual) for i in edits.items] == [
        ("HostName", "esb.wso2.com", None), ("MgtHostName", "mgt.esb.wso2.com", None)]


def test_hostnames_worker_leaves_mgt_hostname_alone():
    _, fc = run_planner(CARBON, plan_hostnames, "esb-w1")
    assert changed_lines(fc) == ["-    <!--HostName>www.wso2.org</HostName-->",
                                 "+    <HostName>esb.wso2.com</HostName>"]
    assert b"<!--MgtHostName>mgt.wso2.org</MgtHostName-->" in fc.new


def test_hostnames_worker_does_not_touch_an_existing_mgt_hostname():
    _, fc = run_planner(CARBON, plan_hostnames, "esb-mgr")
    edits, _ = run_planner(CARBON, plan_hostnames, "esb-w1", data=fc.new)
    assert edits.items == []


def test_hostnames_port_offset_per_host():
    d = base_data()
    d["hosts"]["esb-w2"]["port_offset"] = 2
    inv = inventory(d)
    _, fc = run_planner(CARBON, plan_hostnames, "esb-w2", inv=inv)
    assert "-        <Offset>0</Offset>" in changed_lines(fc)
    assert "+        <Offset>2</Offset>" in changed_lines(fc)
    assert active(fc.new, "Ports/Offset") == "2"


def test_hostnames_is_idempotent_and_keeps_the_declaration():
    _, fc = run_planner(CARBON, plan_hostnames, "esb-mgr")
    assert fc.new.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n\n<!--')
    again, _ = run_planner(CARBON, plan_hostnames, "esb-mgr", data=fc.new)
    assert again.items == []


def test_hostnames_inserts_when_neither_active_nor_commented():
    text = shipped(CARBON).decode("latin-1")
    for c in ("    <!--HostName>www.wso2.org</HostName-->\n", "    <!--MgtHostName>mgt.wso2.org</MgtHostName-->\n"):
        text = text.replace(c, "")
    _, fc = run_planner(CARBON, plan_hostnames, "esb-mgr", data=text.encode("latin-1"))
    assert changed_lines(fc) == ["+    <HostName>esb.wso2.com</HostName>",
                                 "+    <MgtHostName>mgt.esb.wso2.com</MgtHostName>"]
    new = fc.new.decode("latin-1")
    assert new.index("<Version>") < new.index("<HostName>") < new.index("<MgtHostName>")


def test_hostnames_corrects_a_wrong_active_value():
    text = shipped(CARBON).decode("latin-1").replace("<!--HostName>www.wso2.org</HostName-->",
                                                     "<HostName>old.example.com</HostName>")
    edits, fc = run_planner(CARBON, plan_hostnames, "esb-w1", data=text.encode("latin-1"))
    assert [(i.what, i.wanted, i.actual) for i in edits.items] == [("HostName", "esb.wso2.com", "old.example.com")]
    assert changed_lines(fc) == ["-    <HostName>old.example.com</HostName>", "+    <HostName>esb.wso2.com</HostName>"]


def test_carbon_parses_with_its_namespace():
    doc = XmlDoc(shipped(CARBON), CARBON)
    assert doc.ns == "http://wso2.org/projects/carbon/carbon.xml"
    assert doc.encoding.upper() == "ISO-8859-1"


def test_mgt_hostname_added_after_an_uncommented_hostname():
    text = shipped(CARBON).decode("latin-1").replace("    <!--MgtHostName>mgt.wso2.org</MgtHostName-->\n", "")
    _, fc = run_planner(CARBON, plan_hostnames, "esb-mgr", data=text.encode("latin-1"))
    assert changed_lines(fc) == ["-    <!--HostName>www.wso2.org</HostName-->",
                                 "+    <HostName>esb.wso2.com</HostName>",
                                 "+    <MgtHostName>mgt.esb.wso2.com</MgtHostName>"]


# ---------------------------------------------------------------- the steps on a node in memory (tests/memnode.py)

@pytest.mark.parametrize("host,first", [("esb-mgr", ["Enabled", "AutoCommit"]), ("esb-w1", ["Enabled"])])
def test_enable_depsync_plans_the_shipped_carbon_xml_and_a_patched_one_is_left_alone(host, first):
    inv = inventory()
    node = product_node(inv.hosts[host])
    plan, _ = plan_on(EnableDepsync(), node, inv)
    tags = [f"DeploymentSynchronizer/{t}" for t in (*first, "SvnUrl", "SvnUser", "SvnPassword")]
    assert whats(plan) == [(CARBON, t) for t in tags] + [(CARBON, "mode (holds a secret: no access for others)")]
    assert [f.path for f in plan.files] == [f"{inv.hosts[host].product_home}/{CARBON}"] and plan.files[0].mode == 0o640
    patch_on(EnableDepsync(), node, inv)
    assert node.stat(plan.files[0].path).mode & 0o7777 == 0o640
    again, _ = plan_on(EnableDepsync(), node, inv)
    assert not again and again.items == [] and again.files == []


@pytest.mark.parametrize("host,items", [("esb-mgr", ["HostName", "MgtHostName"]), ("esb-w1", ["HostName"])])
def test_set_hostnames_plans_the_shipped_carbon_xml_and_converges(host, items):
    inv = inventory()
    node = product_node(inv.hosts[host])
    plan, _ = plan_on(SetHostnames(), node, inv)
    assert whats(plan) == [(CARBON, w) for w in items]
    assert patch_on(SetHostnames(), node, inv) and node.written == [plan.files[0].path]
    assert not plan_on(SetHostnames(), node, inv)[0]
