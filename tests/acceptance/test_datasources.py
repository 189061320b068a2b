"""configure-datasources against real sshd hosts: the guide's datasources, owned lines only, idempotence,
verify after a hand edit, dry-run, and WSO2_DB_PASSWORD in no output of any mode."""
from __future__ import annotations

import json
import re

from lxml import etree

from tests.acceptance.dbconf import DB_PW, assert_hand_edit_is_drift, assert_idempotent, run_db, use_database
from tests.acceptance.util import conf_diff

MASTER = "datasources/master-datasources.xml"
STEP = "configure-datasources"
URL = "jdbc:mysql://carbondb.mysql-wso2.com:3306/{}?autoReconnect=true"


def datasources(lab, host: str) -> dict[str, tuple]:
    root = etree.fromstring(lab.hosts[host].conf(MASTER).read_bytes())
    return {d.findtext("name"): (d.findtext("jndiConfig/name"), d.findtext("definition/configuration/url"),
                                 d.findtext("definition/configuration/password")) for d in root.iter("datasource")}


def test_patch_reaches_guide_state_with_owned_lines_only(lab):
    use_database(lab)
    r = run_db(lab, STEP, "--verbose")  # every item: each masked (a default run counts them per file)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(": changed (11 items)") == 3 and "[db1]" not in r.stdout  # 10 values and the mode
    for host, local in (("esb-mgr", "REGISTRY_LOCAL1"), ("esb-w1", "REGISTRY_LOCAL2"), ("esb-w2", "REGISTRY_LOCAL2")):
        assert datasources(lab, host) == {
            local: ("jdbc/WSO2CarbonDB", URL.format(local), DB_PW),
            "REGISTRY_DB": ("jdbc/WSO2RegistryDB", URL.format("REGISTRY_DB"), DB_PW),
            "WSO2_USER_DB": ("jdbc/WSO2UMDB", URL.format("WSO2_USER_DB"), DB_PW)}
        lines = conf_diff(lab, host, MASTER)
        assert [ln for ln in lines if ln.startswith("-")] == [
            "-            <name>WSO2_CARBON_DB</name>",
            "-            <description>The datasource used for registry and user manager</description>",
            "-                    <url>jdbc:h2:repository/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=60000</url>",
            "-                    <username>wso2carbon</username>",
            "-                    <password>wso2carbon</password>",
            "-                    <driverClassName>org.h2.Driver</driverClassName>"]
        assert len(lines) == 6 + 6 + 40  # six values edited in place, two 20-line datasources added
        assert conf_diff(lab, host, "user-mgt.xml") == [
            '-            <Property name="dataSource">jdbc/WSO2CarbonDB</Property>',
            '+            <Property name="dataSource">jdbc/WSO2UMDB</Property>']
        assert conf_diff(lab, host, "registry.xml") == [
            '+    <dbConfig name="sharedregistry">', '+        <dataSource>jdbc/WSO2RegistryDB</dataSource>',
            '+    </dbConfig>']
        reg = lab.hosts[host].conf("registry.xml").read_bytes()
        assert reg.count(b"\n") == reg.count(b"\r\n")  # CRLF survives
    assert "datasource[name='REGISTRY_DB']/definition" not in r.stdout  # a missing block is one item
    assert "definition/configuration/password: wanted '********', actual '********'" in r.stdout


def test_second_run_changes_nothing(lab):
    use_database(lab)
    assert_idempotent(lab, STEP)


def test_verify_finds_a_hand_edited_url_and_patch_fixes_only_it(lab):
    use_database(lab)
    assert_hand_edit_is_drift(
        lab, STEP, "esb-w1", MASTER, URL.format("REGISTRY_DB"), "jdbc:mysql://otherdb:3306/REGISTRY_DB",
        "repository/conf/datasources/master-datasources.xml: datasource[name='REGISTRY_DB']/definition/"
        f"configuration/url: wanted '{URL.format('REGISTRY_DB')}', actual 'jdbc:mysql://otherdb:3306/REGISTRY_DB'")


def test_dry_run_shows_masked_diff_and_writes_nothing(lab):
    use_database(lab)
    before = lab.snapshot()
    r = run_db(lab, "-H", "esb-w2", STEP, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "+                    <password>********</password>" in r.stdout
    assert "+                    <url>jdbc:mysql://carbondb.mysql-wso2.com:3306/REGISTRY_LOCAL2?autoReconnect=true</url>" in r.stdout
    j = json.loads(run_db(lab, STEP, "--dry-run", "--json").stdout)
    assert j["hosts"]["esb-mgr"][STEP]["status"] == "changed" and "********" in j["hosts"]["esb-mgr"][STEP]["diff"]
    assert lab.snapshot() == before


def test_missing_password_fails_and_changes_nothing(lab):
    use_database(lab, password=False)
    before = lab.snapshot()
    r = lab.fab(STEP)
    assert r.returncode == 1
    assert r.stdout.count("configure-datasources: failed: WSO2_DB_PASSWORD is not set") == 3
    assert lab.snapshot() == before


def test_second_datasource_holding_the_jndi_name_is_refused(lab):
    use_database(lab)
    h2 = lab.hosts["esb-w2"].conf(MASTER).read_text()
    block = h2[h2.index("        <datasource>"):h2.index("        </datasource>\n") + 22]
    lab.hosts["esb-w2"].conf(MASTER).write_text(h2.replace("    </datasources>", block.replace(
        "WSO2_CARBON_DB", "MY_H2_COPY") + "    </datasources>"))
    before = lab.snapshot()
    r = run_db(lab, "-H", "esb-w2", STEP)
    assert r.returncode == 1
    assert re.search(r"datasource 'MY_H2_COPY' \(line \d+\) also holds the JNDI name 'jdbc/WSO2CarbonDB', "
                     r"which would conflict at startup; remove or rename it by hand", r.stdout)
    assert lab.snapshot() == before
