"""enable-depsync and set-hostnames against three real sshd hosts: values, owned lines only,
idempotence, verify, dry-run, and the SVN password in no output of any mode."""
from __future__ import annotations

import json

from lxml import etree

from tests.acceptance.util import conf_diff, edit, run_clean, statuses

CARBON = "carbon.xml"
NS = "{http://wso2.org/projects/carbon/carbon.xml}"
PW = "Sv&n-P4ss<word>"
PW_XML = "Sv&amp;n-P4ss&lt;word&gt;"
SECRETS = (PW, PW_XML)


def carbon(lab, host: str, path: str) -> str | None:
    root = etree.fromstring(lab.hosts[host].conf(CARBON).read_bytes())
    return root.findtext("/".join(NS + p for p in path.split("/")))


def depsync(lab, *args):
    lab.write_env(SVN_PASSWORD=PW)
    return run_clean(lab, *args, secrets=SECRETS)


def depsync_lines(autocommit: bool, svn_url: str) -> list[str]:
    lines = ["-        <Enabled>false</Enabled>"]
    lines += ["-        <AutoCommit>false</AutoCommit>"] if autocommit else []
    lines += ["+        <Enabled>true</Enabled>"]
    lines += ["+        <AutoCommit>true</AutoCommit>"] if autocommit else []
    return lines + [
        "-        <SvnUrl>http://svnrepo.example.com/repos/</SvnUrl>",
        "-        <SvnUser>username</SvnUser>",
        "-        <SvnPassword>password</SvnPassword>",
        f"+        <SvnUrl>{svn_url}</SvnUrl>",
        "+        <SvnUser>repouser</SvnUser>",
        f"+        <SvnPassword>{PW_XML}</SvnPassword>",
    ]


# ---------------------------------------------------------------- enable-depsync

def test_depsync_sets_guide_values_with_owned_lines_only(lab):
    r = depsync(lab, "enable-depsync")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(": changed") == 3 and "[db1]" not in r.stdout
    url = f"svn://{lab.hosts['esb-mgr'].address}:{lab.svn_port}/depsyncrepo/"
    assert conf_diff(lab, "esb-mgr", CARBON) == depsync_lines(True, url)
    for w in ("esb-w1", "esb-w2"):
        assert conf_diff(lab, w, CARBON) == depsync_lines(False, url)
        assert carbon(lab, w, "DeploymentSynchronizer/AutoCommit") == "false"
    assert carbon(lab, "esb-mgr", "DeploymentSynchronizer/AutoCommit") == "true"
    assert carbon(lab, "esb-w1", "DeploymentSynchronizer/SvnPassword") == PW
    assert "DeploymentSynchronizer/SvnPassword: wanted '********', actual '********'" in r.stdout
    data = lab.hosts["esb-w1"].conf(CARBON).read_bytes()
    assert data.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n')
    assert b"<!--<DeploymentSynchronizer>\n        <Enabled>true</Enabled>" in data  # the example stays a comment


def test_depsync_second_run_ok_and_rewrites_nothing(lab):
    assert depsync(lab, "enable-depsync").returncode == 0
    before = lab.snapshot()
    r = depsync(lab, "enable-depsync")
    assert r.returncode == 0 and r.stdout.count(": ok") == 3, r.stdout
    assert lab.snapshot() == before


def test_depsync_verify_then_hand_edit_exits_2(lab):
    assert depsync(lab, "enable-depsync").returncode == 0
    assert depsync(lab, "enable-depsync", "--verify").returncode == 0
    edit(lab.hosts["esb-w2"].conf(CARBON), "<AutoCommit>false</AutoCommit>\n        <AutoCheckout>true</AutoCheckout>\n"
         "        <RepositoryType>", "<AutoCommit>true</AutoCommit>\n        <AutoCheckout>true</AutoCheckout>\n"
         "        <RepositoryType>")
    edit(lab.hosts["esb-mgr"].conf(CARBON), f"<SvnPassword>{PW_XML}</SvnPassword>",
         "<SvnPassword>typed-by-hand</SvnPassword>")
    before = lab.snapshot()
    r = depsync(lab, "enable-depsync", "--verify")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "[esb-w2] enable-depsync: drift (1 item)" in r.stdout
    assert ("repository/conf/carbon.xml: DeploymentSynchronizer/AutoCommit: wanted 'false', actual 'true'"
            in r.stdout)
    assert ("[esb-mgr] enable-depsync: drift (1 item)\n    repository/conf/carbon.xml: "
            "DeploymentSynchronizer/SvnPassword: wanted '********', actual '********'") in r.stdout
    assert "typed-by-hand" not in r.stdout
    j = depsync(lab, "enable-depsync", "--verify", "--json")
    assert j.returncode == 2
    assert statuses(j, "enable-depsync") == {"esb-mgr": "drift", "esb-w1": "ok", "esb-w2": "drift"}
    item = json.loads(j.stdout)["hosts"]["esb-mgr"]["enable-depsync"]["items"][0]
    assert item == {"file": "repository/conf/carbon.xml", "what": "DeploymentSynchronizer/SvnPassword",
                    "wanted": "********", "actual": "********"}
    assert "typed-by-hand" not in j.stdout
    assert lab.snapshot() == before


