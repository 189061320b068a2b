"""tasks/remote/dbundo.py: the undo of a database change, one statement a line, read back as written."""
from __future__ import annotations

from tasks.remote.dbundo import dump, statements


def test_statements_round_trip_one_a_line():
    sql = ["DROP USER IF EXISTS 'regadmin'@'10.0.0.9'",
           "CREATE USER `regadmin`@`10.0.0.9` IDENTIFIED BY PASSWORD '*0123456789ABCDEF0123456789ABCDEF01234567'",
           "GRANT ALL PRIVILEGES ON `REGISTRY_DB`.* TO `regadmin`@`10.0.0.9`",
           "UPDATE `WSO2_USER_DB`.UM_USER SET UM_USER_PASSWORD='a;b', UM_SALT_VALUE='c' WHERE UM_USER_NAME='admin'"]
    data = dump(sql)
    assert data.count(b"\n") == len(sql)
    assert statements(data) == sql
    assert statements(dump(["SELECT 1\nFROM dual"])) == ["SELECT 1 FROM dual"]  # never two lines for one


def test_the_accounts_an_undo_puts_back_and_those_it_drops_again():
    """rollback names the accounts before it runs the undo (issue 30): each begins with its DROP USER; one that
    existed before the run is created again, one the run created is only dropped."""
    from tasks.remote.dbundo import accounts_in, recreated
    data = dump(["DROP USER IF EXISTS 'regadmin'@'10.0.0.9'",
                 "CREATE USER `regadmin`@`10.0.0.9` IDENTIFIED BY PASSWORD '*0123456789ABCDEF0123456789ABCDEF01234567'",
                 "GRANT ALL PRIVILEGES ON `REGISTRY_DB`.* TO `regadmin`@`10.0.0.9`",
                 "DROP USER IF EXISTS 'regadmin'@'host\\'s-%'"])
    assert accounts_in(data) == [("regadmin", "10.0.0.9"), ("regadmin", "host's-%")]
    assert recreated(data) == {("regadmin", "10.0.0.9")}
    assert accounts_in(dump(["UPDATE `WSO2_USER_DB`.UM_USER SET UM_USER_PASSWORD='x'"])) == []
