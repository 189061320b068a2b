"""The pure helpers of tasks/remote/mysql.py: identifier quoting, the native password hash, SHOW GRANTS parsing,
which routes allow a chosen loopback source address, and the accounts whose password differs."""
from __future__ import annotations

import pytest

from tasks.remote.mysql import DbError, Route, all_privilege_dbs, native_password_hash, quote_ident


def test_quote_ident_accepts_plain_names_only():
    assert quote_ident("REGISTRY_LOCAL1") == "`REGISTRY_LOCAL1`"
    for bad in ("a`b", "x; DROP DATABASE y", "", "a-b", "é"):
        with pytest.raises(DbError, match="not a plain identifier"):
            quote_ident(bad)


def test_native_password_hash_matches_the_server_function():
    # SELECT PASSWORD('password') on MariaDB / MySQL 5.7
    assert native_password_hash("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"


def test_all_privilege_dbs_reads_mariadb_and_mysql_forms():
    lines = [
        "GRANT USAGE ON *.* TO `regadmin`@`127.0.0.2` IDENTIFIED BY PASSWORD '*ABC'",
        "GRANT ALL PRIVILEGES ON `REGISTRY_DB`.* TO `regadmin`@`127.0.0.2`",
        "GRANT ALL PRIVILEGES ON `WSO2\\_USER\\_DB`.* TO 'regadmin'@'127.0.0.2'",
        "GRANT SELECT, INSERT ON `REGISTRY_LOCAL1`.* TO `regadmin`@`127.0.0.2`",
        "GRANT ALL ON REGISTRY_LOCAL2.* TO regadmin@127.0.0.2",
        "GRANT ALL PRIVILEGES ON `REGISTRY_DB`.`REG_LOG` TO `regadmin`@`127.0.0.2`",
    ]
    assert all_privilege_dbs(lines) == {"REGISTRY_DB", "WSO2_USER_DB", "REGISTRY_LOCAL2"}
    assert all_privilege_dbs(["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"]) == {"*"}


class _Via:
    def __init__(self, address):
        self.host = type("H", (), {"address": address, "name": "db1"})()


def test_route_is_local_only_when_the_server_answers_on_this_machines_loopback():
    assert Route(("127.0.0.1",), 3306).local
    assert not Route(("192.168.1.20",), 3306).local
    assert Route(("127.0.0.1", "127.0.0.5"), 3306, via=_Via("127.0.0.5")).local
    assert not Route(("127.0.0.1", "192.168.1.20"), 3306, via=_Via("192.168.1.20")).local  # db host's loopback
    r = Route(("127.0.0.1", "192.168.1.20"), 3306, via=_Via("192.168.1.20"))
    assert r.label == "127.0.0.1/192.168.1.20:3306 through SSH to db1"


def test_passwords_off_names_the_existing_accounts_whose_password_differs(monkeypatch):
    """rollback's check of the accounts it put back (remote/mysql.passwords_off): by the stored hash where no login
    can come from the account's host; an account that does not exist is not named; one not checkable is a note."""
    from tasks.remote import mysql
    rows = [{"Host": "192.168.1.12", "plugin": "mysql_native_password",
             "authentication_string": native_password_hash("pw")},
            {"Host": "192.168.1.13", "plugin": "", "authentication_string": "",
             "Password": native_password_hash("old")},
            {"Host": "10.0.0.9", "plugin": "caching_sha2_password", "authentication_string": "$A$005$xyz"}]
    asked = []
    monkeypatch.setattr(mysql, "query", lambda conn, sql, args=None, dicts=False: asked.append(args) or rows)
    off, notes = mysql.passwords_off("conn", Route(("192.168.1.20",), 3306), "regadmin",
                                     ["192.168.1.12", "192.168.1.13", "10.0.0.9", "192.168.1.99"], "pw")
    assert asked == [("regadmin",)]  # one read of mysql.user, the user as a parameter
    assert off == ["'regadmin'@'192.168.1.13'"]
    assert notes == ["password of 'regadmin'@'10.0.0.9' not checked (plugin caching_sha2_password; "
                     "no connection can come from 10.0.0.9 here)"]
