"""Pure planners of configure-datasources on the shipped master-datasources.xml, user-mgt.xml, registry.xml."""
from __future__ import annotations

import pytest
from lxml import etree

from tasks.secrets import MASK, SecretMissing, Secrets
from tasks.engine.context import StepError
from tasks.steps.datasources import (MASTER, REGISTRY, USER_MGT, jdbc_url, plan_master_datasources,
                                     plan_registry_dbconfig, plan_user_mgt)
from tests.unit.helpers import base_data, changed_lines, inventory, run_planner, shipped
from tasks.steps.datasources import ConfigureDatasources
from tests.memnode import product_node
from tests.unit.helpers import patch_on, plan_on, whats

PW = "S3cret&<pw>"
SECRETS = Secrets({"WSO2_DB_PASSWORD": PW})
URL = "jdbc:mysql://carbondb.mysql-wso2.com:3306/{}?autoReconnect=true"
GUIDE = {"driverClassName": "com.mysql.jdbc.Driver", "maxActive": "50", "maxWait": "60000",
         "testOnBorrow": "true", "validationQuery": "SELECT 1", "validationInterval": "30000"}


def master(host: str = "esb-mgr", **kw):
    return run_planner(MASTER, plan_master_datasources, host, secrets=kw.pop("secrets", SECRETS), **kw)


def datasources(data: bytes) -> dict[str, dict[str, str]]:
    """name -> {jndi, url, username, password, ...} of every active datasource."""
    out = {}
    for ds in etree.fromstring(data).iter("datasource"):
        conf = ds.find("definition/configuration")
        out[ds.findtext("name")] = {"jndi": ds.findtext("jndiConfig/name"),
                                    **{c.tag: c.text for c in conf if isinstance(c.tag, str)}}
    return out


@pytest.mark.parametrize("host,local", [("esb-mgr", "REGISTRY_LOCAL1"), ("esb-w1", "REGISTRY_LOCAL2")])
def test_three_guide_datasources_per_role(host, local):
    _, fc = master(host)
    got = datasources(fc.new)
    assert list(got) == [local, "REGISTRY_DB", "WSO2_USER_DB"]
    jndi = {local: "jdbc/WSO2CarbonDB", "REGISTRY_DB": "jdbc/WSO2RegistryDB", "WSO2_USER_DB": "jdbc/WSO2UMDB"}
    for name, ds in got.items():
        assert ds["jndi"] == jndi[name]
        assert ds["url"] == URL.format(name)
        assert ds["username"] == "regadmin" and ds["password"] == PW
        assert {k: ds[k] for k in GUIDE} == GUIDE


def test_h2_datasource_becomes_the_local_one_in_place_and_the_diff_is_the_owned_lines():
    edits, fc = master("esb-mgr")
    lines = changed_lines(fc)
    assert lines[:12] == [
        "-            <name>WSO2_CARBON_DB</name>",
        "-            <description>The datasource used for registry and user manager</description>",
        "+            <name>REGISTRY_LOCAL1</name>",
        "+            <description>The datasource used for registry- local</description>",
        "-                    <url>jdbc:h2:repository/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=60000</url>",
        f"-                    <username>{MASK}</username>",  # the H2 user equals the H2 password: masked too
        f"-                    <password>{MASK}</password>",
        "-                    <driverClassName>org.h2.Driver</driverClassName>",
        f"+                    <url>{URL.format('REGISTRY_LOCAL1')}</url>",
        "+                    <username>regadmin</username>",
        f"+                    <password>{MASK}</password>",
        "+                    <driverClassName>com.mysql.jdbc.Driver</driverClassName>",
    ]
    assert all(ln.startswith("+") for ln in lines[12:]) and len(lines) == 12 + 2 * 20  # two 20-line blocks added
    new = fc.new.decode()
    # one datasource per JNDI name; the H2 block's extra child (not in the guide) stays
    assert new.count("<name>jdbc/WSO2CarbonDB</name>") == 1 and "WSO2_CARBON_DB" not in new
    assert "<defaultAutoCommit>false</defaultAutoCommit>" in new
    # the commented SAMPLE_DATA_SOURCE and everything after the datasources stays byte for byte
    tail = shipped(MASTER).decode()
    end = "        </datasource>\n"
    assert new.endswith(tail[tail.index(end) + len(end):])
    assert [i.what for i in edits.items][-2:] == ["datasource[name='REGISTRY_DB']", "datasource[name='WSO2_USER_DB']"]


