"""The one reader of each configuration layout (tasks/formats/axis2xml, carbonxml, registryxml, datasourcesxml):
what it reads of the files WSO2 ships, and that it reads back exactly what the planners write (the facts and the
planners share it, so they cannot disagree on a path)."""
from __future__ import annotations

from tasks.formats import axis2xml, carbonxml, datasourcesxml, registryxml
from tasks.formats.xmldoc import XmlDoc
from tasks.rules import AXIS2, CARBON, MASTER, REGISTRY
from tasks.secrets import Secrets
from tasks.steps.axis2 import plan_axis2, wanted_members
from tasks.steps.carbon import plan_depsync
from tasks.steps.datasources import plan_master_datasources, plan_registry_dbconfig
from tasks.rules import cache_id
from tasks.steps.registry import plan_registry_mount
from tests.unit.helpers import inventory, run_planner, shipped

SECRETS = Secrets({"WSO2_DB_PASSWORD": "pw-ds-ñandú-42", "SVN_PASSWORD": "pw-svn-ключ-42"})


def test_shipped_axis2_clustering_is_read_as_wso2_ships_it():
    cl = axis2xml.read(XmlDoc(shipped(AXIS2), AXIS2))
    assert cl is not None and cl.domain == "wso2.carbon.domain" and cl.sub_domain is None
    assert cl.members == [("127.0.0.1", "4000")]


def test_axis2_reads_back_what_patch_axis2_writes():
    inv = inventory()
    for name in ("esb-mgr", "esb-w1"):
        edits, _ = run_planner(AXIS2, plan_axis2, name, inv=inv)
        cl = axis2xml.read(XmlDoc(edits.doc.render(), AXIS2))
        h = inv.hosts[name]
        assert (cl.domain, cl.member_host, cl.member_port) == (inv.cluster.domain, h.member_host, str(h.member_port))
        assert cl.members == wanted_members(h, inv)
        assert cl.sub_domain == ("mgt" if h.role == "manager" else "worker")


def test_a_file_without_clustering_reads_as_none():
    assert axis2xml.read(XmlDoc(b"<axisconfig/>", AXIS2)) is None


def test_carbon_reads_back_what_enable_depsync_writes_in_its_default_namespace():
    assert carbonxml.read_depsync(XmlDoc(shipped(CARBON), CARBON)).enabled == "false"
    inv = inventory()
    edits, _ = run_planner(CARBON, plan_depsync, "esb-w1", inv=inv, secrets=SECRETS)
    ds = carbonxml.read_depsync(XmlDoc(edits.doc.render(), CARBON))
    assert (ds.enabled, ds.auto_commit, ds.svn_url, ds.svn_user) == ("true", "false", inv.svn.url, inv.svn.user)
    assert ds.svn_password == "pw-svn-ключ-42" and ds.svn_password_alias is None


def test_registry_reads_the_instance_the_mounts_use():
    inv = inventory()
    edits, _ = run_planner(REGISTRY, plan_registry_mount, "esb-w1", inv=inv)
    reg = registryxml.read(XmlDoc(edits.doc.render(), REGISTRY))
    assert (reg.read_only, reg.cache_id, reg.remote_db_config) == ("true", cache_id(inv), "sharedregistry")
    assert reg.db_configs == {"wso2registry": "jdbc/WSO2CarbonDB", "sharedregistry": "jdbc/WSO2RegistryDB"}
    edits, _ = run_planner(REGISTRY, plan_registry_dbconfig, "esb-w1", inv=inv)
    assert registryxml.anchor(edits.doc).get("name") == "wso2registry"


def test_datasources_read_back_what_configure_datasources_writes():
    shipped_ds = datasourcesxml.read(XmlDoc(shipped(MASTER), MASTER))
    assert [(d.name, d.jndi) for d in shipped_ds] == [("WSO2_CARBON_DB", "jdbc/WSO2CarbonDB")]
    inv = inventory()
    edits, _ = run_planner(MASTER, plan_master_datasources, "esb-mgr", inv=inv, secrets=SECRETS)
    got = datasourcesxml.read(XmlDoc(edits.doc.render(), MASTER))
    assert [d.jndi for d in got] == ["jdbc/WSO2CarbonDB", "jdbc/WSO2RegistryDB", "jdbc/WSO2UMDB"]
    assert {d.password for d in got} == {"pw-ds-ñandú-42"} and {d.username for d in got} == {inv.database.user}
    assert all(d.url and d.url.startswith("jdbc:mysql://") for d in got)
