"""patch-axis2 against three real sshd hosts: exact values, minimal diff, idempotence, verify, dry-run."""
from __future__ import annotations

import json

from tests.acceptance.util import diff_lines
from tests.lab import LAB_NET as NET, product_fixture

AXIS2 = "axis2/axis2.xml"


def test_patch_sets_guide_values_with_minimal_diff(lab):
    r = lab.fab("-H", "manager,workers", "patch-axis2")
    assert r.returncode == 0, r.stdout + r.stderr
    shipped = product_fixture() / "repository/conf" / AXIS2
    mgr = diff_lines(shipped, lab.hosts["esb-mgr"].conf(AXIS2))
    assert mgr == [
        '-                enable="false">', '+                enable="true">',
        '-        <parameter name="domain">wso2.carbon.domain</parameter>',
        '+        <parameter name="domain">wso2.esb.domain</parameter>',
        '-        <parameter name="localMemberHost">127.0.0.1</parameter>',
        f'+        <parameter name="localMemberHost">{NET}.2</parameter>',
        '+            <property name="subDomain" value="mgt"/>',
        '-                <hostName>127.0.0.1</hostName>', '-                <port>4000</port>',
        f'+                <hostName>{NET}.3</hostName>', '+                <port>4200</port>',
        '+            </member>', '+            <member>',
        f'+                <hostName>{NET}.4</hostName>', '+                <port>4300</port>',
    ]
    w2 = diff_lines(shipped, lab.hosts["esb-w2"].conf(AXIS2))
    assert f'+        <parameter name="localMemberHost">{NET}.4</parameter>' in w2
    assert '+        <parameter name="localMemberPort">4300</parameter>' in w2
    assert '+            <property name="subDomain" value="worker"/>' in w2
    assert '+        <parameter name="WSDLEPRPrefix" locked="false">http://esb.wso2.com:80</parameter>' in w2
    assert '+        <parameter name="WSDLEPRPrefix" locked="false">https://esb.wso2.com:443</parameter>' in w2
    assert f'+                <hostName>{NET}.2</hostName>' in w2 and '+                <port>4100</port>' in w2
    assert len(w2) == 17
    # the declaration and its encoding survive
    assert lab.hosts["esb-w1"].conf(AXIS2).read_bytes().startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n')


def test_second_run_changes_nothing_and_rewrites_nothing(lab):
    assert lab.fab("patch-axis2").returncode == 0
    before = lab.snapshot()
    r = lab.fab("patch-axis2")
    assert r.returncode == 0
    assert "changed" not in r.stdout.split("\n")[-2]
    assert r.stdout.count(": ok") == 3
    assert lab.snapshot() == before  # bytes and mtimes


def test_verify_reports_hand_edit_with_exit_2(lab):
    assert lab.fab("patch-axis2").returncode == 0
    assert lab.fab("patch-axis2", "--verify").returncode == 0
    f = lab.hosts["esb-w1"].conf(AXIS2)
    f.write_text(f.read_text(encoding="latin-1").replace(
        '<parameter name="domain">wso2.esb.domain</parameter>',
        '<parameter name="domain">wrong.domain</parameter>'), encoding="latin-1")
    before = lab.snapshot()
    r = lab.fab("patch-axis2", "--verify")
    assert r.returncode == 2, r.stdout
    assert ("[esb-w1] patch-axis2: drift" in r.stdout)
    assert ("repository/conf/axis2/axis2.xml: clustering/parameter[@name='domain']: "
            "wanted 'wso2.esb.domain', actual 'wrong.domain'") in r.stdout
    assert lab.snapshot() == before
    j = json.loads(lab.fab("patch-axis2", "--verify", "--json").stdout)
    assert j["hosts"]["esb-w1"]["patch-axis2"]["status"] == "drift"
    assert j["hosts"]["esb-mgr"]["patch-axis2"]["status"] == "ok"
    assert j["exit"] == 2
    # fields, not sentences (issue 31): the row as data, each item's file, what, wanted, actual
    assert j["mode"] == "verify" and j["tasks"] == ["patch-axis2"] and j["dry_run"] is False
    row = j["hosts"]["esb-w1"]["patch-axis2"]
    assert row["fields"] == {"host": "esb-w1", "step": "patch-axis2", "status": "drift",
                             "files": ["repository/conf/axis2/axis2.xml"]}, row["fields"]
    assert {"file": "repository/conf/axis2/axis2.xml", "what": "clustering/parameter[@name='domain']",
            "wanted": "wso2.esb.domain", "actual": "wrong.domain"} in row["items"]
    j = json.loads(lab.fab("-H", "esb-w1", "patch-axis2", "--dry-run", "--json").stdout)
    f = j["hosts"]["esb-w1"]["patch-axis2"]["fields"]
    assert j["mode"] == "dry-run" and j["dry_run"] is True and f["status"] == "changed", j
    assert f["changed_files"] == [str(lab.hosts["esb-w1"].conf(AXIS2))] and f["commands"] == [], f
    assert lab.snapshot() == before
    j = json.loads(lab.fab("-H", "esb-w1", "patch-axis2", "--json").stdout)
    f = j["hosts"]["esb-w1"]["patch-axis2"]["fields"]
    assert j["mode"] == "patch" and f["status"] == "changed" and f["changed_files"] == [str(lab.hosts["esb-w1"].conf(AXIS2))]
    j = json.loads(lab.fab("-H", "esb-w1", "patch-axis2", "--json").stdout)  # again: nothing to write
    assert j["hosts"]["esb-w1"]["patch-axis2"]["fields"]["changed_files"] == []


def test_dry_run_prints_diff_and_writes_nothing(lab):
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w1", "patch-axis2", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "-                enable=\"false\">" in r.stdout and "+                enable=\"true\">" in r.stdout
    assert "@@" in r.stdout
    assert lab.snapshot() == before


def test_targets_are_hosts_toml_names_only(lab):
    before = lab.snapshot()
    r = lab.fab("-H", "esb-mgr,nosuchhost", "patch-axis2")
    assert r.returncode == 1
    assert "unknown target 'nosuchhost'" in r.stderr and "esb-mgr" in r.stderr and "workers" in r.stderr
    assert lab.snapshot() == before
