"""create-dbs planning from state snapshots (no server): items, operations, blocking errors;
the password check without a login route; targets, grant hosts and the route from hosts.toml."""
from __future__ import annotations

from tasks.remote import mysql
from tasks.remote.mysql import Route, native_password_hash
from tasks.rules import db_hosts
from tasks.secrets import Secrets
from tasks.engine.context import StepContext
from tasks.steps.databases import CreateDbs, check_passwords, grant_hosts
from tasks.steps.dbplan import Account, State, Wanted, _version_tuple, alter_password_sql, plan_databases, retire_sql
from tasks.steps.dbscript import Script
from tests.lab import product_fixture
from tests.unit.helpers import base_data, inventory
import pytest

from tasks.engine.context import StepError
from tasks.steps.databases import inside_home
from tasks.steps.databases import wanted as wanted_of
from tests.memnode import MemoryNode, node_context, product_node

MAIN = Script.parse("dbscripts/mysql.sql", (product_fixture() / "dbscripts/mysql.sql").read_bytes())
IDENTITY = Script.parse("dbscripts/identity/mysql.sql", (
    product_fixture().parent / "wso2esb-4.9.0.extras/not-shipped/dbscripts/identity/mysql.sql").read_bytes())
DBS = ("WSO2_USER_DB", "REGISTRY_DB", "REGISTRY_LOCAL1", "REGISTRY_LOCAL2")
HOSTS = ("192.168.1.12", "192.168.1.13")
ALL_TABLES = frozenset(t.lower() for t in MAIN.tables)
N, NI = len(MAIN.tables), len(IDENTITY.tables)  # 39 and 41 for the shipped scripts


def wanted(identity: bool = False) -> Wanted:
    loads = {db: (MAIN,) for db in DBS}
    if identity:
        loads["WSO2_USER_DB"] = (MAIN, IDENTITY)
    return Wanted("latin1", "regadmin", HOSTS, loads)


def in_sync() -> State:
    return State({db: "latin1" for db in DBS}, {db: ALL_TABLES for db in DBS},
                 {h: Account(True, frozenset(DBS), "ok") for h in HOSTS})


def lines(out) -> list[str]:
    return [i.line() for i in out.items]


def test_fresh_server_plans_everything_in_order():
    w = wanted()
    out = plan_databases(w, State())
    assert out.errors == []
    kinds = [(o.kind, o.db, o.host) for o in out.ops]
    assert kinds[:2] == [("create-db", "WSO2_USER_DB", ""), ("load", "WSO2_USER_DB", "")]
    assert kinds[8:10] == [("create-user", "", "192.168.1.12"), ("grant", "WSO2_USER_DB", "192.168.1.12")]
    assert len(kinds) == 8 + 2 * 5
    assert "database REGISTRY_DB: database: wanted 'present, charset latin1', actual (absent)" in lines(out)
    assert f"database REGISTRY_DB: tables of dbscripts/mysql.sql: wanted 'all {N}', actual 'none'" in lines(out)
    described = [o.describe(w) for o in out.ops]
    assert described[0] == "CREATE DATABASE `WSO2_USER_DB` CHARACTER SET latin1"
    assert described[1] == f"load dbscripts/mysql.sql into WSO2_USER_DB ({len(MAIN.statements)} statements, {N} tables)"
    assert described[8] == "CREATE USER IF NOT EXISTS 'regadmin'@'192.168.1.12' IDENTIFIED BY '********'"
    assert described[9] == "GRANT ALL PRIVILEGES ON `WSO2_USER_DB`.* TO 'regadmin'@'192.168.1.12'"


def test_in_sync_server_plans_nothing():
    out = plan_databases(wanted(), in_sync())
    assert (out.items, out.ops, out.errors) == ([], [], [])


def test_half_loaded_database_is_an_error_naming_the_missing_tables():
    s = in_sync()
    s.tables["REGISTRY_LOCAL1"] = ALL_TABLES - {"reg_log", "um_user"}
    out = plan_databases(wanted(), s)
    assert out.ops == []
    assert out.errors == [f"REGISTRY_LOCAL1 is half-loaded: it lacks 2 of the {N} tables dbscripts/mysql.sql creates "
                          "(REG_LOG, UM_USER); the script is not re-runnable and nothing is dropped: restore "
                          "REGISTRY_LOCAL1 or drop it by hand"]
    assert lines(out) == [f"database REGISTRY_LOCAL1: tables of dbscripts/mysql.sql: wanted 'all {N}', "
                          f"actual '{N - 2} of {N}, missing REG_LOG, UM_USER'"]


