"""The pure part of `fab diagram` (tasks/commands/diagram.py): where each finding is drawn, and stable DOT text."""
from __future__ import annotations

from tasks.commands.diagram import RED, build_dot, target_of
from tasks.probes.facts import Datasource, NodeFacts
from tasks.engine.plan import Item
from tests.unit.helpers import inventory

INV = inventory()


def facts() -> dict[str, NodeFacts]:
    url = "jdbc:mysql://carbondb.mysql-wso2.com:3306/{}?autoReconnect=true"
    out = {}
    for name, role, port, peers, local in (("esb-mgr", "manager", "4100", [("192.168.1.13", "4200"), ("192.168.1.14", "4300")], "REGISTRY_LOCAL1"),
                                           ("esb-w1", "worker", "4200", [("192.168.1.12", "4100")], "REGISTRY_LOCAL2"),
                                           ("esb-w2", "worker", "4300", [("192.168.1.12", "4100")], "REGISTRY_LOCAL2")):
        host = INV.hosts[name].member_host
        out[name] = NodeFacts(
            name, role, domain="wso2.esb.domain", member_host=host, member_port=port, members=peers,
            sub_domain="mgt" if role == "manager" else "worker", auto_commit="true" if role == "manager" else "false",
            svn_url="svn://192.168.1.12/depsyncrepo/", read_only="false" if role == "manager" else "true",
            cache_id="regadmin@x", remote_db_config="sharedregistry", db_configs={"sharedregistry": "jdbc/WSO2RegistryDB"},
            datasources=[Datasource(local, "jdbc/WSO2CarbonDB", url.format(local), "regadmin"),
                         Datasource("REGISTRY_DB", "jdbc/WSO2RegistryDB", url.format("REGISTRY_DB"), "regadmin")])
    return out


def test_each_finding_goes_to_its_element():
    assert target_of(Item("repository/conf/axis2/axis2.xml", "clustering/members (the other role's nodes)", "a", "b")) == "members"
    assert target_of(Item("repository/conf/registry.xml", "remoteInstance/readOnly (false on the manager only)", "t", "f")) == "mount"
    assert target_of(Item("repository/conf/registry.xml", "remoteInstance/cacheId (<user>@<REGISTRY_DB url>)", "a", "b")) == "mount"
    assert target_of(Item("repository/conf/carbon.xml", "DeploymentSynchronizer/AutoCommit", "false", "true")) == "depsync"
    assert target_of(Item("repository/conf/datasources/master-datasources.xml", "datasource", "x", None)) == "datasources"
    assert target_of(Item("repository/conf/carbon.xml", "Ports/Offset", "1", "0")) == "node"


def test_the_same_facts_draw_the_same_text_and_a_finding_turns_its_element_red():
    f = facts()
    clean = build_dot(INV, f, {}, {}, {})
    assert clean == build_dot(INV, f, {}, {}, {})
    assert RED not in clean.split("subgraph cluster_legend")[0]
    assert '"esb-w1" -> "esb-mgr"' in clean and '"esb-mgr" -> "svn"' in clean and '"svn" -> "esb-w2"' in clean
    item = Item("repository/conf/registry.xml", "remoteInstance/readOnly (false on the manager only)", "true", "false")
    dot = build_dot(INV, f, {}, {"esb-w2": [item]}, {})
    red_lines = [ln for ln in dot.splitlines() if RED in ln and "legend" not in ln]
    assert len(red_lines) == 1 and 'id="mount:esb-w2"' in red_lines[0]
    assert "! remoteInstance/readOnly: false, wanted true" in red_lines[0]


def test_a_member_no_node_listens_as_gets_its_own_red_node():
    f = facts()
    f["esb-w1"].members = [("192.168.1.12", "4999")]
    dot = build_dot(INV, f, {}, {}, {})
    assert 'id="node:?192.168.1.12:4999"' in dot and '"esb-w1" -> "?192.168.1.12:4999"' in dot
    assert [ln for ln in dot.splitlines() if 'id="wka:esb-w1->?192.168.1.12:4999"' in ln and RED in ln]
