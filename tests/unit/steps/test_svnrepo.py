"""create-svn-repo planners on the files a real `svnadmin create` makes: minimal in-place INI edits."""
from __future__ import annotations

import subprocess

import pytest

from tasks.engine.plan import FileChange
from tasks.engine.context import StepError
from tasks.steps.svnrepo import (SERVE_KEYS, CreateSvnRepo, check_password, ini_values, round_trip_items,
                                 set_ini_keys)
from tests.unit.helpers import base_data, inventory

PW = "Rep0-s3cret"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """conf/ of a repository just made by the real svnadmin."""
    repo = tmp_path_factory.mktemp("svn") / "repo"
    subprocess.run(["svnadmin", "create", str(repo)], check=True)
    return repo / "conf"


def changed(old: bytes, new: bytes, secrets=()) -> list[str]:
    diff = FileChange("f", old, new, secret_lines=tuple(secrets)).diff()
    return [ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def test_svnserve_conf_uncomments_the_three_keys_in_place(fresh):
    old = (fresh / "svnserve.conf").read_bytes()
    new, items = set_ini_keys(old, "general", SERVE_KEYS, "svnserve.conf")
    assert changed(old, new) == ["-# anon-access = read", "-# auth-access = write",
                                 "+anon-access = none", "+auth-access = write",
                                 "-# password-db = passwd", "+password-db = passwd"]
    assert [i.line() for i in items] == [
        "svnserve.conf: [general] anon-access: wanted 'none', actual (absent)",
        "svnserve.conf: [general] auth-access: wanted 'write', actual (absent)",
        "svnserve.conf: [general] password-db: wanted 'passwd', actual (absent)"]
    # lines stay where they were, comments around them kept; a second plan changes nothing
    assert len(new.splitlines()) == len(old.splitlines())
    assert set_ini_keys(new, "general", SERVE_KEYS, "svnserve.conf") == (new, [])


def test_svnserve_conf_fixes_a_wrong_active_value_and_keeps_crlf(fresh):
    old = (fresh / "svnserve.conf").read_bytes().replace(b"# anon-access = read", b"anon-access = read")
    old = old.replace(b"\n", b"\r\n")
    new, items = set_ini_keys(old, "general", SERVE_KEYS, "svnserve.conf")
    assert items[0].line() == "svnserve.conf: [general] anon-access: wanted 'none', actual 'read'"
    assert b"\r\nanon-access = none\r\n" in new and b"\n" not in new.replace(b"\r\n", b"")
    # [sasl] keeps its own commented use-sasl
    assert b"\r\n# use-sasl = true\r\n" in new


def test_passwd_adds_the_user_after_the_examples_mode_and_masking(fresh):
    old = (fresh / "passwd").read_bytes()
    new, items = set_ini_keys(old, "users", [("repouser", PW)], "passwd", secret=True, ignore_case=False)
    assert new == old + f"repouser = {PW}\n".encode()
    assert items[0].as_dict() == {"file": "passwd", "what": "[users] repouser", "wanted": "********", "actual": None}
    assert PW not in changed(old, new, [PW])[0] and changed(old, new, [PW]) == ["+repouser = ********"]


def test_passwd_replaces_a_wrong_password_and_leaves_other_users(fresh):
    old = (fresh / "passwd").read_bytes() + b"harry = harryssecret\nrepouser = old-pass\n"
    new, items = set_ini_keys(old, "users", [("repouser", PW)], "passwd", secret=True, ignore_case=False)
    assert new == old.replace(b"repouser = old-pass", f"repouser = {PW}".encode())
    assert items[0].line() == "passwd: [users] repouser: wanted '********', actual '********'"
    assert ini_values(old, "users") == ["harryssecret", "old-pass"]
    # every password of the section is masked in the diff, other users' included
    diff = FileChange("passwd", old, new, secret_lines=(PW, *ini_values(old, "users"))).diff()
    assert "harryssecret" not in diff and "old-pass" not in diff and PW not in diff


def test_missing_file_or_section_is_created():
    new, items = set_ini_keys(b"", "users", [("repouser", PW)], "passwd", secret=True)
    assert new == f"[users]\nrepouser = {PW}\n".encode() and len(items) == 1
    new, _ = set_ini_keys(b"# only a comment", "users", [("repouser", PW)], "passwd")
    assert new == f"# only a comment\n\n[users]\nrepouser = {PW}\n".encode()


@pytest.mark.parametrize("bad", ["pw\nnewline", " pwlead", "pwtrail ", "pw%(y)s"])
def test_passwords_the_passwd_format_cannot_hold_are_refused_without_showing_them(bad):
    with pytest.raises(StepError) as e:
        check_password(bad)
    assert bad.strip() not in str(e.value)
    check_password(PW)


def test_round_trip_items():
    url = "svn://h/depsyncrepo/"
    assert round_trip_items("user 0 \nanon 1 svn: E170001: Can't get username or password\n", url, "u") == []
    got = round_trip_items("user 1 svn: E170001: Authentication error from server: Password incorrect\n"
                           "anon 1 svn: E170001: x\n", url, "u")
    assert [i.line() for i in got] == [f"{url}: svn info as u: wanted 'answers', actual "
                                       "'svn: E170001: Authentication error from server: Password incorrect'"]
    assert [i.line() for i in round_trip_items("user 0 \nanon 0 \n", url, "u")] == [
        f"{url}: anonymous svn info: wanted 'refused', actual 'answers'"]
    with pytest.raises(StepError, match="svn client is not installed"):
        round_trip_items("user 127 sh: svn: not found\nanon 127 x\n", url, "u")


def test_default_targets_svn_group_else_svn_host():
    data = base_data()
    step = CreateSvnRepo()
    inv = inventory(data)
    assert [h.name for h in step.default_targets(inv)] == ["esb-mgr"]
    assert step.applies_to(inv.hosts["esb-w1"], inv).startswith("not the svn host")
    data["hosts"]["svn1"] = {"address": "192.168.1.30", "role": "svn"}
    inv = inventory(data)
    assert [h.name for h in step.default_targets(inv)] == ["svn1"]
    assert step.applies_to(inv.hosts["svn1"], inv) is None
