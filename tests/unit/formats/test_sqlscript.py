"""Statement splitting and CREATE TABLE parsing, on the shipped dbscripts and on tricky text."""
from __future__ import annotations

import pytest

from tasks.formats.sqlscript import ScriptError, created_tables, split_statements
from tests.lab import SHARED_FIXTURE, product_fixture

SHIPPED = product_fixture() / "dbscripts/mysql.sql"
IDENTITY = product_fixture().parent / "wso2esb-4.9.0.extras/not-shipped/dbscripts/identity/mysql.sql"


def texts(sql: str) -> list[str]:
    return [s.text for s in split_statements(sql)]


shipped_only = pytest.mark.skipif(product_fixture() != SHARED_FIXTURE,
                                  reason="asserts the exact figures of the shipped scripts (../shared absent)")


@shipped_only
def test_shipped_script_statements_and_tables():
    stmts = split_statements(SHIPPED.read_text(), "dbscripts/mysql.sql")
    assert len(stmts) == 69
    assert stmts[0].line == 1 and stmts[0].text.startswith("CREATE TABLE IF NOT EXISTS REG_CLUSTER_LOCK (")
    assert stmts[0].text.endswith(")ENGINE INNODB")
    assert not any("--" in s.text or s.text.endswith(";") for s in stmts)
    tables = created_tables(stmts)
    assert len(tables) == 39
    assert tables[:3] == ["REG_CLUSTER_LOCK", "REG_LOG", "REG_PATH"]
    assert "UM_TENANT" in tables and "UM_HYBRID_REMEMBER_ME" in tables
    assert "REG_ASSOCIATIONS" not in tables  # commented out in the script


@shipped_only
def test_identity_script_keeps_quoted_values():
    stmts = split_statements(IDENTITY.read_text())
    assert "INSERT INTO IDN_BASE_TABLE values ('WSO2 Identity Server')" in [s.text for s in stmts]
    assert len(created_tables(stmts)) == 41


def test_semicolons_inside_strings_and_comments_do_not_split():
    sql = ("INSERT INTO t VALUES ('a;b', \"c;d\", 'it''s;', 'back\\';slash');\n"
           "SELECT `we;ird` FROM x; -- tail; comment\n"
           "# hash; comment\n"
           "SELECT 1 /* inline; */ + 2;\n"
           "/*!40101 SET NAMES utf8 */;\n"
           "SELECT a--b FROM y;")
    assert texts(sql) == [
        "INSERT INTO t VALUES ('a;b', \"c;d\", 'it''s;', 'back\\';slash')",
        "SELECT `we;ird` FROM x",
        "SELECT 1   + 2",
        "/*!40101 SET NAMES utf8 */",
        "SELECT a--b FROM y",
    ]


def test_delimiter_lines_change_the_terminator_and_lines_are_counted():
    sql = "CREATE TABLE a (x INT);\n\nDELIMITER //\nCREATE TRIGGER t BEFORE INSERT ON a\nBEGIN SET @x = 1; END//\nDELIMITER ;\nSELECT 1;"
    stmts = split_statements(sql)
    assert [s.text for s in stmts] == ["CREATE TABLE a (x INT)",
                                       "CREATE TRIGGER t BEFORE INSERT ON a\nBEGIN SET @x = 1; END", "SELECT 1"]
    assert [s.line for s in stmts] == [1, 4, 7]


def test_created_tables_forms():
    sql = ("create table IF NOT EXISTS `Quoted``Name` (a int); CREATE TABLE db.t2(a int);"
           "CREATE TEMPORARY TABLE tmp (a int); CREATE TABLE reg_log (a int); CREATE TABLE REG_LOG (a int);"
           "CREATE INDEX i ON x(a); ALTER TABLE t2 ADD c INT")
    assert created_tables(split_statements(sql)) == ["Quoted`Name", "t2", "reg_log"]


@pytest.mark.parametrize("sql, message", [
    ("SELECT 'open;", "line 1: '-quoted string never closed"),
    ("SELECT 1;\nSELECT /* open", "line 2: comment never closed"),
])
def test_unterminated_text_is_an_error_naming_the_line(sql, message):
    with pytest.raises(ScriptError, match=message):
        split_statements(sql, "x.sql")
