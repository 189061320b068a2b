"""tasks.formats.jdbcurl: MySQL JDBC URLs built by configure-datasources and read back by the live checks."""
from __future__ import annotations

from tasks.formats.jdbcurl import mysql_target, mysql_url
from tasks.rules import jdbc_url
from tests.unit.helpers import inventory


def test_jdbc_urls():
    assert mysql_target("jdbc:mysql://carbondb.mysql-wso2.com:3306/REGISTRY_DB?autoReconnect=true") == \
        ("carbondb.mysql-wso2.com", 3306, "REGISTRY_DB")
    assert mysql_target("jdbc:mysql://db/WSO2_USER_DB") == ("db", 3306, "WSO2_USER_DB")
    assert mysql_target("jdbc:h2:repository/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE") is None
    assert mysql_target(None) is None


def test_what_configure_datasources_writes_reads_back_as_its_parts():
    inv = inventory()
    d = inv.database
    assert mysql_target(jdbc_url(inv, d.registry_db)) == (d.alias, d.port, d.registry_db)
    assert mysql_url("db", 3307, "X") == "jdbc:mysql://db:3307/X" and mysql_target("jdbc:mysql://db:3307/X")[1] == 3307
