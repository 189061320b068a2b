"""The pure parsers behind `fab verify --live` (tasks/probes/live.py)."""
from __future__ import annotations

import io
import zipfile

import pytest

from tasks.probes.live import jdbc_target, zip_names
from tasks.rules import java_ok, java_version


def test_jdbc_urls():
    assert jdbc_target("jdbc:mysql://carbondb.mysql-wso2.com:3306/REGISTRY_DB?autoReconnect=true") == \
        ("carbondb.mysql-wso2.com", 3306, "REGISTRY_DB")
    assert jdbc_target("jdbc:mysql://db/WSO2_USER_DB") == ("db", 3306, "WSO2_USER_DB")
    assert jdbc_target("jdbc:h2:repository/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE") is None


def test_zip_directory_from_the_end_of_a_jar():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "x")
        z.writestr("com/mysql/jdbc/Driver.class", b"\xca\xfe" * 5000)
    data = buf.getvalue()
    assert zip_names(data) == ["META-INF/MANIFEST.MF", "com/mysql/jdbc/Driver.class"]
    assert zip_names(data[-200:]) == ["META-INF/MANIFEST.MF", "com/mysql/jdbc/Driver.class"]  # only the tail
    assert zip_names(data[-40:]) is None  # the directory is cut: not trusted
    assert zip_names(b"not a zip") is None


@pytest.mark.parametrize("out,version,ok", [
    ('java version "1.8.0_392"\nJava(TM) SE Runtime Environment', "1.8.0_392", True),
    ('openjdk version "1.7.0_261"', "1.7.0_261", True),
    ('openjdk version "17.0.15" 2025-04-15', "17.0.15", False),
    ('openjdk version "11.0.2"', "11.0.2", False),
])
def test_java_versions(out, version, ok):
    assert java_version(out) == version and java_ok(version) is ok
    assert java_version("bash: java: command not found") is None
