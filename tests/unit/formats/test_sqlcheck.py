"""The dbscript check (issue 29): the known scripts by digest, every fixture script accepted
statement by statement, and each way a tampered script could slip a statement past it refused
with its line and first words (never a string's content)."""
from __future__ import annotations

import pytest

from tasks.formats.sqlcheck import check_script, check_statement, first_words
from tasks.formats.sqlscript import created_tables, split_statements
from tests.lab import SAMPLE_FIXTURE, SHARED_FIXTURE

TABLE = ("CREATE TABLE IF NOT EXISTS REG_LOG (\n  REG_LOG_ID INTEGER AUTO_INCREMENT,\n  PRIMARY KEY (REG_LOG_ID)\n"
         ")ENGINE INNODB;\n")
FIXTURES = [p for p in (SHARED_FIXTURE.parent, SAMPLE_FIXTURE.parent) if p.is_dir()]
ALL_SCRIPTS = sorted(p for root in FIXTURES for p in root.glob("wso2esb-*/**/dbscripts/**/*.sql"))


def verdict(sql: str):
    """check_script on a script's text, as create-dbs reads it."""
    directives: list[int] = []
    stmts = split_statements(sql, "t", directives)
    return check_script(stmts, directives, created_tables(stmts))


def refused(sql: str) -> tuple[int, str, str]:
    r = verdict(sql)
    assert r is not None, sql
    return r.line, r.words, r.why


@pytest.mark.parametrize("path", ALL_SCRIPTS, ids=lambda p: "/".join(p.parts[-6:]))
def test_every_fixture_script_is_schema_statement_by_statement(path):
    """Shipped, sample and the not-shipped carbon-identity script: each passes the check by its
    statements alone (its ALTER TABLE ... ADD CONSTRAINT included), with and without CRLF."""
    assert verdict(path.read_text()) is None
    assert verdict(path.read_text().replace("\n", "\r\n")) is None


def test_schema_statements_in_any_case_are_accepted():
    sql = (TABLE + "create table `T2` (a varchar(255) not null default 'x;y', b timestamp default "
           "current_timestamp on update current_timestamp, c decimal(10, 2) default -1.5, "
           "unique key u_a (a(100)), constraint fk foreign key (a) references REG_LOG (REG_LOG_ID) "
           "on delete cascade) engine=InnoDB default charset=latin1 comment='x';\n"
           "create unique index I1 using hash on t2 (a);\n"
           "insert ignore into t2 (a, `b`) values ('it''s', now()), (N'x', NULL);\n"
           "alter table T2 add constraint C unique (a), add index I2 (b);\n")
    assert verdict(sql) is None


