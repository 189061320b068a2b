"""The one reader of each configuration layout (tasks/formats/axis2xml, carbonxml, registryxml, datasourcesxml,
usermgtxml):
what it reads of the files WSO2 ships, and that it reads back exactly what the planners write (the facts and the
planners share it, so they cannot disagree on a path)."""
from __future__ import annotations

from tasks import rules
from tasks.formats import axis2xml, carbonxml, datasourcesxml, registryxml, usermgtxml
from tasks.formats.xmldoc import XmlDoc
from tasks.rules import AXIS2, CARBON, MASTER, REGISTRY, USER_MGT
from tasks.secrets import Secrets
from tasks.steps.adminpass import _admin_planner
from tasks.steps.axis2 import plan_axis2, wanted_members, wsdl_epr_prefix
from tasks.steps.carbon import plan_depsync, plan_hostnames
from tasks.steps.keystore import _keystore_planner
from tasks.steps.vault import _vault_planner
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


def test_axis2_reads_the_wsdl_epr_prefix_patch_axis2_writes_on_workers():
    assert axis2xml.wsdl_epr_prefixes(XmlDoc(shipped(AXIS2), AXIS2)) == {"http": None, "https": None}
    inv = inventory()
    edits, _ = run_planner(AXIS2, plan_axis2, "esb-w1", inv=inv)
    assert axis2xml.wsdl_epr_prefixes(XmlDoc(edits.doc.render(), AXIS2)) == {
        s: wsdl_epr_prefix(inv, s) for s in ("http", "https")}


def test_carbon_reads_what_set_hostnames_writes_and_the_stores():
    shipped_carbon = carbonxml.read(XmlDoc(shipped(CARBON), CARBON))
    assert shipped_carbon.mgt_hostname is None  # commented out as shipped: a comment is not read
    assert shipped_carbon.offset == "0" and shipped_carbon.depsync.enabled == "false"
    assert shipped_carbon.keystore.location.endswith("wso2carbon.jks") and shipped_carbon.keystore.key_alias == "wso2carbon"
    assert shipped_carbon.truststore.location.endswith("client-truststore.jks")
    inv = inventory()
    edits, _ = run_planner(CARBON, plan_hostnames, "esb-mgr", inv=inv)
    got = carbonxml.read(XmlDoc(edits.doc.render(), CARBON))
    assert (got.hostname, got.mgt_hostname, got.offset) == (
        inv.cluster.hostname, inv.cluster.mgt_hostname, str(inv.hosts["esb-mgr"].port_offset))


def test_carbon_reads_the_store_passwords_create_keystore_and_secure_vault_write():
    inv = inventory()
    sec = Secrets({"KEYSTORE_PASSWORD": "pw-ks-42", "ADMIN_PASSWORD": "pw-admin-42", "SVN_PASSWORD": "pw-svn-42",
                   "WSO2_DB_PASSWORD": "pw-db-42"})
    edits, _ = run_planner(CARBON, _keystore_planner, "esb-w1", inv=inv, secrets=sec)
    got = carbonxml.read(XmlDoc(edits.doc.render(), CARBON))
    assert (got.keystore.password, got.truststore.password, got.keystore.password_alias) == ("pw-ks-42", "pw-ks-42", None)
    edits, _ = run_planner(CARBON, _vault_planner, "esb-w1", inv=inv, secrets=sec)
    got = carbonxml.read(XmlDoc(edits.doc.render(), CARBON))
    assert (got.keystore.password, got.keystore.password_alias) == ("password", "Carbon.Security.KeyStore.Password")


def test_the_protected_paths_of_rules_are_the_readers_paths():
    """rules (an input layer) cannot import the readers: this holds each password's path to the reader's."""
    carbon = {p.path for p in rules.KEYSTORE_PASSWORDS if p.file == CARBON}
    assert carbon == {carbonxml.KEYSTORE_PASSWORD, carbonxml.KEY_PASSWORD, carbonxml.TRUSTSTORE_PASSWORD}
    axis2 = {p.path for p in rules.KEYSTORE_PASSWORDS if p.file == AXIS2}
    assert axis2 == {axis2xml.store_password(d, "keystore", "KeyStore", f)
                     for d in ("Listener", "Sender") for f in ("Password", "KeyPassword")} | {
        axis2xml.store_password(d, "truststore", "TrustStore", "Password") for d in ("Listener", "Sender")}
    assert rules.SVN_PASSWORD.path == carbonxml.SVN_PASSWORD
    assert rules.ADMIN_PASSWORD.path == usermgtxml.ADMIN_PASSWORD


def test_user_mgt_reads_the_active_admin_user_and_data_source():
    got = usermgtxml.read(XmlDoc(shipped(USER_MGT), USER_MGT))
    assert (got.admin, got.admin_password, got.data_source) == ("admin", "admin", "jdbc/WSO2CarbonDB")
    inv = inventory()
    edits, _ = run_planner(USER_MGT, _admin_planner, "esb-w1", inv=inv, secrets=Secrets({"ADMIN_PASSWORD": "pw-42x"}))
    assert usermgtxml.read(XmlDoc(edits.doc.render(), USER_MGT)).admin_password == "pw-42x"


def test_a_commented_out_admin_user_is_not_read():
    """The regex this reader replaced took the first `<AdminUser>` of the bytes, a comment's too."""
    active = b"<AdminUser>\n<UserName>chief</UserName>\n<Password>x</Password>\n</AdminUser>"
    commented = b"<!-- <AdminUser>\n<UserName>old-admin</UserName>\n</AdminUser> -->"
    for before in (commented + b"\n" + active, commented + b"\n"):
        data = b"<UserManager><Realm><Configuration>\n" + before + b"\n</Configuration></Realm></UserManager>\n"
        want = "chief" if active in before else "admin"  # none active: Carbon's default
        assert usermgtxml.read(XmlDoc(data, USER_MGT)).admin == want
    outside = b"<UserManager><!-- <AdminUser><UserName>x</UserName></AdminUser> --><Realm><Configuration>" \
              b"<AdminUser><UserName>chief</UserName></AdminUser></Configuration></Realm></UserManager>"
    assert usermgtxml.read(XmlDoc(outside, USER_MGT)).admin == "chief"
