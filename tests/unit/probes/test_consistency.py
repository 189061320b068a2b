"""Cluster consistency checks (tasks/probes/consistency.py) over facts parsed from guide-state files.

The guide-state files are made by the steps' own pure planners from the shipped
fixture bytes; each test then plants one fault in one node's facts (or bytes).
"""
from __future__ import annotations

import copy

import pytest

from tasks.probes import consistency as c
from tasks.probes.facts import FACT_FILES, Datasource, parse_facts
from tasks.secrets import Secrets
from tasks.steps.axis2 import AXIS2, plan_axis2
from tasks.steps.base import plan_xml
from tasks.steps.carbon import CARBON, plan_depsync
from tasks.steps.datasources import MASTER, REGISTRY, plan_master_datasources
from tasks.rules import cache_id
from tasks.steps.registry import plan_registry_mount
from tests.unit.helpers import base_data, inventory, shipped

SECRETS = Secrets({"WSO2_DB_PASSWORD": "db-pw-123", "SVN_PASSWORD": "svn-pw-123"})
PLANNERS = {AXIS2: plan_axis2, CARBON: plan_depsync, REGISTRY: plan_registry_mount, MASTER: plan_master_datasources}
INV = inventory()
CACHE = cache_id(INV)


def guide_files(host: str, inv=INV) -> dict[str, bytes]:
    """The node's four files in the guide's state, as the steps write them."""
    out = {}
    for rel in FACT_FILES:
        edits = plan_xml(shipped(rel), rel, PLANNERS[rel], inv.hosts[host], inv, SECRETS)
        out[rel] = edits.doc.render()
    return out


_GUIDE = {h.name: parse_facts(h, guide_files(h.name)) for h in INV.esb_nodes}


@pytest.fixture
def facts():
    """Facts of the three ESB nodes in the guide's state (a fresh deep copy per test)."""
    return copy.deepcopy(_GUIDE)


def only(findings, host: str):
    """The single finding, asserting it is on `host`."""
    assert len(findings) == 1, findings
    assert findings[0].host == host
    return findings[0].item


# ---------------------------------------------------------------- facts

def test_facts_of_a_guide_state_node():
    f = _GUIDE["esb-w1"]
    assert (f.domain, f.member_host, f.member_port, f.sub_domain) == ("wso2.esb.domain", "192.168.1.13", "4200",
                                                                      "worker")
    assert f.members == [("192.168.1.12", "4100")]
    assert (f.auto_commit, f.svn_url, f.read_only, f.cache_id) == ("false", "svn://192.168.1.12/depsyncrepo/",
                                                                   "true", CACHE)
    assert f.remote_db_config == "sharedregistry"
    assert f.db_configs == {"wso2registry": "jdbc/WSO2CarbonDB", "sharedregistry": "jdbc/WSO2RegistryDB"}
    assert {d.jndi for d in f.datasources} == {"jdbc/WSO2CarbonDB", "jdbc/WSO2RegistryDB", "jdbc/WSO2UMDB"}


def test_facts_of_the_shipped_files():
    f = parse_facts(INV.hosts["esb-mgr"], {rel: shipped(rel) for rel in FACT_FILES})
    assert (f.domain, f.member_host, f.member_port) == ("wso2.carbon.domain", "127.0.0.1", "4100")
    assert f.members == [("127.0.0.1", "4000")] and f.sub_domain is None
    assert (f.read_only, f.cache_id, f.remote_db_config) == (None, None, None)  # the examples are comments
    assert f.db_configs == {"wso2registry": "jdbc/WSO2CarbonDB"}


def test_guide_state_cluster_is_consistent(facts):
    assert c.run_checks(INV, facts) == []


# ---------------------------------------------------------------- one domain

def test_domain_differs_on_one_node(facts):
    facts["esb-w1"].domain = "other.domain"
    item = only(c.check_domain(INV, facts), "esb-w1")
    assert (item.file, item.wanted, item.actual) == (AXIS2, "wso2.esb.domain", "other.domain")
    assert "esb-mgr, esb-w2" in item.what


def test_domain_agreed_by_all_is_not_a_consistency_fault(facts):
    for f in facts.values():
        f.domain = "all.the.same"
    assert c.check_domain(INV, facts) == []