@pytest.mark.parametrize("statement, words, why", [
    ("CREATE USER 'evil'@'%' IDENTIFIED BY 's3cret-Pw'", "CREATE USER", "it creates an account"),
    ("GRANT ALL PRIVILEGES ON *.* TO 'evil'@'%'", "GRANT ALL PRIVILEGES", "it grants privileges"),
    ("grant all on *.* to evil", "grant all on", "it grants privileges"),
    ("DROP TABLE REG_LOG", "DROP TABLE REG_LOG", "it drops"),
    ("SET PASSWORD FOR root = PASSWORD('x')", "SET PASSWORD FOR", "it sets a variable or a password"),
    ("ALTER USER root IDENTIFIED BY 'x'", "ALTER USER root", "it alters more than"),
    ("DELETE FROM REG_LOG", "DELETE FROM REG_LOG", "it deletes rows"),
    ("UPDATE REG_LOG SET REG_LOG_ID = 2", "UPDATE REG_LOG SET", "it changes rows"),
    ("CALL mysql.p()", "CALL mysql", "it calls a procedure"),
    ("LOAD DATA INFILE '/etc/passwd' INTO TABLE REG_LOG", "LOAD DATA INFILE", "it loads a file"),
    ("SELECT 1 INTO OUTFILE '/tmp/x'", "SELECT", "a query"),
    ("source /tmp/evil.sql", "source", "a mysql client command"),
    ("CREATE DATABASE other", "CREATE DATABASE other", "it creates another database"),
    ("CREATE OR REPLACE TABLE REG_LOG (a INT)", "CREATE OR REPLACE", "something other than a table"),
    ("CREATE TEMPORARY TABLE t (a INT)", "CREATE TEMPORARY TABLE", "something other than a table"),
    ("INSERT INTO mysql.user (User) VALUES ('evil')", "INSERT INTO mysql", "qualified by a database (mysql.user)"),
    ("INSERT INTO `mysql`.`user` VALUES ('evil')", "INSERT INTO", "qualified by a database (mysql.user)"),
    ("INSERT INTO mysql . user VALUES ('evil')", "INSERT INTO mysql", "qualified by a database"),
    ("insert into mysql.123 values (1)", "insert into mysql", "qualified by a database"),
    ("INSERT INTO UM_USER VALUES ('evil')", "INSERT INTO UM_USER", "UM_USER, a table this script does not create"),
    ("INSERT INTO REG_LOG SELECT * FROM mysql.user", "INSERT INTO REG_LOG", "the character '*'"),
    ("INSERT INTO REG_LOG SELECT 1", "INSERT INTO REG_LOG", "a query (SELECT)"),
    ("INSERT INTO REG_LOG SET REG_LOG_ID = 1", "INSERT INTO REG_LOG", "INSERT without VALUES"),
    ("INSERT INTO REG_LOG VALUES (LOAD_FILE('/etc/shadow'))", "INSERT INTO REG_LOG", "a file read"),
    ("INSERT INTO REG_LOG VALUES (sys_exec('id'))", "INSERT INTO REG_LOG", "a function call"),
    ("INSERT INTO REG_LOG VALUES (CURRENT_USER)", "INSERT INTO REG_LOG", "not a literal (CURRENT_USER)"),
    ("INSERT INTO REG_LOG VALUES (1) ON DUPLICATE KEY UPDATE REG_LOG_ID = 2", "INSERT INTO REG_LOG",
     "ON after the values"),
    ("INSERT INTO REG_LOG VALUES (@x := 1)", "INSERT INTO REG_LOG", "a variable"),
    ("CREATE TABLE other.t (a INT)", "CREATE TABLE other", "qualified by a database (other.t)"),
    ("CREATE TABLE t (a INT) ENGINE=FEDERATED CONNECTION='mysql://u@h/db/t'", "CREATE TABLE t",
     "a link to another server"),
    ("CREATE TABLE t (a INT) ENGINE=CONNECT TABLE_TYPE=CSV", "CREATE TABLE t", "the table engine CONNECT"),
    ("CREATE TABLE t (a INT) DATA DIRECTORY='/etc'", "CREATE TABLE t", "outside the server's data directory"),
    ("CREATE TABLE t (a INT) AS SELECT 1", "CREATE TABLE t", "a query (SELECT)"),
    ("CREATE TABLE t (a INT) PARTITION BY HASH (a)", "CREATE TABLE t", "a function call or expression (HASH(...))"),
    ("CREATE TABLE t LIKE REG_LOG", "CREATE TABLE t", "without its column list"),
    ("CREATE TABLE t (a INT DEFAULT (sleep(5)))", "CREATE TABLE t", "a function call"),
    ("CREATE TABLE t (a TEXT AS (f(1)))", "CREATE TABLE t", "a function call or expression (AS(...))"),
    ("CREATE INDEX i ON UM_USER (a)", "CREATE INDEX i", "UM_USER, a table this script does not create"),
    ("CREATE INDEX i ON mysql.user (a)", "CREATE INDEX i", "qualified by a database"),
    ("ALTER TABLE REG_LOG DROP PRIMARY KEY", "ALTER TABLE REG_LOG", "more than ADD a key"),
    ("ALTER TABLE REG_LOG ADD INDEX i (a), RENAME TO mysql.x", "ALTER TABLE REG_LOG", "qualified"),
    ("ALTER TABLE REG_LOG ADD INDEX i (a), ENGINE = MyISAM", "ALTER TABLE REG_LOG", "more than ADD a key"),
    ("ALTER TABLE UM_USER ADD INDEX i (a)", "ALTER TABLE UM_USER", "a table this script does not create"),
    ("CREATE TABLE t (a INT) /*!50000 , b INT */", "CREATE TABLE t", "an executable comment"),
    ("/*!50000 CREATE USER evil */", "/*!", "an executable comment"),
])
def test_a_statement_that_is_not_schema_is_refused_with_line_and_first_words(statement, words, why):
    line, said, because = refused(TABLE + statement + ";\n")
    assert (line, said) == (5, words)
    assert why in because
    assert "s3cret" not in said + because and "/etc" not in said + because