def test_depsync_dry_run_prints_masked_diff_and_writes_nothing(lab):
    before = lab.snapshot()
    for args in (("-H", "esb-mgr", "enable-depsync", "--dry-run"), ("enable-depsync", "--dry-run", "--json")):
        r = depsync(lab, *args)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "password" not in r.stdout.replace("SvnPassword", "")  # the old value is a secret too
        assert lab.snapshot() == before
    r = depsync(lab, "-H", "esb-mgr", "enable-depsync", "--dry-run")
    assert "[esb-mgr] enable-depsync: would change (6 items)" in r.stdout  # 5 values and the mode (0640)
    assert "-        <SvnPassword>********</SvnPassword>\n+        <SvnUrl>" in r.stdout
    assert "+        <SvnPassword>********</SvnPassword>\n         <SvnUrlAppendTenantId>" in r.stdout
    assert "+        <AutoCommit>true</AutoCommit>" in r.stdout and "@@" in r.stdout
    doc = json.loads(depsync(lab, "enable-depsync", "--dry-run", "--json").stdout)
    assert "<SvnPassword>********</SvnPassword>" in doc["hosts"]["esb-w1"]["enable-depsync"]["diff"]


def test_depsync_without_svn_password_fails_and_changes_nothing(lab):
    before = lab.snapshot()
    r = lab.fab("enable-depsync", env={"SVN_PASSWORD": ""})
    assert r.returncode == 1
    assert ("[esb-w1] enable-depsync: failed: SVN_PASSWORD is not set "
            "(put it in the environment or in .env beside hosts.toml)") in r.stdout
    assert r.stdout.count(": failed") == 3
    assert lab.snapshot() == before


def test_depsync_password_from_environment_wins_over_env_file(lab):
    lab.write_env(SVN_PASSWORD="from-dot-env")
    r = run_clean(lab, "-H", "esb-w1", "enable-depsync", env={"SVN_PASSWORD": PW},
                  secrets=SECRETS + ("from-dot-env",))
    assert r.returncode == 0, r.stdout + r.stderr
    assert carbon(lab, "esb-w1", "DeploymentSynchronizer/SvnPassword") == PW


# ---------------------------------------------------------------- set-hostnames

def test_hostnames_uncommented_in_place(lab):
    r = lab.fab("set-hostnames")
    assert r.returncode == 0, r.stdout + r.stderr
    assert conf_diff(lab, "esb-mgr", CARBON) == [
        "-    <!--HostName>www.wso2.org</HostName-->", "+    <HostName>esb.wso2.com</HostName>",
        "-    <!--MgtHostName>mgt.wso2.org</MgtHostName-->", "+    <MgtHostName>mgt.esb.wso2.com</MgtHostName>"]
    for w in ("esb-w1", "esb-w2"):
        assert conf_diff(lab, w, CARBON) == [
            "-    <!--HostName>www.wso2.org</HostName-->", "+    <HostName>esb.wso2.com</HostName>"]
        assert carbon(lab, w, "MgtHostName") is None
    assert carbon(lab, "esb-mgr", "HostName") == "esb.wso2.com"
    assert carbon(lab, "esb-mgr", "MgtHostName") == "mgt.esb.wso2.com"
    assert carbon(lab, "esb-w2", "Ports/Offset") == "0"


def test_hostnames_port_offset_from_the_host(lab):
    text = lab.hosts_toml.read_text().replace('[hosts.esb-w2]\n', '[hosts.esb-w2]\nport_offset = 1\n')
    lab.write_toml(text)
    r = lab.fab("-H", "esb-w2", "set-hostnames")
    assert r.returncode == 0, r.stdout + r.stderr
    assert conf_diff(lab, "esb-w2", CARBON)[2:] == ["-        <Offset>0</Offset>", "+        <Offset>1</Offset>"]


def test_hostnames_second_run_and_verify(lab):
    assert lab.fab("set-hostnames").returncode == 0
    before = lab.snapshot()
    r = lab.fab("set-hostnames")
    assert r.returncode == 0 and r.stdout.count(": ok") == 3, r.stdout
    assert lab.snapshot() == before
    assert lab.fab("set-hostnames", "--verify").returncode == 0
    edit(lab.hosts["esb-mgr"].conf(CARBON), "<MgtHostName>mgt.esb.wso2.com</MgtHostName>",
         "<MgtHostName>other.example.com</MgtHostName>")
    before = lab.snapshot()
    r = lab.fab("set-hostnames", "--verify")
    assert r.returncode == 2
    assert ("[esb-mgr] set-hostnames: drift (1 item)\n    repository/conf/carbon.xml: MgtHostName: "
            "wanted 'mgt.esb.wso2.com', actual 'other.example.com'") in r.stdout
    assert lab.snapshot() == before


def test_hostnames_dry_run_prints_diff_and_writes_nothing(lab):
    before = lab.snapshot()
    r = lab.fab("-H", "workers", "set-hostnames", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("-    <!--HostName>www.wso2.org</HostName-->\n+    <HostName>esb.wso2.com</HostName>") == 2
    assert "MgtHostName" not in r.stdout
    assert lab.snapshot() == before


def test_both_carbon_steps_together_touch_only_their_lines(lab):
    lab.write_env(SVN_PASSWORD=PW)
    r = run_clean(lab, "-H", "esb-w1", "set-hostnames", "enable-depsync", secrets=SECRETS)
    assert r.returncode == 0, r.stdout + r.stderr
    url = f"svn://{lab.hosts['esb-mgr'].address}:{lab.svn_port}/depsyncrepo/"
    assert conf_diff(lab, "esb-w1", CARBON) == [
        "-    <!--HostName>www.wso2.org</HostName-->", "+    <HostName>esb.wso2.com</HostName>",
    ] + depsync_lines(False, url)
