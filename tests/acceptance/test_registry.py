"""mount-registry against real sshd hosts: the guide's registry.xml blocks (CRLF kept), readOnly per role,
shared dbConfig with configure-datasources, idempotence, verify after a hand edit, dry-run."""
from __future__ import annotations

import json

from lxml import etree

from tests.acceptance.dbconf import assert_hand_edit_is_drift, assert_idempotent, run_db, use_database
from tests.acceptance.util import conf_diff, shipped_conf

REGISTRY = "registry.xml"
STEP = "mount-registry"
CACHE_ID = "regadmin@jdbc:mysql://carbondb.mysql-wso2.com:3306/REGISTRY_DB?autoReconnect=true"


def registry(lab, host: str):
    return etree.fromstring(lab.hosts[host].conf(REGISTRY).read_bytes())


def test_after_configure_datasources_reaches_guide_state(lab):
    use_database(lab)
    assert run_db(lab, "configure-datasources").returncode == 0
    r = run_db(lab, STEP)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(f"{STEP}: changed (3 items)") == 3
    for host, read_only in (("esb-mgr", "false"), ("esb-w1", "true"), ("esb-w2", "true")):
        root = registry(lab, host)
        assert [(d.get("name"), d.findtext("dataSource")) for d in root.findall("dbConfig")] == [
            ("wso2registry", "jdbc/WSO2CarbonDB"), ("sharedregistry", "jdbc/WSO2RegistryDB")]
        (ri,) = root.findall("remoteInstance")
        assert ri.get("url") == "https://localhost:9443/registry"
        assert {c.tag: c.text for c in ri} == {"id": "instanceid", "dbConfig": "sharedregistry",
                                               "readOnly": read_only, "enableCache": "true",
                                               "registryRoot": "/", "cacheId": CACHE_ID}
        assert [(m.get("path"), m.get("overwrite"), m.findtext("instanceId"), m.findtext("targetPath"))
                for m in root.findall("mount")] == [
            ("/_system/config", "true", "instanceid", "/_system/config"),
            ("/_system/governance", "true", "instanceid", "/_system/governance")]
        lines = conf_diff(lab, host, REGISTRY)
        assert len(lines) == 19 and all(ln.startswith("+") for ln in lines)  # only the four blocks, added
        data = lab.hosts[host].conf(REGISTRY).read_bytes()
        assert data.count(b"\n") == data.count(b"\r\n")
        shipped = shipped_conf(REGISTRY).read_bytes()
        for example in (b"<!--remoteInstance url=", b"<!--mount path="):  # the examples stay comments
            assert data.count(example) == shipped.count(example) > 0


def test_alone_it_adds_the_dbconfig_too_and_either_order_converges(lab):
    use_database(lab)
    assert run_db(lab, "-H", "esb-w1", STEP).returncode == 0
    assert conf_diff(lab, "esb-w1", REGISTRY)[:3] == [
        '+    <dbConfig name="sharedregistry">', "+        <dataSource>jdbc/WSO2RegistryDB</dataSource>",
        "+    </dbConfig>"]
    r = run_db(lab, "-H", "esb-w1", "configure-datasources", "--json")
    items = json.loads(r.stdout)["hosts"]["esb-w1"]["configure-datasources"]["items"]
    assert items and "repository/conf/registry.xml" not in {i["file"] for i in items}  # no second dbConfig
    # the other order on another worker: the same bytes
    assert run_db(lab, "-H", "esb-w2", "configure-datasources").returncode == 0
    assert run_db(lab, "-H", "esb-w2", STEP).returncode == 0
    assert lab.hosts["esb-w1"].conf(REGISTRY).read_bytes() == lab.hosts["esb-w2"].conf(REGISTRY).read_bytes()


def test_second_run_changes_nothing(lab):
    use_database(lab)
    assert_idempotent(lab, STEP)


def test_verify_finds_a_worker_made_writable_and_patch_fixes_it(lab):
    use_database(lab)
    assert_hand_edit_is_drift(
        lab, STEP, "esb-w2", REGISTRY, "<readOnly>true</readOnly>\r\n        <enableCache>",
        "<readOnly>false</readOnly>\r\n        <enableCache>",
        "repository/conf/registry.xml: remoteInstance[id='instanceid']/readOnly: wanted 'true', actual 'false'")


def test_dry_run_writes_nothing(lab):
    use_database(lab)
    before = lab.snapshot()
    r = run_db(lab, STEP, "--dry-run")
    assert r.returncode == 0
    assert r.stdout.count("+        <readOnly>true</readOnly>") == 2 and r.stdout.count("+        <readOnly>false</readOnly>") == 1
    assert lab.snapshot() == before
