"""create-dbs' scripts as the planner sees them (issue 29; the scripts themselves: test_dbscript.py): a refused
one is a refusal only where it would be loaded, and the plan lists each script it loads (where, digest, origin,
statements); scale in never drops an account a connection is using."""
from __future__ import annotations

import pytest

from tasks.steps.dbplan import State, Wanted, plan_databases
from tasks.steps.dbscript import IDENTITY_SCRIPT, MAIN_SCRIPT, Script
from tests.lab import product_fixture

MAIN_BYTES = (product_fixture() / MAIN_SCRIPT).read_bytes()
EXTRA_IDENTITY = product_fixture().parent / "wso2esb-4.9.0.extras/not-shipped/dbscripts/identity/mysql.sql"
DBS = ("WSO2_USER_DB", "REGISTRY_DB")
WHERE = "esb-mgr:/opt/wso2esb-4.9.0/dbscripts/mysql.sql"
TAMPERED = MAIN_BYTES + b"\nCREATE USER 'evil'@'%' IDENTIFIED BY 'Sup3r-secret';\nGRANT ALL ON *.* TO 'evil'@'%';\n"


def wanted(main: Script, *extra: Script) -> Wanted:
    return Wanted("latin1", "regadmin", ("127.0.0.2",), {DBS[0]: (main, *extra), DBS[1]: (main,)})


def test_a_tampered_script_is_refused_naming_path_line_and_first_words_never_the_secret():
    lines = MAIN_BYTES.count(b"\n")
    sc = Script.parse(MAIN_SCRIPT, TAMPERED, WHERE)
    assert sc.refusal is not None
    assert sc.refusal.startswith(f"{WHERE} is not a shipped dbscript (sha256 {sc.sha256}) and its line {lines + 2} "
                                 f"(CREATE USER ...) is not schema for the database: it creates an account")
    assert "Sup3r" not in sc.refusal and "evil" not in sc.refusal
    out = plan_databases(wanted(sc), State())
    assert out.errors == [sc.refusal]  # once, though two databases would load it
    assert [o.kind for o in out.ops if o.kind == "load"] == []


def test_a_refused_script_is_no_refusal_where_nothing_loads_it():
    sc = Script.parse(MAIN_SCRIPT, TAMPERED, WHERE)
    loaded = frozenset(t.lower() for t in sc.tables)
    s = State({db: "latin1" for db in DBS}, {db: loaded for db in DBS})
    out = plan_databases(wanted(sc), s)
    assert out.errors == [] and not [o for o in out.ops if o.kind == "load"]
    assert out.notes == [f"{sc.refusal} (nothing runs it now: every database holds its tables)"]  # still told


def test_the_plan_lists_each_loaded_script_and_an_unknown_ones_statements():
    main = Script.parse(MAIN_SCRIPT, MAIN_BYTES, WHERE)
    identity = Script.parse(IDENTITY_SCRIPT, EXTRA_IDENTITY.read_bytes(), "esb-mgr:/x/" + IDENTITY_SCRIPT)
    out = plan_databases(wanted(main, identity), State())
    assert out.errors == []
    n, ni = len(main.statements), len(identity.statements)
    assert f"{MAIN_SCRIPT}: {WHERE}, sha256 {main.sha256}, {main.origin}; {n} statements into each of " \
           f"WSO2_USER_DB, REGISTRY_DB" in out.notes
    head = f"{IDENTITY_SCRIPT}: esb-mgr:/x/{IDENTITY_SCRIPT}, sha256 {identity.sha256}, not shipped, {ni} " \
           f"statements, all schema; {ni} statements into each of WSO2_USER_DB"
    i = out.notes.index(head)
    listed = out.notes[i + 1:]
    assert len(listed) == ni and not any(x.startswith(MAIN_SCRIPT + " line") for x in out.notes)
    first = identity.statements[0]
    assert listed[0] == f"{IDENTITY_SCRIPT} line {first.line}: {first.head(90)}"


@pytest.mark.parametrize("pattern,client,hit", [
    ("127.0.0.9", "127.0.0.9:50122", True), ("127.0.0.9", "127.0.0.19:50122", False),
    ("127.0.0.%", "127.0.0.19:1", True), ("10.0.0._", "10.0.0.7:1", True), ("10.0.0._", "10.0.0.17:1", False),
    ("%", "anything:1", True), ("Node1.Example", "node1.example:3306", True), ("localhost", "localhost", True),
    ("::1", "[::1]:40000", True)])
def test_an_account_host_pattern_covers_a_connection_as_mysql_matches_it(pattern, client, hit):
    from tasks.steps.dbplan import account_matches
    assert account_matches(pattern, client) is hit


def test_scale_in_never_drops_an_account_a_connection_is_using():
    """A node removed from hosts.toml while its server still runs: its account is named with the connection that
    uses it and kept; the others that left are dropped."""
    s = State(strays=("127.0.0.9", "127.0.0.8"), sessions=((42, "127.0.0.9:50122", "REGISTRY_DB"),))
    main = Script.parse(MAIN_SCRIPT, MAIN_BYTES, WHERE)
    out = plan_databases(wanted(main), s)
    assert [op.host for op in out.ops if op.kind == "drop-user"] == ["127.0.0.8"]
    assert any("'regadmin'@'127.0.0.9' is in use (connection 42 from 127.0.0.9:50122 (REGISTRY_DB)): not dropped"
               in e for e in out.errors), out.errors
