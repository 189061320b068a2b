"""The control machine's run key: a manifest it signed verifies; any change, another key or no signature does
not; the key file is private and made once."""
from __future__ import annotations

import os
import stat

from tasks.remote import runkey


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