def test_password_masked_in_items_and_diff_but_written_escaped():
    edits, fc = master("esb-w2")
    diff = fc.diff()
    assert PW not in diff and "S3cret&amp;&lt;pw&gt;" not in diff
    assert fc.new.count(b"<password>S3cret&amp;&lt;pw&gt;</password>") == 3
    pw = [i for i in edits.items if i.what.endswith("/password")]
    assert pw and all(i.secret and i.as_dict()["wanted"] == MASK for i in pw)
    assert all(PW not in i.line() for i in edits.items)


def test_password_with_quotes_is_masked_in_every_written_form():
    pw = 'q"uo\'te&'
    _, fc = master("esb-w1", secrets=Secrets({"WSO2_DB_PASSWORD": pw}))
    assert datasources(fc.new)["REGISTRY_DB"]["password"] == pw
    diff = fc.diff()
    assert "uo'te" not in diff and diff.count(f"<password>{MASK}</password>") == 4


def test_jdbc_params_ampersand_written_as_amp():
    data = base_data()
    data["database"]["jdbc_params"] = "autoReconnect=true&useSSL=false"
    inv = inventory(data)
    assert jdbc_url(inv, "REGISTRY_DB").endswith("/REGISTRY_DB?autoReconnect=true&useSSL=false")
    _, fc = master("esb-mgr", inv=inv)
    assert fc.new.count(b"?autoReconnect=true&amp;useSSL=false</url>") == 3
    assert datasources(fc.new)["REGISTRY_DB"]["url"].endswith("?autoReconnect=true&useSSL=false")
    data["database"]["jdbc_params"] = ""
    _, fc = master("esb-mgr", inv=inventory(data))
    assert b"<url>jdbc:mysql://carbondb.mysql-wso2.com:3306/REGISTRY_DB</url>" in fc.new


def test_idempotent_on_its_own_output():
    _, fc = master("esb-w1")
    edits, again = master("esb-w1", data=fc.new)
    assert edits.items == [] and again.new == fc.new


def test_hand_edited_url_is_one_item_one_line():
    _, fc = master("esb-w1")
    wrong = fc.new.replace(b"3306/REGISTRY_DB?", b"3307/REGISTRY_DB?")
    edits, fixed = master("esb-w1", data=wrong)
    assert [i.line() for i in edits.items] == [
        f"{MASTER}: datasource[name='REGISTRY_DB']/definition/configuration/url: "
        f"wanted '{URL.format('REGISTRY_DB')}', actual '{URL.format('REGISTRY_DB').replace('3306', '3307')}'"]
    assert fixed.new == fc.new


def test_missing_value_is_added_after_its_guide_neighbour():
    _, fc = master("esb-w1")
    gone = fc.new.replace(b"                    <validationInterval>30000</validationInterval>\n", b"", 1)
    edits, fixed = master("esb-w1", data=gone)
    assert [i.what for i in edits.items] == ["datasource[name='REGISTRY_LOCAL2']/definition/configuration/validationInterval"]
    assert fixed.new == fc.new


def test_manager_file_on_a_worker_renames_the_local_datasource():
    _, mgr = master("esb-mgr")
    edits, fc = master("esb-w1", data=mgr.new)
    assert list(datasources(fc.new)) == ["REGISTRY_LOCAL2", "REGISTRY_DB", "WSO2_USER_DB"]
    assert [ln for ln in changed_lines(fc)] == [
        "-            <name>REGISTRY_LOCAL1</name>", "+            <name>REGISTRY_LOCAL2</name>",
        f"-                    <url>{URL.format('REGISTRY_LOCAL1')}</url>",
        f"+                    <url>{URL.format('REGISTRY_LOCAL2')}</url>"]


def test_second_datasource_with_the_same_jndi_name_is_refused():
    _, fc = master("esb-mgr")
    h2 = shipped(MASTER).decode()
    block = h2[h2.index("        <datasource>"):h2.index("        </datasource>") + len("        </datasource>\n")]
    doubled = fc.new.replace(b"    </datasources>", block.encode() + b"    </datasources>")
    with pytest.raises(StepError, match=r"datasource 'WSO2_CARBON_DB' \(line \d+\) also holds the JNDI name "
                                        r"'jdbc/WSO2CarbonDB', which would conflict at startup"):
        master("esb-mgr", data=doubled)


def test_password_required():
    with pytest.raises(SecretMissing, match="WSO2_DB_PASSWORD is not set"):
        master("esb-mgr", secrets=Secrets({}))