def test_scripts_load_only_into_an_empty_database():
    s = in_sync()
    s.tables["REGISTRY_DB"] = frozenset({"my_own_table"})
    out = plan_databases(wanted(), s)
    assert out.errors == ["REGISTRY_DB is not empty (it holds my_own_table, which dbscripts/mysql.sql does not "
                          "create); the script runs only into an empty database"]
    assert out.ops == []
    s.tables["REGISTRY_DB"] = ALL_TABLES | {"my_own_table"}  # complete, plus a table of the operator's: fine
    assert plan_databases(wanted(), s).items == []


def test_identity_script_loads_after_the_main_script_tables():
    out = plan_databases(wanted(identity=True), in_sync())
    assert [(o.kind, o.db, o.script.label) for o in out.ops] == [("load", "WSO2_USER_DB", "dbscripts/identity/mysql.sql")]
    assert out.errors == []
    assert lines(out) == [f"database WSO2_USER_DB: tables of dbscripts/identity/mysql.sql: wanted 'all {NI}', "
                          "actual 'none'"]


def test_charset_is_corrected_only_in_an_empty_database():
    s = in_sync()
    s.charsets["REGISTRY_LOCAL2"] = "utf8mb4"
    s.tables.pop("REGISTRY_LOCAL2")
    out = plan_databases(wanted(), s)
    assert [(o.kind, o.db) for o in out.ops] == [("alter-charset", "REGISTRY_LOCAL2"), ("load", "REGISTRY_LOCAL2")]
    assert "database REGISTRY_LOCAL2: charset: wanted 'latin1', actual 'utf8mb4'" in lines(out)
    s = in_sync()
    s.charsets["REGISTRY_DB"] = "utf8mb4"
    out = plan_databases(wanted(), s)
    assert out.ops == [] and out.errors[0].startswith("REGISTRY_DB has charset utf8mb4, not latin1, and already")


def test_accounts_password_and_grants():
    s = in_sync()
    s.accounts["192.168.1.12"] = Account(True, frozenset({"REGISTRY_DB", "WSO2_USER_DB"}), "login refused")
    s.accounts["192.168.1.13"] = Account(True, frozenset({"*"}), "ok")
    w = wanted()
    out = plan_databases(w, s)
    assert [(o.kind, o.db) for o in out.ops] == [("alter-user", ""), ("grant", "REGISTRY_LOCAL1"),
                                                ("grant", "REGISTRY_LOCAL2")]
    assert out.ops[0].describe(w) == "ALTER USER 'regadmin'@'192.168.1.12' IDENTIFIED BY '********'"
    assert lines(out) == [
        "user 'regadmin'@'192.168.1.12': password: wanted 'WSO2_DB_PASSWORD', actual 'login refused'",
        "user 'regadmin'@'192.168.1.12': grants: wanted 'ALL PRIVILEGES ON WSO2_USER_DB.*, REGISTRY_DB.*, "
        "REGISTRY_LOCAL1.*, REGISTRY_LOCAL2.*', actual 'ALL PRIVILEGES ON WSO2_USER_DB.*, REGISTRY_DB.*'"]


def test_password_checked_by_stored_hash_when_no_login_route():
    s = State(accounts={h: Account(True) for h in HOSTS + ("10.0.0.9",)})
    rows = {"192.168.1.12": {"plugin": "mysql_native_password", "authentication_string": native_password_hash("pw")},
            "192.168.1.13": {"plugin": "", "authentication_string": "", "Password": native_password_hash("old")},
            "10.0.0.9": {"plugin": "caching_sha2_password", "authentication_string": "$A$005$xyz"}}
    w = Wanted("latin1", "regadmin", HOSTS + ("10.0.0.9",), {})
    notes = check_passwords(s, rows, Route(("192.168.1.20",), 3306), w, "pw")  # no connection is attempted
    assert s.accounts["192.168.1.12"].password == "ok"
    assert s.accounts["192.168.1.13"].password == "stored hash differs"
    assert s.accounts["10.0.0.9"].password is None
    assert notes == ["password of 'regadmin'@'10.0.0.9' not checked (plugin caching_sha2_password; "
                     "no connection can come from 10.0.0.9 here)"]


def route_for(ctx: StepContext) -> Route:
    """The database route from a step's context, as create-dbs takes it (remote/mysql.py)."""
    return mysql.route_for(ctx.inv, ctx.host, ctx.remote)


