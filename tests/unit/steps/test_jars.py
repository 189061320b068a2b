"""The jar-in-folder planner: families, decisions, and local artifact errors."""
from __future__ import annotations

import hashlib
import zipfile

import pytest

from tasks.engine.context import StepError
from tasks.steps.jars import LocalJar, load_local_jar, plan_jar
from tests.unit.helpers import base_data, inventory

LIB = "repository/components/lib"


def make_jar(path, content: str = "x"):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        z.writestr("payload.txt", content)
    return path


def local(name: str, data: bytes = b"jar-bytes") -> LocalJar:
    from pathlib import Path
    return LocalJar("mysql_connector_jar", Path("/art") / name, data, hashlib.sha256(data).hexdigest())


def test_plan_jar_decisions():
    jar = local("mysql-connector-java-5.1.49.jar")
    # in place, nothing else of the family: nothing to do
    d = plan_jar(LIB, jar, ["mysql-connector-java-5.1.49.jar", "other-1.0.jar"], jar.sha256)
    assert (d.items, d.upload, d.stale) == ([], False, [])
    # absent, with a stale version and an unrelated jar
    d = plan_jar(LIB, jar, ["mysql-connector-java-5.1.30-bin.jar", "svnkit-all-1.8.7.wso2v1.jar", "README"], None)
    assert d.upload and d.stale == ["mysql-connector-java-5.1.30-bin.jar"]
    assert [i.line() for i in d.items] == [
        f"{LIB}/mysql-connector-java-5.1.49.jar: sha256: wanted '{jar.sha256}', actual (absent)",
        f"{LIB}/mysql-connector-java-5.1.30-bin.jar: other version of mysql-connector-java (stale): "
        "wanted (absent), actual 'present'",
    ]
    # same name, other bytes: upload (RemoteHost.write backs the old one up)
    d = plan_jar(LIB, jar, ["mysql-connector-java-5.1.49.jar"], "0" * 64)
    assert d.upload and d.items[0].actual == "0" * 64 and d.stale == []
    # folder absent
    d = plan_jar(LIB, jar, None, None)
    assert d.upload and d.items[0].line() == f"{LIB}: directory: wanted 'present', actual (absent)"


def test_local_jar_errors_name_the_key_and_path(tmp_path):
    data = base_data()
    inv = inventory(data, path=str(tmp_path / "hosts.toml"))
    with pytest.raises(StepError, match=r"\[artifacts\] mysql_connector_jar is not set in .*hosts.toml"):
        load_local_jar(inv, "mysql_connector_jar")
    data["artifacts"] = {"mysql_connector_jar": "artifacts/mysql-connector-java-5.1.49.jar",
                         "svnkit_jar": "not-a-jar.jar"}
    inv = inventory(data, path=str(tmp_path / "hosts.toml"))
    with pytest.raises(StepError) as e:
        load_local_jar(inv, "mysql_connector_jar")
    assert str(e.value).startswith(f"[artifacts] mysql_connector_jar: {tmp_path}/artifacts/mysql-connector-java-5.1.49.jar "
                                   "does not exist on this machine")
    (tmp_path / "not-a-jar.jar").write_text("hello")
    with pytest.raises(StepError, match="not a jar"):
        load_local_jar(inv, "svnkit_jar")
    (tmp_path / "artifacts").mkdir()
    make_jar(tmp_path / "artifacts/mysql-connector-java-5.1.49.jar")
    jar = load_local_jar(inv, "mysql_connector_jar")
    assert jar.name == "mysql-connector-java-5.1.49.jar" and jar.family == "mysql-connector-java"
    assert jar.sha256 == hashlib.sha256(jar.data).hexdigest()


def test_a_local_jar_far_too_big_is_refused_unread(tmp_path):
    import tomllib
    from tasks.config import parse_inventory
    from tasks.steps.jars import LOCAL_JAR_LIMIT, load_local_jar
    from tests.unit.helpers import BASE_TOML
    big = tmp_path / "mysql-connector-java-5.1.49.jar"
    with open(big, "wb") as f:
        f.truncate(LOCAL_JAR_LIMIT + 1)  # sparse: nothing is written, and nothing must be read
    data = tomllib.loads(BASE_TOML)
    data["artifacts"] = {"mysql_connector_jar": str(big)}
    inv = parse_inventory(data, tmp_path / "hosts.toml")
    with pytest.raises(StepError, match=r"is 268435457 bytes, more than a jar may hold .* refused, not read"):
        load_local_jar(inv, "mysql_connector_jar")