def test_domain_majority_is_the_reference_when_hosts_toml_value_is_nowhere(facts):
    facts["esb-mgr"].domain = facts["esb-w1"].domain = "a"
    facts["esb-w2"].domain = "b"
    item = only(c.check_domain(INV, facts), "esb-w2")
    assert (item.wanted, item.actual) == ("a", "b")


# ---------------------------------------------------------------- WKA members

def test_member_missing_from_the_manager(facts):
    facts["esb-mgr"].members = [("192.168.1.13", "4200")]
    item = only(c.check_members(INV, facts), "esb-mgr")
    assert (item.wanted, item.actual) == ("192.168.1.13:4200, 192.168.1.14:4300", "192.168.1.13:4200")


def test_member_with_a_wrong_port_on_a_worker(facts):
    facts["esb-w2"].members = [("192.168.1.12", "4101")]
    item = only(c.check_members(INV, facts), "esb-w2")
    assert (item.wanted, item.actual) == ("192.168.1.12:4100", "192.168.1.12:4101")


def test_members_order_does_not_matter(facts):
    facts["esb-mgr"].members.reverse()
    assert c.check_members(INV, facts) == []


def test_a_member_port_hand_edited_on_a_node_is_that_nodes_finding_not_its_peers(facts):
    """esb-w1's localMemberPort hand-edited: the manager's WKA list (as hosts.toml says) no longer reaches it. The
    node judged wrong is esb-w1 (against hosts.toml), so that its fix, patch-axis2 on esb-w1, changes it; the
    manager, whose file is right, gets nothing (issue 31: it was told to run a patch that changed nothing)."""
    facts["esb-w1"].member_port = "4201"
    item = only(c.check_members(INV, facts), "esb-w1")
    assert "localMemberHost:localMemberPort (hosts.toml" in item.what
    assert (item.wanted, item.actual) == ("192.168.1.13:4200", "192.168.1.13:4201")


# ---------------------------------------------------------------- unique member ports

def test_two_nodes_on_one_address_and_port(facts):
    facts["esb-w2"].member_host, facts["esb-w2"].member_port = "192.168.1.13", "4200"
    found = c.check_member_ports_unique(INV, facts)
    assert [f.host for f in found] == ["esb-w2"]  # esb-w1 is where hosts.toml says: esb-w2 moved onto it
    assert "also esb-w1" in found[0].item.actual


def test_same_port_on_different_addresses_is_fine(facts):
    facts["esb-w2"].member_port = "4200"
    assert c.check_member_ports_unique(INV, facts) == []


# ---------------------------------------------------------------- member host

@pytest.mark.parametrize("value", ["localhost", "esb-w1.example.com", "0.0.0.0"])
def test_member_host_not_a_specific_ip_is_drift(facts, value):
    facts["esb-w1"].member_host = value
    f = c.check_member_hosts(INV, facts)
    assert len(f) == 1 and f[0].host == "esb-w1" and not f[0].warning and f[0].item.actual == value


@pytest.mark.parametrize("value", ["127.0.0.3", "::1"])
def test_loopback_member_host_is_only_a_warning(facts, value):
    facts["esb-w1"].member_host = value
    f = c.check_member_hosts(INV, facts)
    assert len(f) == 1 and f[0].warning and "loopback" in f[0].item.wanted


# ---------------------------------------------------------------- one manager

def test_worker_claiming_subdomain_mgt(facts):
    facts["esb-w2"].sub_domain = "mgt"
    item = only(c.check_one_manager(INV, facts), "esb-w2")
    assert (item.wanted, item.actual) == ("worker", "mgt")


def test_manager_without_subdomain_mgt(facts):
    facts["esb-mgr"].sub_domain = None
    item = only(c.check_one_manager(INV, facts), "esb-mgr")
    assert (item.wanted, item.actual) == ("mgt", None)


# ---------------------------------------------------------------- AutoCommit / readOnly

def test_autocommit_true_on_a_worker(facts):
    facts["esb-w1"].auto_commit = "true"
    item = only(c.check_auto_commit(INV, facts), "esb-w1")
    assert (item.file, item.wanted) == (CARBON, "false")