def test_targets_grant_hosts_and_route_from_hosts_toml():
    inv = inventory()
    step = CreateDbs()
    assert [h.name for h in db_hosts(inv)] == ["db1"]
    assert step.applies_to(inv.hosts["esb-w1"], inv) == "not the database host (role worker)"
    assert grant_hosts(inv) == ("192.168.1.12", "192.168.1.13", "192.168.1.14")
    ctx = StepContext(inv.hosts["db1"], inv, Secrets({}), remote=None)
    r = route_for(ctx)  # [database].host = "db1", tunnel false by default
    assert (r.dests, r.via) == (("192.168.1.20",), None)

    data = base_data()
    data["database"].update(tunnel=True, port=3307, grant_hosts=["192.168.1.%"])
    inv = inventory(data)
    ctx = StepContext(inv.hosts["db1"], inv, Secrets({}), remote="db1-connection")
    r = route_for(ctx)  # through db1's own SSH: its loopback first, then its address
    assert (r.dests, r.port, r.via) == (("127.0.0.1", "192.168.1.20"), 3307, "db1-connection")
    assert grant_hosts(inv) == ("192.168.1.%",)

    data["database"]["host"] = "10.1.1.1"
    del data["hosts"]["db1"]
    inv = inventory(data)
    ctx = StepContext(inv.hosts["esb-mgr"], inv, Secrets({}), remote="mgr-connection")
    assert route_for(ctx).dests == ("10.1.1.1",)
    assert db_hosts(inv) == []


def test_an_account_for_an_address_no_node_has_is_drift_and_dropped():
    """Scale in: a worker left hosts.toml; its account (and with it its grants) goes too (issue 23)."""
    s = in_sync()
    s.strays = ("192.168.1.14",)
    w = wanted()
    out = plan_databases(w, s)
    assert lines(out) == ["user 'regadmin'@'192.168.1.14': account: wanted (absent), actual 'present (no node of "
                          "hosts.toml has this address)'"]
    assert [(o.kind, o.host) for o in out.ops] == [("drop-user", "192.168.1.14")]
    assert out.ops[0].describe(w) == "DROP USER 'regadmin'@'192.168.1.14'  (no node of hosts.toml has this address)"


def test_a_new_password_keeps_the_old_one_accepted_where_the_server_can_hold_two():
    s = in_sync()
    s.accounts["192.168.1.12"] = Account(True, frozenset(DBS), "login refused")
    w = wanted()
    for dual, kept in (("mariadb", True), ("mysql", True), ("", False)):
        s.dual = dual
        out = plan_databases(w, s)
        assert [(o.kind, o.host, o.dual) for o in out.ops] == [("alter-user", "192.168.1.12", dual)]
        said = out.ops[0].describe(w)
        assert ("old password still accepted" in said) is kept, said
        assert len(out.notes) == 1 and ("stays accepted" in out.notes[0]) is kept, out.notes
        assert "cannot accept two passwords" in out.notes[0] or kept


def test_an_older_password_still_accepted_is_a_warning_and_retired_only_when_asked():
    s = in_sync()
    s.dual = "mariadb"
    s.accounts["192.168.1.13"] = Account(True, frozenset(DBS), "ok", older=True)
    out = plan_databases(wanted(), s)
    assert out.ops == [] and out.items == []
    assert [(i.file, i.fix) for i in out.warnings] == [("user 'regadmin'@'192.168.1.13'", "fab rotate-passwords")]
    w = Wanted("latin1", "regadmin", HOSTS, wanted().loads, retire=True)
    out = plan_databases(w, s)
    assert [(o.kind, o.host) for o in out.ops] == [("retire-old", "192.168.1.13")] and out.warnings == []
    assert out.ops[0].describe(w).endswith("only WSO2_DB_PASSWORD accepted (the older password retired)")
    s.accounts["192.168.1.13"].password = "login refused"  # a second new password before the first rotation ended
    out = plan_databases(w, s)
    assert [o.kind for o in out.ops] == ["alter-user"]


def test_the_sql_that_keeps_and_retires_an_old_password():
    assert alter_password_sql("mariadb", True) == ("ALTER USER %s@%s IDENTIFIED VIA mysql_native_password USING "
                                                   "PASSWORD(%s) OR mysql_native_password USING %s")
    assert alter_password_sql("mysql", True) == "ALTER USER %s@%s IDENTIFIED BY %s RETAIN CURRENT PASSWORD"
    assert alter_password_sql("mariadb", False) == alter_password_sql("", True) == "ALTER USER %s@%s IDENTIFIED BY %s"
    assert retire_sql("mysql") == "ALTER USER %s@%s DISCARD OLD PASSWORD"
    assert retire_sql("mariadb") == "ALTER USER %s@%s IDENTIFIED BY %s"
    assert [_version_tuple(v) for v in ("10.11.19-mariadb-0+deb12u1", "8.0.36", "5.7", "x")] == [
        (10, 11, 19), (8, 0, 36), (5, 7, 0), (0,)]


