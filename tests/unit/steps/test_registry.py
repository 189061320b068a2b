"""Pure planner of mount-registry on the shipped registry.xml (CRLF line endings)."""
from __future__ import annotations

import pytest
from lxml import etree

from tasks.engine.context import StepError
from tasks.steps.datasources import REGISTRY, plan_registry_dbconfig
from tasks.rules import cache_id
from tasks.steps.registry import plan_registry_mount
from tests.unit.helpers import base_data, inventory, run_planner, shipped
from tasks.steps.datasources import ConfigureDatasources
from tasks.steps.registry import MountRegistry
from tests.memnode import product_node
from tests.unit.helpers import patch_on, plan_on, whats

CACHE_ID = "regadmin@jdbc:mysql://carbondb.mysql-wso2.com:3306/REGISTRY_DB?autoReconnect=true"
ANCHOR = b'    <dbConfig name="wso2registry">\r\n        <dataSource>jdbc/WSO2CarbonDB</dataSource>\r\n    </dbConfig>\r\n'


def blocks(read_only: str, cache: str = CACHE_ID) -> bytes:
    """The guide's four blocks as this project writes them, CRLF."""
    lines = ['    <dbConfig name="sharedregistry">', "        <dataSource>jdbc/WSO2RegistryDB</dataSource>",
             "    </dbConfig>",
             '    <remoteInstance url="https://localhost:9443/registry">', "        <id>instanceid</id>",
             "        <dbConfig>sharedregistry</dbConfig>", f"        <readOnly>{read_only}</readOnly>",
             "        <enableCache>true</enableCache>", "        <registryRoot>/</registryRoot>",
             f"        <cacheId>{cache}</cacheId>", "    </remoteInstance>"]
    for path in ("/_system/config", "/_system/governance"):
        lines += [f'    <mount path="{path}" overwrite="true">', "        <instanceId>instanceid</instanceId>",
                  f"        <targetPath>{path}</targetPath>", "    </mount>"]
    return "".join(ln + "\r\n" for ln in lines).encode()


def mount(host: str, **kw):
    return run_planner(REGISTRY, plan_registry_mount, host, **kw)


@pytest.mark.parametrize("host,read_only", [("esb-mgr", "false"), ("esb-w1", "true"), ("esb-w2", "true")])
def test_exact_bytes_per_role_crlf_kept(host, read_only):
    edits, fc = mount(host)
    old = shipped(REGISTRY)
    assert fc.new == old.replace(ANCHOR, ANCHOR + blocks(read_only))
    assert fc.new.count(b"\n") == fc.new.count(b"\r\n")  # CRLF everywhere, nothing added with bare LF
    assert fc.new.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\r\n')
    assert [i.what for i in edits.items] == ["dbConfig[@name='sharedregistry']", "remoteInstance[id='instanceid']",
                                             "mount[@path='/_system/config']", "mount[@path='/_system/governance']"]


def test_wso2registry_dbconfig_and_commented_examples_stay():
    _, fc = mount("esb-mgr")
    root = etree.fromstring(fc.new)
    assert [d.get("name") for d in root.findall("dbConfig")] == ["wso2registry", "sharedregistry"]
    assert root.findtext("currentDBConfig") == "wso2registry"
    old = shipped(REGISTRY)
    for comment in (b"<!--remoteInstance url=", b"<!--mount path=\"/_system/config\" overwrite=\"true|false|virtual\">"):
        assert old.count(comment) == fc.new.count(comment) >= 1
    assert len(root.findall("remoteInstance")) == 1 and len(root.findall("mount")) == 2


def test_idempotent():
    _, fc = mount("esb-w1")
    edits, again = mount("esb-w1", data=fc.new)
    assert edits.items == [] and again.new == fc.new


def test_either_step_first_gives_the_same_bytes_and_no_duplicate_dbconfig():
    _, ds = run_planner(REGISTRY, plan_registry_dbconfig, "esb-mgr")
    _, both = mount("esb-mgr", data=ds.new)
    _, alone = mount("esb-mgr")
    assert both.new == alone.new
    edits, after = run_planner(REGISTRY, plan_registry_dbconfig, "esb-mgr", data=alone.new)
    assert edits.items == [] and after.new == alone.new
    assert alone.new.count(b'<dbConfig name="sharedregistry">') == 1


def test_worker_file_on_the_manager_is_edited_value_by_value():
    _, worker = mount("esb-w1")
    edits, fc = mount("esb-mgr", data=worker.new)
    assert [i.line() for i in edits.items] == [
        f"{REGISTRY}: remoteInstance[id='instanceid']/readOnly: wanted 'false', actual 'true'"]
    assert fc.new == worker.new.replace(b"<readOnly>true</readOnly>\r\n        <enableCache>",
                                        b"<readOnly>false</readOnly>\r\n        <enableCache>")


def test_mount_attributes_and_values_converge():
    good = mount("esb-w1")[1].new
    bad = good.replace(b'<mount path="/_system/governance" overwrite="true">',
                       b'<mount path="/_system/governance" overwrite="false">').replace(
        b"<targetPath>/_system/governance</targetPath>", b"<targetPath>/_system/nodes</targetPath>")
    edits, fc = mount("esb-w1", data=bad)
    assert [i.what for i in edits.items] == ["mount[@path='/_system/governance']/@overwrite",
                                             "mount[@path='/_system/governance']/targetPath"]
    assert fc.new == good


def test_cache_id_with_more_jdbc_params_is_escaped():
    data = base_data()
    data["database"]["jdbc_params"] = "autoReconnect=true&useSSL=false"
    inv = inventory(data)
    assert cache_id(inv) == CACHE_ID + "&useSSL=false"
    _, fc = mount("esb-mgr", inv=inv)
    assert fc.new == shipped(REGISTRY).replace(ANCHOR, ANCHOR + blocks("false", CACHE_ID + "&amp;useSSL=false"))
    assert etree.fromstring(fc.new).findtext("remoteInstance/cacheId") == CACHE_ID + "&useSSL=false"


def test_duplicate_mount_is_refused():
    good = mount("esb-mgr")[1].new
    m = b'    <mount path="/_system/config" overwrite="true">\r\n        <instanceId>instanceid</instanceId>\r\n' \
        b'        <targetPath>/_system/config</targetPath>\r\n    </mount>\r\n'
    doubled = good.replace(m, m + m)
    with pytest.raises(StepError, match=r"mount\[@path='/_system/config'\] appears 2 times \(lines \d+, \d+\)"):
        mount("esb-mgr", data=doubled)


# ---------------------------------------------------------------- the step on a node in memory (tests/memnode.py)

@pytest.mark.parametrize("host,ro", [("esb-mgr", "false"), ("esb-w1", "true")])
def test_mount_registry_plans_the_shipped_registry_xml_converges_and_agrees_with_configure_datasources(host, ro):
    inv = inventory()
    node = product_node(inv.hosts[host])
    plan, _ = plan_on(MountRegistry(), node, inv)
    assert whats(plan) == [(REGISTRY, w) for w in (
        "dbConfig[@name='sharedregistry']", "remoteInstance[id='instanceid']", "mount[@path='/_system/config']",
        "mount[@path='/_system/governance']")]
    assert plan.items[1].wanted == f"instanceid (readOnly {ro})"
    patch_on(MountRegistry(), node, inv)
    assert not plan_on(MountRegistry(), node, inv)[0]
    # the block both steps own is there once: configure-datasources finds nothing to add in registry.xml
    assert REGISTRY not in {i.file for i in plan_on(ConfigureDatasources(), node, inv)[0].items}
