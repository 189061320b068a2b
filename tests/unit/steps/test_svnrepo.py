"""create-svn-repo planners on the files a real `svnadmin create` makes: minimal in-place INI edits."""
from __future__ import annotations

import subprocess

import pytest

from tasks.engine.plan import FileChange
from tasks.engine.context import StepError
from tasks.steps.svnrepo import (SERVE_KEYS, CreateSvnRepo, check_password, ini_values, round_trip_items,
                                 set_ini_keys)
from tests.unit.helpers import base_data, inventory
from tasks.engine.mode import Mode
from tests.memnode import MemoryNode
from tests.unit.helpers import patch_on, plan_on, whats

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


# ---------------------------------------------------------------- the step on a node in memory (tests/memnode.py)

REPO = "/var/svn/depsyncrepo"


def svn_node(tmp_path, parent_writable: bool = True) -> MemoryNode:
    """The svn host: /var/svn, `test -w` as told, and `svnadmin create` answered by the real svnadmin (the
    files it makes are loaded into the node)."""
    inv = inventory()
    node = MemoryNode(inv.hosts["esb-mgr"])
    node.add_dir("/var/svn")
    node.on(r"^test -w ", (0 if parent_writable else 1, "", ""))

    def svnadmin(command, stdin, sudo):
        made = tmp_path / "made"
        subprocess.run(["svnadmin", "create", str(made)], check=True)
        node.load_tree(made, REPO)
        return 0, "", ""
    node.on(r"svnadmin create", svnadmin)
    return node


def test_create_svn_repo_plans_a_new_repository_and_a_made_one_converges(tmp_path):
    inv = inventory()
    node = svn_node(tmp_path)
    secrets = {"SVN_PASSWORD": PW}
    plan, _ = plan_on(CreateSvnRepo(), node, inv, secrets)
    conf, pw = f"{REPO}/conf/svnserve.conf", f"{REPO}/conf/passwd"
    assert whats(plan) == [(REPO, "repository")] + [(conf, f"[general] {k}") for k, _ in SERVE_KEYS] + [
        (pw, "[users] repouser")]
    assert [a.describe() for a in plan.actions][0] == f"svnadmin create {REPO}"
    assert PW not in "".join(a.describe() for a in plan.actions)
    patch_on(CreateSvnRepo(), node, inv, secrets)
    assert node.commands[-1] == (f"svnadmin create {REPO}", False)
    assert b"repouser = " + PW.encode() in node.data(pw) and node.stat(pw).mode & 0o7777 == 0o600
    assert b"\nanon-access = none" in node.data(conf)
    assert not plan_on(CreateSvnRepo(), node, inv, secrets)[0]
    # verify also asks the server: the user gets in and an anonymous reader does not
    node.on(r"svn info", (0, "user 0 \nanon 1 svn: E170001: Authentication required\n", ""))
    assert not plan_on(CreateSvnRepo(), node, inv, secrets, Mode.VERIFY)[0]
    assert node.commands[-1][0].startswith("sh -c ") and PW not in node.commands[-1][0]


def test_create_svn_repo_fixes_a_loose_passwd_mode_alone_and_reports_an_open_server(tmp_path):
    inv = inventory()
    node = svn_node(tmp_path)
    secrets = {"SVN_PASSWORD": PW}
    patch_on(CreateSvnRepo(), node, inv, secrets)
    node.chmod(f"{REPO}/conf/passwd", 0o644)
    plan, _ = plan_on(CreateSvnRepo(), node, inv, secrets)
    assert [i.line() for i in plan.items] == [f"{REPO}/conf/passwd: mode: wanted '0600', actual '0644'"]
    assert plan.files == [] and [a.describe() for a in plan.actions] == [f"chmod 600 {REPO}/conf/passwd"]
    node.on(r"svn info", (0, "user 0 \nanon 0 \n", ""))
    assert [i.what for i in plan_on(CreateSvnRepo(), node, inv, secrets, Mode.VERIFY)[0].items] == [
        "mode", "anonymous svn info"]


def test_create_svn_repo_goes_through_sudo_where_the_parent_is_not_writable_and_refuses_without_it(tmp_path):
    inv = inventory()
    node = svn_node(tmp_path, parent_writable=False)
    with pytest.raises(StepError, match="/var/svn is not writable by wso2 on esb-mgr"):
        plan_on(CreateSvnRepo(), node, inv, {"SVN_PASSWORD": PW})
    node.sudo_ok = True
    plan, _ = plan_on(CreateSvnRepo(), node, inv, {"SVN_PASSWORD": PW})
    assert plan.actions[0].sudo and "chown -R --reference=/var/svn" in plan.actions[0].describe()
    node.add_dir(REPO)  # a folder that is no repository is never touched
    with pytest.raises(StepError, match="is not a Subversion repository"):
        plan_on(CreateSvnRepo(), node, inv, {"SVN_PASSWORD": PW})
