"""create-dbs against a real MariaDB, reached through the lab's db1 sshd (tunnel) or directly.

Each bad input asserts its message and that nothing changed (no database, no account, no file,
no write counted by the server).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import pymysql
import pytest

from tasks.formats.sqlscript import created_tables, split_statements
from tests.lab import LAB_NET as NET, REPO, fab_bin, product_fixture
from tests.mariadb import APP_USER, DATABASES, READ_COUNTERS

ADMIN_PW = None  # the server's root password (set per test from the fixture)
APP_PW = "app'Pw\"q\\%;7731"  # quote, double quote, backslash, percent: a parameter, never spliced
GRANT_HOSTS = (f"{NET}.2", f"{NET}.3", f"{NET}.4")  # the ESB nodes' member_host
SCRIPT_TABLES = set(created_tables(split_statements(
    (product_fixture() / "dbscripts/mysql.sql").read_text())))
IDENTITY = product_fixture().parent / "wso2esb-4.9.0.extras/not-shipped/dbscripts/identity/mysql.sql"


@pytest.fixture
def db(lab, mariadb):
    """A clean server and a lab whose hosts.toml points [database] at it through db1 (tunnel)."""
    mariadb.reset()
    lab.extra_toml = mariadb.toml()
    lab.write_toml()
    lab.write_env(MYSQL_ADMIN_PASSWORD=mariadb.root_password, WSO2_DB_PASSWORD=APP_PW)
    return mariadb


def writes(before: dict, after: dict) -> dict:
    """Com_* counters that moved and are not reads."""
    return {k: after[k] - before.get(k, 0) for k in after
            if after[k] != before.get(k, 0) and k not in READ_COUNTERS and not k.startswith("Com_show")}


def login(mariadb, source: str, password: str = APP_PW, database: str = "REGISTRY_DB"):
    """Connect as the application user from a loopback source address."""
    return pymysql.connect(host="127.0.0.1", port=mariadb.port, user=APP_USER, password=password,
                           database=database, bind_address=source)


def secrets_absent(mariadb, *texts: str) -> None:
    for t in texts:
        assert APP_PW not in t and mariadb.root_password not in t


def test_patch_through_tunnel_builds_guide_state_then_changes_nothing(lab, db):
    r = lab.fab("create-dbs")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[db1] create-dbs: changed" in r.stdout
    assert "note: dbscripts/identity/mysql.sql: skipped (not shipped in esb-mgr:" in r.stdout
    secrets_absent(db, r.stdout, r.stderr)
    assert db.databases() == {name: "latin1" for name in DATABASES}  # the server default is utf8mb4
    for name in DATABASES:
        assert db.tables(name) == SCRIPT_TABLES, name
    # the TIMESTAMP ... DEFAULT 0 columns exist (strict mode would have refused them)
    assert db.sql("SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'REGISTRY_DB' "
                  "AND TABLE_NAME = 'REG_RESOURCE' AND COLUMN_NAME = 'REG_CREATED_TIME'")[0][0] \
        in ("'0000-00-00 00:00:00'", "0000-00-00 00:00:00")
    assert sorted(h for (h,) in db.sql("SELECT Host FROM mysql.user WHERE User = %s", (APP_USER,))) == \
        sorted(GRANT_HOSTS)
    for source in GRANT_HOSTS:  # the application user logs in from each grant host and uses each database
        with login(db, source) as conn, conn.cursor() as cur:
            for name in DATABASES:
                cur.execute(f"SELECT COUNT(*) FROM `{name}`.REG_PATH")
            cur.execute("SELECT CURRENT_USER()")
            assert cur.fetchone()[0] == f"{APP_USER}@{source}"

    before, snap = db.com_counters(), lab.snapshot()
    again = lab.fab("create-dbs")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "[db1] create-dbs: ok" in again.stdout
    assert writes(before, db.com_counters()) == {}  # no SQL beyond reads
    assert lab.snapshot() == snap
    v = lab.fab("create-dbs", "--verify", "--json")
    assert v.returncode == 0, v.stdout
    assert json.loads(v.stdout)["hosts"]["db1"]["create-dbs"]["status"] == "ok"


def test_verify_lists_drift_and_patch_repairs_password_and_grants(lab, db):
    assert lab.fab("create-dbs").returncode == 0
    db.sql(f"ALTER USER %s@'{NET}.3' IDENTIFIED BY 'hand-changed-pw'", (APP_USER,))
    db.sql(f"REVOKE ALL PRIVILEGES ON `REGISTRY_DB`.* FROM %s@'{NET}.4'", (APP_USER,))
    db.sql(f"DROP USER %s@'{NET}.2'", (APP_USER,))
    before = db.com_counters()
    v = lab.fab("create-dbs", "--verify")
    assert v.returncode == 2, v.stdout + v.stderr
    assert writes(before, db.com_counters()) == {}
    assert f"user 'regadmin'@'{NET}.3': password: wanted 'WSO2_DB_PASSWORD', actual 'login refused'" in v.stdout
    assert (f"user 'regadmin'@'{NET}.4': grants: wanted 'ALL PRIVILEGES ON WSO2_USER_DB.*, REGISTRY_DB.*, "
            "REGISTRY_LOCAL1.*, REGISTRY_LOCAL2.*', actual 'ALL PRIVILEGES ON WSO2_USER_DB.*, REGISTRY_LOCAL1.*, "
            "REGISTRY_LOCAL2.*'") in v.stdout
    assert f"user 'regadmin'@'{NET}.2': account: wanted 'present', actual (absent)" in v.stdout
    secrets_absent(db, v.stdout, v.stderr)

    r = lab.fab("create-dbs")
    assert r.returncode == 0, r.stdout + r.stderr
    for source in GRANT_HOSTS:
        login(db, source).close()
    assert lab.fab("create-dbs", "--verify").returncode == 0


def test_dry_run_shows_sql_without_secrets_and_changes_nothing(lab, db):
    before = db.com_counters()
    r = lab.fab("create-dbs", "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "# would run: CREATE DATABASE `REGISTRY_LOCAL1` CHARACTER SET latin1" in r.stdout
    assert "# would run: load dbscripts/mysql.sql into WSO2_USER_DB (" in r.stdout
    assert f"# would run: CREATE USER IF NOT EXISTS 'regadmin'@'{NET}.3' IDENTIFIED BY '********'" in r.stdout
    assert f"# would run: GRANT ALL PRIVILEGES ON `REGISTRY_DB`.* TO 'regadmin'@'{NET}.2'" in r.stdout
    secrets_absent(db, r.stdout, r.stderr)
    assert db.databases() == {}
    assert writes(before, db.com_counters()) == {}


def test_direct_connection_without_tunnel(lab, db):
    lab.extra_toml = db.toml(host="127.0.0.1", tunnel=False)
    lab.write_toml()
    db.sql("CREATE DATABASE REGISTRY_LOCAL2 CHARACTER SET utf8mb4")  # empty: its charset is corrected
    r = lab.fab("create-dbs", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    items = json.loads(r.stdout)["hosts"]["db1"]["create-dbs"]["items"]
    assert {"file": "database REGISTRY_LOCAL2", "what": "charset", "wanted": "latin1", "actual": "utf8mb4"} in items
    assert db.databases() == {name: "latin1" for name in DATABASES}
    assert db.tables("REGISTRY_LOCAL2") == SCRIPT_TABLES
    assert lab.fab("create-dbs", "--verify").returncode == 0


def test_identity_script_is_loaded_into_user_db_when_shipped(lab, db):
    target = lab.hosts["esb-mgr"].home / "dbscripts/identity/mysql.sql"
    target.parent.mkdir()
    shutil.copyfile(IDENTITY, target)
    r = lab.fab("create-dbs")
    assert r.returncode == 0, r.stdout + r.stderr
    assert ": skipped" not in r.stdout  # no script left out (the recap's skipped=0 counts steps)
    identity_tables = set(created_tables(split_statements(IDENTITY.read_text())))
    assert db.tables("WSO2_USER_DB") == SCRIPT_TABLES | identity_tables
    assert db.tables("REGISTRY_DB") == SCRIPT_TABLES
    assert db.sql("SELECT * FROM WSO2_USER_DB.IDN_BASE_TABLE") == [("WSO2 Identity Server",)]
    assert lab.fab("create-dbs", "--verify").returncode == 0


# ---------------------------------------------------------------- bad input: message and no change

def assert_failed_without_change(lab, db, r, message: str, before_counters, snap) -> None:
    assert r.returncode == 1, r.stdout + r.stderr
    assert "[db1] create-dbs: failed" in r.stdout
    assert message in r.stdout, r.stdout
    secrets_absent(db, r.stdout, r.stderr)
    assert writes(before_counters, db.com_counters()) == {}
    assert lab.snapshot() == snap


def test_wrong_admin_password(lab, db):
    lab.write_env(MYSQL_ADMIN_PASSWORD="wrong-Admin-pw-42", WSO2_DB_PASSWORD=APP_PW)
    before, snap = db.com_counters(), lab.snapshot()
    r = lab.fab("create-dbs")
    assert_failed_without_change(lab, db, r, "MySQL refused the admin user 'root' (check MYSQL_ADMIN_PASSWORD)",
                                 before, snap)
    assert "wrong-Admin-pw-42" not in r.stdout + r.stderr
    assert db.databases() == {}


def test_database_unreachable(lab, db):
    lab.extra_toml = db.toml(extra="").replace(f"port = {db.port}", "port = 9")  # nothing listens there
    lab.write_toml()
    before, snap = db.com_counters(), lab.snapshot()
    r = lab.fab("create-dbs")
    assert_failed_without_change(lab, db, r, f"database unreachable at 127.0.0.1/{NET}.5:9 through SSH to db1",
                                 before, snap)


def test_half_loaded_database_is_refused_and_nothing_dropped(lab, db):
    assert lab.fab("create-dbs").returncode == 0
    db.sql("DROP TABLE REG_LOG", database="REGISTRY_LOCAL1")
    db.sql("DROP DATABASE REGISTRY_LOCAL2")
    v = lab.fab("create-dbs", "--verify")
    assert v.returncode == 2
    n = len(db.tables("REGISTRY_DB"))  # every table of the script (39 in the shipped one)
    assert (f"database REGISTRY_LOCAL1: tables of dbscripts/mysql.sql: wanted 'all {n}', "
            f"actual '{n - 1} of {n}, missing REG_LOG'") in v.stdout
    before, snap = db.com_counters(), lab.snapshot()
    r = lab.fab("create-dbs")
    assert_failed_without_change(
        lab, db, r, f"REGISTRY_LOCAL1 is half-loaded: it lacks 1 of the {n} tables dbscripts/mysql.sql creates (REG_LOG)",
        before, snap)
    assert "REGISTRY_LOCAL2" not in db.databases()  # the healthy part is not done either: all or nothing
    assert len(db.tables("REGISTRY_LOCAL1")) == n - 1


def test_missing_application_password(lab, db):
    lab.write_env(MYSQL_ADMIN_PASSWORD=db.root_password)
    before, snap = db.com_counters(), lab.snapshot()
    r = lab.fab("create-dbs")
    assert_failed_without_change(lab, db, r, "WSO2_DB_PASSWORD is not set", before, snap)


def test_foreign_table_blocks_loading(lab, db):
    db.sql("CREATE DATABASE REGISTRY_DB CHARACTER SET latin1")
    db.sql("CREATE TABLE MY_NOTES (a INT)", database="REGISTRY_DB")
    v = lab.fab("create-dbs", "--verify")
    assert v.returncode == 2
    assert "note: patch would refuse: REGISTRY_DB is not empty (it holds my_notes" in v.stdout
    before, snap = db.com_counters(), lab.snapshot()
    r = lab.fab("create-dbs")
    assert_failed_without_change(lab, db, r, "the script runs only into an empty database", before, snap)
    assert db.tables("REGISTRY_DB") == {"MY_NOTES"}


def test_missing_dbscript(lab, db):
    script = lab.hosts["esb-mgr"].home / "dbscripts/mysql.sql"
    script.unlink()
    before, snap = db.com_counters(), lab.snapshot()
    r = lab.fab("create-dbs")
    assert_failed_without_change(lab, db, r, f"{script} is missing on esb-mgr", before, snap)
    assert db.databases() == {}


def test_failing_statement_is_named_with_its_line(lab, db):
    script = lab.hosts["esb-mgr"].home / "dbscripts/mysql.sql"
    lines = script.read_text().count("\n")
    # schema by the check (issue 29: anything else is refused before it runs), refused by the server
    script.write_text(script.read_text() + "\nCREATE TABLE BROKEN (a INT,);\n")
    snap = lab.snapshot()
    r = lab.fab("create-dbs")
    assert r.returncode == 1
    assert (f"dbscripts/mysql.sql into WSO2_USER_DB: the statement at line {lines + 2} (CREATE TABLE BROKEN "
            "(a INT,)) failed: You have an error in your SQL syntax") in r.stdout, r.stdout
    assert "WSO2_USER_DB is unchanged (the statements before it are in WSO2_USER_DB__esbload; a rerun drops it " \
        "and loads again)" in r.stdout, r.stdout
    assert set(db.databases()) == {"WSO2_USER_DB"}  # it stopped at the first failure
    assert db.tables("WSO2_USER_DB") == set()  # never half-loaded (issue 30): all of the script's tables or none
    assert db.tables("WSO2_USER_DB__esbload") == SCRIPT_TABLES  # the statements before the bad one, nothing more
    assert lab.snapshot() == snap  # no file on any host, no lock or backup left in a state_dir


def test_a_database_change_keeps_its_undo_and_rollback_restores_it(lab, db):
    """create-dbs on an existing server (a new password, a dropped account of a node that left): the SQL that puts
    the accounts back is kept with the run's backups on db1 (mode 0600, never shown), and rollback runs it: the old
    password logs in again, the dropped account is back with its grants (issue 23)."""
    import os
    assert lab.fab("create-dbs").returncode == 0
    db.sql(f"CREATE USER %s@'{NET}.9' IDENTIFIED BY 'old-node-pw-1'", (APP_USER,))
    db.sql(f"GRANT ALL PRIVILEGES ON `REGISTRY_DB`.* TO %s@'{NET}.9'", (APP_USER,))
    grants_before = {h: sorted(r[0] for r in db.sql(f"SHOW GRANTS FOR '{APP_USER}'@'{h}'"))
                     for h in GRANT_HOSTS + (f"{NET}.9",)}
    new_pw = "new-App-pw-7731"
    lab.write_env(MYSQL_ADMIN_PASSWORD=db.root_password, WSO2_DB_PASSWORD=new_pw)
    r = lab.fab("create-dbs")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"user '{APP_USER}'@'{NET}.9': account: wanted (absent)" in r.stdout, r.stdout
    assert not db.sql(f"SELECT Host FROM mysql.user WHERE User=%s AND Host='{NET}.9'", (APP_USER,))
    undo = sorted(lab.state_dir("db1").glob("backups/*/sql/*-create-dbs.sql"))  # a run each: both changed accounts
    assert len(undo) == 2 and os.stat(undo[-1]).st_mode & 0o777 == 0o600, undo
    accounts = ", ".join(f"'{APP_USER}'@'{h}'" for h in GRANT_HOSTS + (f"{NET}.9",))
    notice = f"this rollback puts the database accounts {accounts} back as they were before run "
    r = lab.fab("-H", "db1", "rollback", "--dry-run")  # said before it runs
    assert r.returncode == 0 and notice in r.stdout and "are refused by the database until .env" in r.stdout, \
        r.stdout
    r = lab.fab("-H", "db1", "rollback")
    # issue 30: the accounts now hold the password of before the run, .env still says new_pw: the nodes would be
    # refused, so the row fails naming them and the fix (the rollback itself is done)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.index(notice) < r.stdout.index("[db1] rollback: failed"), r.stdout
    assert f"rolled back, but the database accounts {accounts} now have the password of before the run" \
        in r.stdout, r.stdout  # the .9 account's too: its own old password, not .env's
    assert "fix: put WSO2_DB_PASSWORD back to the old value in .env, then fab rolling-restart" in r.stdout
    assert "or fab create-dbs to re-apply .env" in r.stdout
    assert "PASSWORD" not in r.stdout.replace("WSO2_DB_PASSWORD", "") + r.stderr and new_pw not in r.stdout + r.stderr
    grants_after = {h: sorted(r[0] for r in db.sql(f"SHOW GRANTS FOR '{APP_USER}'@'{h}'"))
                    for h in GRANT_HOSTS + (f"{NET}.9",)}
    assert grants_after == grants_before
    login(db, GRANT_HOSTS[0], APP_PW).close()  # the password of before the run logs in again
    r = lab.fab("-H", "db1", "rollback")  # the run is done and marked: the next rollback goes one run further back
    assert r.returncode == 0 and "created by run" in r.stdout and "dropped again" in r.stdout, r.stdout


def test_a_rollback_of_a_password_change_with_env_put_back_first_is_ok(lab, db):
    assert lab.fab("create-dbs").returncode == 0
    lab.write_env(MYSQL_ADMIN_PASSWORD=db.root_password, WSO2_DB_PASSWORD="new-App-pw-7731")
    assert lab.fab("create-dbs").returncode == 0
    lab.write_env(MYSQL_ADMIN_PASSWORD=db.root_password, WSO2_DB_PASSWORD=APP_PW)  # .env matches what comes back
    r = lab.fab("-H", "db1", "rollback")
    assert r.returncode == 0 and "[db1] rollback: rolled back" in r.stdout, r.stdout
    login(db, GRANT_HOSTS[0], APP_PW).close()


def test_rollback_all_consumes_the_database_runs_and_a_later_rollback_reverts_nothing(lab, db):
    """rollback --all puts files back and leaves the database as it is; the runs that changed it are marked
    rolled back (consumed): a later `rollback` must not revert the password .env now holds."""
    assert lab.fab("create-dbs").returncode == 0
    new_pw = "new-App-pw-7731"
    lab.write_env(MYSQL_ADMIN_PASSWORD=db.root_password, WSO2_DB_PASSWORD=new_pw)
    assert lab.fab("create-dbs").returncode == 0
    r = lab.fab("rollback", "--all")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "changed the database: rollback --all puts back files only" in r.stdout, r.stdout
    r = lab.fab("rollback")
    assert r.returncode == 0 and "nothing to roll back" in r.stdout, r.stdout
    login(db, GRANT_HOSTS[0], new_pw).close()  # the password .env holds still logs in
    assert lab.fab("create-dbs", "--verify").returncode == 0


def test_scale_in_never_drops_the_account_a_running_server_uses(lab, db):
    """A node left hosts.toml but its server still runs (a connection from its address): create-dbs names the
    connection and drops nothing; once the connection is gone, the account goes (issue 31)."""
    assert lab.fab("create-dbs").returncode == 0
    db.sql(f"CREATE USER %s@'{NET}.9' IDENTIFIED BY %s", (APP_USER, APP_PW))
    db.sql(f"GRANT ALL PRIVILEGES ON `REGISTRY_DB`.* TO %s@'{NET}.9'", (APP_USER,))
    conn = login(db, f"{NET}.9")
    try:
        for args in (("create-dbs", "--dry-run"), ("create-dbs",)):
            r = lab.fab(*args)
            assert r.returncode == 1, r.stdout + r.stderr
            assert f"user '{APP_USER}'@'{NET}.9' is in use (connection " in r.stdout, r.stdout
            assert f"from {NET}.9:" in r.stdout and "not dropped" in r.stdout
        assert db.sql(f"SELECT Host FROM mysql.user WHERE User=%s AND Host='{NET}.9'", (APP_USER,))
    finally:
        conn.close()
    r = lab.fab("create-dbs")
    assert r.returncode == 0 and f"user '{APP_USER}'@'{NET}.9': account: wanted (absent)" in r.stdout, r.stdout
    assert not db.sql(f"SELECT Host FROM mysql.user WHERE User=%s AND Host='{NET}.9'", (APP_USER,))


def test_a_database_undo_changed_on_the_node_is_never_run_as_the_admin(lab, db):
    """The undo of a signed run is a file of the node's state: appended to (a GRANT to a new account), it no
    longer has the digest the signed manifest recorded, and rollback refuses it without running a statement."""
    assert lab.fab("create-dbs").returncode == 0
    lab.write_env(MYSQL_ADMIN_PASSWORD=db.root_password, WSO2_DB_PASSWORD="another-App-pw-5519")
    assert lab.fab("create-dbs").returncode == 0
    undo = sorted(lab.state_dir("db1").glob("backups/*/sql/*-create-dbs.sql"))[-1]
    undo.write_bytes(undo.read_bytes() + b"\nCREATE USER 'evil'@'%' IDENTIFIED BY 'x';\nGRANT ALL ON *.* TO 'evil'@'%';\n")
    before = server_state(db)
    r = lab.fab("-H", "db1", "rollback")
    assert r.returncode == 1 and "does not match it (changed on the node since)" in r.stdout, r.stdout
    assert "not run as the database admin" in r.stdout and server_state(db) == before


# ---------------------------------------------------------------- the dbscripts are untrusted (issue 29)

def server_state(db) -> tuple:
    """Every account, database and table of the server (the test's own view, as root)."""
    return (sorted(db.sql("SELECT User, Host FROM mysql.user")), sorted(db.sql("SHOW DATABASES")),
            sorted(db.sql("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES")))


TAMPERINGS = {  # how a hostile tester slips a statement in, and the first words the refusal names
    "appended": ("\nCREATE USER 'evil'@'%' IDENTIFIED BY 'Evil-pw-4711';\nGRANT ALL ON *.* TO 'evil'@'%';\n",
                 2, "CREATE USER"),
    "after-a-comment": ("\ncreate table X1 (a int); -- schema only\ngrant all on *.* to 'regadmin'@'%';\n",
                        3, "grant all on"),
    "executable-comment": ("\nCREATE TABLE X2 (a INT) /*!50000 ; CREATE USER 'evil'@'%' */;\n", 2, "CREATE TABLE X2"),
    "other-database": ("\nINSERT INTO `mysql`.`user` (User) VALUES ('evil');\n", 2, "INSERT INTO"),
}


@pytest.mark.parametrize("how", list(TAMPERINGS))
def test_a_tampered_dbscript_is_refused_naming_its_line_and_the_server_is_unchanged(lab, db, how):
    script = lab.hosts["esb-mgr"].home / "dbscripts/mysql.sql"
    added, offset, words = TAMPERINGS[how]
    line = script.read_text().count("\n") + offset
    script.write_text(script.read_text() + added)
    state, before, snap = server_state(db), db.com_counters(), lab.snapshot()
    for mode in ((), ("--dry-run",)):
        r = lab.fab("create-dbs", *mode)
        assert_failed_without_change(lab, db, r, f"esb-mgr:{script} is not a shipped dbscript (sha256 ", before, snap)
        assert f"and its line {line} ({words} ...) is not schema for the database" in r.stdout, r.stdout
        assert "Evil-pw-4711" not in r.stdout + r.stderr
    v = lab.fab("create-dbs", "--verify")
    assert v.returncode == 2 and "note: patch would refuse: esb-mgr:" in v.stdout, v.stdout
    assert server_state(db) == state and db.databases() == {}  # no account, no database, no table
    assert writes(before, db.com_counters()) == {}


def test_a_dbscript_linked_outside_the_product_home_is_not_read(lab, db, tmp_path):
    script = lab.hosts["esb-mgr"].home / "dbscripts/mysql.sql"
    outside = tmp_path / "mysql.sql"
    outside.write_bytes(script.read_bytes())  # the shipped bytes even: the link itself is refused
    script.unlink()
    script.symlink_to(outside)
    state, before, snap = server_state(db), db.com_counters(), lab.snapshot()
    r = lab.fab("create-dbs")
    assert_failed_without_change(lab, db, r, f"esb-mgr:{script} leads to {outside} through a symbolic link, "
                                             "outside the product home; refused, not read", before, snap)
    assert server_state(db) == state
    script.unlink()
    script.symlink_to("/etc/shadow")
    r = lab.fab("create-dbs", "--dry-run")
    assert r.returncode == 1 and "leads to /etc/shadow through a symbolic link" in r.stdout, r.stdout
    inside = script.parent / "mysql-copy.sql"  # a link that stays in the product home is read as a file
    inside.write_bytes(outside.read_bytes())
    script.unlink()
    script.symlink_to("mysql-copy.sql")
    r = lab.fab("create-dbs", "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    assert writes(before, db.com_counters()) == {} and server_state(db) == state


def test_dry_run_lists_each_script_with_its_digest_and_an_unknown_scripts_statements(lab, db):
    import hashlib
    home = lab.hosts["esb-mgr"].home
    main = home / "dbscripts/mysql.sql"
    identity = home / "dbscripts/identity/mysql.sql"
    identity.parent.mkdir()
    identity.write_bytes(b"\xef\xbb\xbf" + IDENTITY.read_bytes().replace(b"\n", b"\r\n"))  # a BOM and CRLF
    stmts = split_statements(IDENTITY.read_text())
    before = db.com_counters()
    r = lab.fab("create-dbs", "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    origin = "shipped 4.9.0" if "shared" in str(product_fixture()) else "sample 4.9.0 (this project's reduced copy)"
    n = len(split_statements(main.read_text()))
    assert (f"note: dbscripts/mysql.sql: esb-mgr:{main}, sha256 {hashlib.sha256(main.read_bytes()).hexdigest()}, "
            f"{origin}; {n} statements into each of WSO2_USER_DB, REGISTRY_DB, REGISTRY_LOCAL1, "
            f"REGISTRY_LOCAL2") in r.stdout, r.stdout
    assert (f"note: dbscripts/identity/mysql.sql: esb-mgr:{identity}, sha256 "
            f"{hashlib.sha256(identity.read_bytes()).hexdigest()}, not shipped, {len(stmts)} statements, all "
            f"schema; {len(stmts)} statements into each of WSO2_USER_DB") in r.stdout
    listed = [ln for ln in r.stdout.splitlines() if ln.strip().startswith("note: dbscripts/identity/mysql.sql line ")]
    assert len(listed) == len(stmts)
    assert listed[0].strip() == f"note: dbscripts/identity/mysql.sql line {stmts[0].line}: {stmts[0].head(90)}"
    assert not any("note: dbscripts/mysql.sql line " in ln for ln in r.stdout.splitlines())  # a known one: not listed
    assert "# would run: load dbscripts/identity/mysql.sql into WSO2_USER_DB (" in r.stdout
    assert writes(before, db.com_counters()) == {} and db.databases() == {}
    r = lab.fab("create-dbs")  # and it loads, the BOM not sent
    assert r.returncode == 0, r.stdout + r.stderr
    assert db.tables("WSO2_USER_DB") == SCRIPT_TABLES | set(created_tables(stmts))


R500 = product_fixture().parent / "wso2esb-5.0.0"


@pytest.mark.skipif(not R500.is_dir(), reason="../shared/fixtures/wso2esb-5.0.0 is absent")
def test_the_500_dbscripts_are_known_and_load(lab, db):
    """A 5.0.0 product home's two scripts (its identity script is shipped): listed as shipped 5.0.0, loaded."""
    home = lab.hosts["esb-mgr"].home
    for rel in ("dbscripts/mysql.sql", "dbscripts/identity/mysql.sql"):
        (home / rel).parent.mkdir(exist_ok=True)
        shutil.copyfile(R500 / rel, home / rel)
    r = lab.fab("create-dbs", "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "sha256 60641464cccb888512613f5ce0c89251a7b0dab04bf8b7f32886d3decaa6624f, shipped 5.0.0; " in r.stdout
    assert "sha256 a0643ebe2934b5859a4e8f37ec57574f5be1be31be60d3247f1f02dff8d108d0, shipped 5.0.0; " in r.stdout
    assert " line " not in r.stdout  # known scripts: their statements are not listed
    r = lab.fab("create-dbs")
    assert r.returncode == 0, r.stdout + r.stderr
    main = set(created_tables(split_statements((R500 / "dbscripts/mysql.sql").read_text())))
    identity = set(created_tables(split_statements((R500 / "dbscripts/identity/mysql.sql").read_text())))
    assert db.tables("WSO2_USER_DB") == main | identity and db.tables("REGISTRY_DB") == main
    assert lab.fab("create-dbs", "--verify").returncode == 0


def test_a_load_killed_midway_leaves_no_half_loaded_database_and_a_rerun_recovers(lab, db):
    """kill -9 of fab while create-dbs loads the product script: the script runs into a staging database and its
    tables move into the real one in one RENAME TABLE, so the real one is empty (never half-loaded); the rerun drops
    the staging leftover, loads again and converges. The kill is made deterministic by holding a global read lock
    (FLUSH TABLES WITH READ LOCK) once the staging database holds a few tables."""
    stage = "WSO2_USER_DB__esbload"
    proc = subprocess.Popen([fab_bin(), "create-dbs"], cwd=REPO, env=lab.fab_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(db.tables(stage)) < 3:
        assert proc.poll() is None and time.monotonic() < deadline, "create-dbs ended before the test could cut it"
        time.sleep(0.005)
    lock = db.admin()
    try:
        with lock.cursor() as cur:
            cur.execute("FLUSH TABLES WITH READ LOCK")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        with lock.cursor() as cur:
            cur.execute("UNLOCK TABLES")
        lock.close()
    time.sleep(1)
    assert 0 < len(db.tables(stage)) < len(SCRIPT_TABLES)  # the load was cut off half-way...
    assert db.tables("WSO2_USER_DB") == set()  # ...and the database it was for holds none of it
    r = lab.fab("create-dbs", "--verify")
    assert r.returncode == 2 and "WSO2_USER_DB: tables of dbscripts/mysql.sql" in r.stdout, r.stdout
    r = lab.fab("create-dbs")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{stage}, left by a load cut off (kill, lost connection): dropped, and WSO2_USER_DB loaded again" \
        in r.stdout, r.stdout
    for name in DATABASES:
        assert db.tables(name) == SCRIPT_TABLES, name
    assert not db.sql("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%%esbload'")
    fks = db.sql("SELECT CONSTRAINT_SCHEMA, UNIQUE_CONSTRAINT_SCHEMA, TABLE_NAME, REFERENCED_TABLE_NAME FROM "
                 "information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN %s", (DATABASES,))
    assert fks and all(a == b for a, b, _, _ in fks), fks  # foreign keys moved with their tables
    with login(db, lab.hosts["esb-mgr"].address, database="WSO2_USER_DB") as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM UM_TENANT")  # the application user uses what was loaded
    r = lab.fab("create-dbs")
    assert r.returncode == 0 and "[db1] create-dbs: ok" in r.stdout, r.stdout


def test_a_staging_database_left_where_nothing_is_left_to_load_is_drift_and_patch_drops_it(lab, db):
    """The load finished but the kill came before the empty staging database was dropped."""
    assert lab.fab("create-dbs").returncode == 0
    db.sql("CREATE DATABASE `REGISTRY_DB__esbload`")
    r = lab.fab("create-dbs", "--verify")
    assert r.returncode == 2 and "staging database" in r.stdout and "REGISTRY_DB__esbload" in r.stdout, r.stdout
    r = lab.fab("create-dbs")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not db.sql("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'REGISTRY_DB__esbload'")
    assert lab.fab("create-dbs", "--verify").returncode == 0
