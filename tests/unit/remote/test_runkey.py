"""The control machine's run key: a manifest it signed verifies; any change, another key or no signature does
not; the key file is private and made once; a file there that is not a key is refused (named, with the way out),
never replaced."""
from __future__ import annotations

import os
import stat

import pytest

from tasks.engine.mode import Mode
from tasks.remote import runkey
from tasks.schema import ConfigError


def test_a_signed_manifest_verifies_and_a_changed_one_does_not(tmp_path, monkeypatch):
    monkeypatch.setenv("ESB_RUN_KEY_FILE", str(tmp_path / "k" / "run.key"))
    m = runkey.sign({"run_id": "r1", "files": [{"path": "/a", "real": "/b"}]})
    assert runkey.signed(m)
    assert stat.S_IMODE(os.stat(tmp_path / "k" / "run.key").st_mode) == 0o600
    forged = {**m, "files": [{"path": "/a", "real": "/etc/shadow"}]}
    assert not runkey.signed(forged)
    assert not runkey.signed({k: v for k, v in m.items() if k != runkey.MAC_FIELD})
    assert not runkey.signed({**m, runkey.MAC_FIELD: 5}) and not runkey.signed(["not", "a", "dict"])
    monkeypatch.setenv("ESB_RUN_KEY_FILE", str(tmp_path / "other.key"))
    assert not runkey.signed(m)  # another machine's key


def test_the_key_is_kept_across_uses(tmp_path, monkeypatch):
    monkeypatch.setenv("ESB_RUN_KEY_FILE", str(tmp_path / "run.key"))
    first = runkey.key()
    runkey._key.cache_clear()
    assert runkey.key() == first == (tmp_path / "run.key").read_bytes()


def _refused(tmp_path, monkeypatch, path, what):
    """key() refuses the file at path (naming it, what is wrong and the way out) and leaves it as it was."""
    monkeypatch.setenv("ESB_RUN_KEY_FILE", str(path))
    runkey._key.cache_clear()
    before = path.read_bytes() if path.is_file() and os.access(path, os.R_OK) else None
    with pytest.raises(runkey.RunKeyError) as e:
        runkey.key()
    msg = str(e.value)
    assert msg.startswith(f"the run key {path} ") and what in msg, msg
    assert "not a key" in msg and "move it away" in msg and "restore" in msg and "older runs" in msg
    assert isinstance(e.value, ConfigError)  # the command line reports it and stops (exit 1)
    with pytest.raises(runkey.RunKeyError):  # every time: never replaced by a new key
        runkey.sign({"run_id": "r1"})
    if before is not None:
        assert path.read_bytes() == before
    return msg


@pytest.mark.parametrize("size", [0, 1, 31])
def test_a_key_file_too_short_is_refused_not_replaced(tmp_path, monkeypatch, size):
    p = tmp_path / "run.key"
    p.write_bytes(b"k" * size)
    _refused(tmp_path, monkeypatch, p, f"is {size} bytes (a key has 32)")


def test_a_key_file_of_32_bytes_or_more_is_a_key(tmp_path, monkeypatch):
    for size in (32, 64):
        p = tmp_path / f"run{size}.key"
        p.write_bytes(bytes(range(size)))
        monkeypatch.setenv("ESB_RUN_KEY_FILE", str(p))
        runkey._key.cache_clear()
        assert runkey.key() == bytes(range(size))


def test_a_folder_where_the_key_goes_is_refused(tmp_path, monkeypatch):
    p = tmp_path / "run.key"
    p.mkdir()
    _refused(tmp_path, monkeypatch, p, "is a folder")
    assert p.is_dir() and not list(p.iterdir())


def test_an_unreadable_key_file_is_refused(tmp_path, monkeypatch):
    p = tmp_path / "run.key"
    p.write_bytes(b"k" * 32)
    p.chmod(0)
    if os.access(p, os.R_OK):  # root reads a mode-0 file: make it unreadable another way
        p.chmod(0o600)
        p.unlink()
        p.symlink_to(p)  # a link to itself: ELOOP on read
        _refused(tmp_path, monkeypatch, p, "cannot be read (Too many levels of symbolic links)")
        return
    _refused(tmp_path, monkeypatch, p, "cannot be read (Permission denied)")


def test_a_dangling_link_as_key_file_is_refused(tmp_path, monkeypatch):
    p = tmp_path / "run.key"
    p.symlink_to(tmp_path / "gone.key")
    _refused(tmp_path, monkeypatch, p, f"is a link to {tmp_path / 'gone.key'}, which does not exist")
    assert not (tmp_path / "gone.key").exists()


def test_a_key_whose_folder_cannot_be_made_is_an_error_naming_it(tmp_path, monkeypatch):
    (tmp_path / "cfg").write_text("a file where the folder goes")
    p = tmp_path / "cfg" / "run.key"
    monkeypatch.setenv("ESB_RUN_KEY_FILE", str(p))
    runkey._key.cache_clear()
    with pytest.raises(runkey.RunKeyError, match=rf"the run key {p} cannot be read \(Not a directory\)"):
        runkey.key()


def test_a_new_key_is_made_whole_and_private_and_leaves_nothing_else(tmp_path, monkeypatch):
    p = tmp_path / "k" / "run.key"
    monkeypatch.setenv("ESB_RUN_KEY_FILE", str(p))
    runkey._key.cache_clear()
    k = runkey.key()
    assert len(k) == 32 and p.read_bytes() == k and stat.S_IMODE(p.stat().st_mode) == 0o600
    assert [x.name for x in p.parent.iterdir()] == ["run.key"]


def test_a_writing_session_stops_on_a_bad_key_before_any_host(tmp_path, monkeypatch):
    from tasks.engine.runner import Session
    from tasks.secrets import Secrets
    from tests.unit.helpers import inventory
    p = tmp_path / "run.key"
    p.write_bytes(b"short")
    monkeypatch.setenv("ESB_RUN_KEY_FILE", str(p))
    runkey._key.cache_clear()
    s = Session(inventory(), Secrets({}), "verify")  # reads only: signs nothing
    with pytest.raises(runkey.RunKeyError, match="is 5 bytes"):
        s.switch(Mode.PATCH)
    with pytest.raises(runkey.RunKeyError, match="is 5 bytes"):
        Session(inventory(), Secrets({}), "rollback")
    assert not s.remotes() and p.read_bytes() == b"short"


def test_a_key_that_cannot_be_made_is_an_error_naming_where(monkeypatch):
    p = "/proc/esb-cluster-no-such/run.key"  # /proc takes no new folder, not even from root
    monkeypatch.setenv("ESB_RUN_KEY_FILE", p)
    runkey._key.cache_clear()
    with pytest.raises(runkey.RunKeyError, match=f"the run key {p} cannot be made in /proc/esb-cluster-no-such"):
        runkey.key()