def test_autocommit_false_on_the_manager(facts):
    facts["esb-mgr"].auto_commit = "false"
    assert only(c.check_auto_commit(INV, facts), "esb-mgr").wanted == "true"


def test_autocommit_absent_on_a_worker_means_false(facts):
    facts["esb-w1"].auto_commit = None
    assert c.check_auto_commit(INV, facts) == []


def test_read_only_false_on_a_worker(facts):
    facts["esb-w2"].read_only = "false"
    item = only(c.check_read_only(INV, facts), "esb-w2")
    assert (item.file, item.wanted, item.actual) == (REGISTRY, "true", "false")


def test_read_only_missing_on_the_manager(facts):
    facts["esb-mgr"].read_only = None
    assert only(c.check_read_only(INV, facts), "esb-mgr").wanted == "false"


# ---------------------------------------------------------------- cacheId

def test_cache_id_not_user_at_registry_url(facts):
    facts["esb-w1"].cache_id = "regadmin@jdbc:mysql://elsewhere:3306/REGISTRY_DB"
    item = only(c.check_cache_id(INV, facts), "esb-w1")
    assert item.wanted == CACHE


def test_cache_id_follows_the_node_own_registry_datasource_and_must_match_the_others(facts):
    w1 = facts["esb-w1"]
    w1.datasources = [Datasource(d.name, d.jndi, d.url.replace("3306", "3307") if d.url else d.url, d.username)
                      for d in w1.datasources]
    w1.cache_id = CACHE.replace("3306", "3307")  # consistent with its own datasource, not with the cluster
    item = only(c.check_cache_id(INV, facts), "esb-w1")
    assert (item.wanted, item.actual) == (CACHE, w1.cache_id) and "same on every node" in item.what


def test_cache_id_missing_everywhere(facts):
    for f in facts.values():
        f.cache_id = None
    assert sorted(f.host for f in c.check_cache_id(INV, facts)) == ["esb-mgr", "esb-w1", "esb-w2"]


# ---------------------------------------------------------------- dbConfig -> JNDI

def test_db_config_names_an_undefined_jndi_name(facts):
    facts["esb-mgr"].db_configs["sharedregistry"] = "jdbc/NoSuchDB"
    item = only(c.check_datasource_refs(INV, facts), "esb-mgr")
    assert item.actual == "jdbc/NoSuchDB" and "jdbc/WSO2RegistryDB" in item.wanted


def test_datasource_removed_under_its_db_config(facts):
    facts["esb-w2"].datasources = [d for d in facts["esb-w2"].datasources if d.jndi != "jdbc/WSO2RegistryDB"]
    found = c.check_datasource_refs(INV, facts)
    assert [f.host for f in found] == ["esb-w2"] and found[0].item.actual == "jdbc/WSO2RegistryDB"


def test_remote_instance_names_a_missing_db_config(facts):
    facts["esb-w1"].remote_db_config = "nosuchconfig"
    item = only(c.check_datasource_refs(INV, facts), "esb-w1")
    assert item.what.startswith("remoteInstance/dbConfig")


# ---------------------------------------------------------------- SvnUrl

def test_svn_url_differs_on_one_node(facts):
    facts["esb-w2"].svn_url = "svn://10.0.0.9/other/"
    item = only(c.check_svn_url(INV, facts), "esb-w2")
    assert (item.wanted, item.actual) == ("svn://192.168.1.12/depsyncrepo/", "svn://10.0.0.9/other/")


# ---------------------------------------------------------------- from bytes, end to end

def test_hand_edited_bytes_are_found_through_parse_facts():
    data = base_data()
    inv = inventory(data)
    files = guide_files("esb-w1", inv)
    files[CARBON] = files[CARBON].replace(b"<AutoCommit>false</AutoCommit>", b"<AutoCommit>true</AutoCommit>")
    facts = {h.name: parse_facts(h, files if h.name == "esb-w1" else guide_files(h.name, inv))
             for h in inv.esb_nodes}
    found = c.run_checks(inv, facts)
    assert [(f.host, f.item.what.split(" ")[0]) for f in found] == [("esb-w1", "DeploymentSynchronizer/AutoCommit")]


def test_partial_facts_only_compare_the_nodes_at_hand(facts):
    del facts["esb-mgr"]
    assert c.run_checks(INV, facts) == []
