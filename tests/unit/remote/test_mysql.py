"""The pure helpers of tasks/remote/mysql.py: identifier quoting, the native password hash, SHOW GRANTS parsing,
and which routes allow a chosen loopback source address."""
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