def test_a_statement_after_a_comment_or_on_one_line_is_checked_where_it_starts():
    # a statement after a `--` comment ends the comment's line: it is a statement of its own
    assert refused("CREATE TABLE a (x INT); -- harmless\nCREATE USER evil;\n")[:2] == (2, "CREATE USER evil")
    assert refused("CREATE TABLE a (x INT); CREATE USER evil;\n")[:2] == (1, "CREATE USER evil")
    assert refused("CREATE TABLE a (x INT)/* ; */; GRANT ALL ON *.* TO evil;")[:2] == (1, "GRANT ALL ON")
    # what a `--` comment or a /* */ comment holds is never sent, so it is no statement
    assert verdict("CREATE TABLE a (x INT); -- ; CREATE USER evil;\n/* GRANT ALL ON *.* TO x; */\n") is None
    assert verdict("# DROP DATABASE mysql;\nCREATE TABLE a (x INT);\n") is None


def test_delimiter_bodies_are_refused():
    sql = TABLE + "DELIMITER //\nCREATE PROCEDURE p() BEGIN CREATE USER evil; END//\nDELIMITER ;\n"
    assert refused(sql) == (5, "DELIMITER", "a DELIMITER directive: procedure or trigger bodies are not schema")


def test_a_semicolon_inside_one_statement_is_refused():
    # the check sees a statement as the splitter hands it: a DELIMITER lets ';' through
    assert check_statement("CREATE TABLE t (a INT); GRANT ALL ON *.* TO x", {"t"}) == \
        "a second statement inside this one (';', let through by a DELIMITER)"


def test_first_words_never_show_a_string():
    assert first_words("CREATE USER 'a'@'%' IDENTIFIED BY 'pw'") == "CREATE USER"
    assert first_words("SET PASSWORD='pw'") == "SET PASSWORD"
    assert first_words("  insert   into\n mysql.user") == "insert into mysql"
    assert first_words("'pw' x") == "..."


def test_a_bom_in_the_middle_is_no_whitespace():
    assert refused(TABLE + "\ufeffGRANT ALL ON *.* TO x;\n")[2] == "not schema for the database"


@pytest.mark.parametrize("statement", ["CREATE\u00a0TABLE t (a INT)", "INSERT\u00e9 INTO REG_LOG VALUES (1)",
                                       "CREATE\u2028USER evil", "'CREATE' TABLE t (a INT)"])
def test_only_ascii_whitespace_separates_keywords(statement):
    # the server's lexer splits words on ASCII whitespace only: a keyword glued to another
    # character is no keyword, so the statement is no schema
    assert verdict(TABLE + statement + ";\n") is not None


def test_a_double_dash_the_splitter_keeps_is_refused():
    # '--' and a control character: a comment to the server, not to the splitter; what it would
    # hide from the server could leave a quote open and turn the rest into statements
    sql = TABLE + "INSERT INTO REG_LOG VALUES (--\f'\n); DROP DATABASE mysql; SELECT ('\n);\n"
    assert refused(sql)[2] == "'--', which the server may read as a comment where a reader does not"
    assert verdict(TABLE + "INSERT INTO REG_LOG VALUES (- -1, '--');\n") is None
