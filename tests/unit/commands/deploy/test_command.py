"""tasks/commands/deploy/command.py: the archive checked on this machine, and the targets (the manager only)."""
from __future__ import annotations

import io
import zipfile

import pytest

from tasks.commands.deploy import command as d
from tasks.config import ConfigError
from tasks.formats import capp
from tests.unit.helpers import inventory

XML = b'<artifacts><artifact name="App" version="1.0.0" type="carbon/application"/></artifacts>'


def car() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("artifacts.xml", XML)
    return buf.getvalue()


def test_a_good_archive_is_loaded_with_its_digest(tmp_path):
    f = tmp_path / "App_1.0.0.car"
    f.write_bytes(car())
    a = d.load_archive(str(f))
    assert a.name == "App_1.0.0.car" and a.app.app_id == "App_1.0.0" and len(a.sha256) == 64


@pytest.mark.parametrize("name, data, why", [
    ("A.car", b"text", "not a zip"), ("A.zip", car(), "does not end with .car"), (".A.car", car(), "starts with"),
])
def test_a_bad_archive_is_a_config_error_saying_nothing_was_written(tmp_path, name, data, why):
    f = tmp_path / name
    f.write_bytes(data)
    with pytest.raises(ConfigError, match=why) as e:
        d.load_archive(str(f))
    assert "nothing written" in str(e.value)


def test_a_missing_an_oversized_and_a_folder_archive(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        d.load_archive(str(tmp_path / "none.car"))
    big = tmp_path / "Big.car"
    with open(big, "wb") as fh:
        fh.truncate(capp.CAR_LIMIT + 1)
    with pytest.raises(ConfigError, match="larger than 256 MiB"):
        d.load_archive(str(big))
    (tmp_path / "Dir.car").mkdir()
    with pytest.raises(ConfigError, match="not a regular file"):
        d.load_archive(str(tmp_path / "Dir.car"))


def test_only_the_manager_is_a_target():
    inv = inventory()
    assert d.manager_target(inv, [inv.hosts["esb-mgr"]]).name == "esb-mgr"
    with pytest.raises(ConfigError, match="esb-w1: a worker.*reverts local changes"):
        d.manager_target(inv, [inv.hosts["esb-mgr"], inv.hosts["esb-w1"]])
    with pytest.raises(ConfigError, match="db1: not the manager"):
        d.manager_target(inv, [inv.hosts["db1"]])