def test_tab_indented_file_gets_tab_indented_blocks():
    tabbed = b"<datasources-configuration>\n\t<datasources>\n\t\t<datasource>\n\t\t\t<name>X</name>\n" \
             b"\t\t\t<jndiConfig>\n\t\t\t\t<name>jdbc/X</name>\n\t\t\t</jndiConfig>\n\t\t</datasource>\n" \
             b"\t</datasources>\n</datasources-configuration>\n"
    _, fc = master("esb-mgr", data=tabbed)
    assert b"\n\t\t<datasource>\n\t\t\t<name>REGISTRY_LOCAL1</name>\n" in fc.new
    assert b"\n\t\t\t\t\t<url>" in fc.new and b"    " not in fc.new


def test_user_mgt_datasource_property():
    edits, fc = run_planner(USER_MGT, plan_user_mgt, "esb-w1")
    assert changed_lines(fc) == ['-            <Property name="dataSource">jdbc/WSO2CarbonDB</Property>',
                                 '+            <Property name="dataSource">jdbc/WSO2UMDB</Property>']
    assert run_planner(USER_MGT, plan_user_mgt, "esb-w1", data=fc.new)[0].items == []


def test_registry_sharedregistry_dbconfig_after_wso2registry_with_crlf():
    edits, fc = run_planner(REGISTRY, plan_registry_dbconfig, "esb-mgr")
    old = shipped(REGISTRY)
    anchor = b'    <dbConfig name="wso2registry">\r\n        <dataSource>jdbc/WSO2CarbonDB</dataSource>\r\n    </dbConfig>\r\n'
    assert anchor in fc.new
    assert fc.new == old.replace(anchor, anchor + b'    <dbConfig name="sharedregistry">\r\n'
                                 b'        <dataSource>jdbc/WSO2RegistryDB</dataSource>\r\n    </dbConfig>\r\n')
    assert fc.new.count(b"\n") == fc.new.count(b"\r\n")
    assert [i.line() for i in edits.items] == [
        f"{REGISTRY}: dbConfig[@name='sharedregistry']: wanted 'jdbc/WSO2RegistryDB', actual (absent)"]
    assert run_planner(REGISTRY, plan_registry_dbconfig, "esb-w1", data=fc.new)[0].items == []


def test_registry_sharedregistry_wrong_datasource_edited_in_place():
    good = run_planner(REGISTRY, plan_registry_dbconfig, "esb-mgr")[1].new
    bad = good.replace(b"<dataSource>jdbc/WSO2RegistryDB</dataSource>", b"<dataSource>jdbc/Other</dataSource>")
    edits, fc = run_planner(REGISTRY, plan_registry_dbconfig, "esb-mgr", data=bad)
    assert [i.what for i in edits.items] == ["dbConfig[@name='sharedregistry']/dataSource"] and fc.new == good


# ---------------------------------------------------------------- the step on a node in memory (tests/memnode.py)

@pytest.mark.parametrize("host,local", [("esb-mgr", "REGISTRY_LOCAL1"), ("esb-w1", "REGISTRY_LOCAL2")])
def test_configure_datasources_plans_the_three_shipped_files_and_converges(host, local):
    inv = inventory()
    node = product_node(inv.hosts[host])
    plan, _ = plan_on(ConfigureDatasources(), node, inv)
    ds = f"datasource[name='{local}']"
    conf = f"{ds}/definition/configuration"
    assert whats(plan) == [(MASTER, w) for w in (
        f"{ds}/name", f"{ds}/description", f"{conf}/url", f"{conf}/username", f"{conf}/password",
        f"{conf}/driverClassName", "datasource[name='REGISTRY_DB']", "datasource[name='WSO2_USER_DB']",
        "mode (holds a secret: no access for others)")] + [
        (USER_MGT, "Realm/Configuration/Property[@name='dataSource']"),
        (REGISTRY, "dbConfig[@name='sharedregistry']")]
    home = inv.hosts[host].product_home
    assert [f.path for f in plan.files] == [f"{home}/{r}" for r in (MASTER, USER_MGT, REGISTRY)]
    assert "Db-pässword22" not in "".join(f.diff() for f in plan.files)
    patch_on(ConfigureDatasources(), node, inv)
    assert node.stat(f"{home}/{MASTER}").mode & 0o7777 == 0o640
    assert not plan_on(ConfigureDatasources(), node, inv)[0]