# ---------------------------------------------------------------- the step on nodes in memory (tests/memnode.py)
# What create-dbs reads of the nodes (the manager's dbscripts, checked inside its product home) and how it reaches
# the server are planned here on MemoryNodes; what it reads of the server (read_state: information_schema,
# mysql.user, SHOW GRANTS), the logins that check the password and the SQL it runs need MariaDB: the acceptance
# tests (tests/acceptance/test_databases.py) cover them against a real server.

def db_context(data: dict | None = None, mgr: MemoryNode | None = None):
    inv = inventory(data)
    mgr = mgr or product_node(inv.hosts.get("esb-mgr") or inv.hosts["esb-w1"])
    db = MemoryNode(inv.hosts["db1"])
    secrets = Secrets({"MYSQL_ADMIN_PASSWORD": "Admin-db-pass1", "WSO2_DB_PASSWORD": "Db-pass-22"})
    return node_context(db, inv, secrets, others={"esb-mgr": mgr}), mgr


def test_the_wanted_state_reads_the_managers_shipped_dbscript_and_plans_a_fresh_server():
    ctx, mgr = db_context()
    w, notes = wanted_of(ctx)
    assert notes == ["dbscripts/identity/mysql.sql: skipped (not shipped in esb-mgr:/opt/wso2esb-4.9.0)"]
    assert w.user == "regadmin" and w.grant_hosts == ("192.168.1.12", "192.168.1.13", "192.168.1.14")
    assert {db: [(s.label, s.where, s.shipped) for s in scripts] for db, scripts in w.loads.items()} == {
        db: [("dbscripts/mysql.sql", "esb-mgr:/opt/wso2esb-4.9.0/dbscripts/mysql.sql", MAIN.shipped)] for db in DBS}
    assert MAIN.shipped and [s.tables for s in w.loads["REGISTRY_DB"]] == [MAIN.tables]  # the manager's bytes
    fresh = plan_databases(w, State())
    assert fresh.errors == [] and len(fresh.ops) > 0
    done = State({db: w.charset for db in DBS}, {db: ALL_TABLES for db in DBS},
                 {h: Account(True, frozenset(DBS), "ok") for h in w.grant_hosts})
    assert plan_databases(w, done).items == [] and plan_databases(w, done).ops == []


def test_a_dbscript_that_leads_out_of_the_product_home_is_refused_unread():
    ctx, mgr = db_context()
    home = mgr.host.product_home
    mgr.add_file("/etc/shadow", b"root:x:...")
    mgr.add_link(f"{home}/dbscripts/mysql.sql", "/etc/shadow")
    with pytest.raises(StepError, match=r"esb-mgr:/opt/wso2esb-4.9.0/dbscripts/mysql.sql leads to /etc/shadow through "
                                        r"a symbolic link, outside the product home; refused, not read"):
        wanted_of(ctx)
    assert mgr.reads == []
    m = ctx.other(mgr.host)
    mgr.add_link(home, "/srv/wso2esb")  # a product home that is itself a link: its scripts are inside it
    mgr.add_file("/srv/wso2esb/dbscripts/mysql.sql", b"CREATE TABLE T (A INT);")
    assert inside_home(m, "dbscripts/mysql.sql") == f"{home}/dbscripts/mysql.sql"


def test_without_a_manager_or_its_dbscript_create_dbs_says_what_is_missing():
    data = base_data()
    ctx, mgr = db_context(data)
    mgr.remove(f"{mgr.host.product_home}/dbscripts/mysql.sql")
    with pytest.raises(StepError, match="dbscripts/mysql.sql is missing on esb-mgr"):
        wanted_of(ctx)
    del data["hosts"]["esb-mgr"]
    data["svn"]["host"] = "esb-w1"
    with pytest.raises(StepError, match='no host with role = "manager"'):
        wanted_of(db_context(data)[0])


def test_a_tunnelled_route_goes_through_the_db_hosts_connection_and_an_unreachable_server_is_a_clear_error():
    data = base_data()
    data["database"]["tunnel"] = True
    ctx, _ = db_context(data)
    route = route_for(ctx)
    assert route.via is ctx.remote and route.dests == ("127.0.0.1", "192.168.1.20")
    with pytest.raises(StepError, match=r"database unreachable at 127.0.0.1/192.168.1.20:3306 through SSH to db1"):
        CreateDbs().plan(ctx)
