"""Pure parts of rollback (tasks/commands/rollback/): what a diff must mask, which files are private, the runs' order
and trust (what is restored on the host: rollback/test_ops.py)."""
from __future__ import annotations

from tasks.commands.rollback.command import secret_values
from tasks.remote.common import is_private


def test_secret_values_of_xml_passwd_and_private_keys():
    xml = b"<x><SvnPassword>s3cr&amp;t</SvnPassword><password>db-pw</password><SvnUser>u</SvnUser></x>"
    assert secret_values("conf/carbon.xml", xml) == [b"s3cr&amp;t", b"db-pw", "s3cr&t", "db-pw"]  # raw, decoded
    passwd = b"[users]\n# harry = harryssecret\nrepouser = the pw\n"
    assert secret_values("/var/svn/repo/conf/passwd", passwd) == [b"the pw"]
    assert secret_values("other.ini", passwd) == []
    pem = b"-----BEGIN PRIVATE KEY-----\nAAAA\nBBBB\n-----END PRIVATE KEY-----\n"
    assert secret_values("x.pem", pem) == [b"AAAA", b"BBBB"]
    assert secret_values("x", None) == []


def test_private_files_are_keys_and_files_no_one_else_may_read():
    assert is_private("/etc/ssl/wso2/esb.wso2.com.key", 0o644)
    assert is_private("/var/svn/repo/conf/passwd", 0o600)
    assert not is_private("/opt/esb/repository/conf/carbon.xml", 0o644)


def test_the_run_to_undo_is_the_top_of_every_stack_that_holds_it_and_a_clock_only_breaks_a_tie():
    from tasks.commands.rollback.runs import choose_run
    stacks = {"esb-w1": [("000007-B", {"time": 100})], "esb-w2": [("000003-B", {"time": 100})]}
    assert choose_run(stacks) == "B"
    stacks["db1"] = [("000001-A", {"time": 200})]  # another run on another host: the later by its own record first
    assert choose_run(stacks) == "A"


def test_a_run_buried_on_one_host_is_never_chosen_whatever_its_clock_said():
    """A run from a machine a day ahead (X, on w1 and w2), then a run of this machine on w1 only (Y): w2's top is
    X but w1 holds X under Y, so Y goes first and X is undone later on both hosts together."""
    from tasks.commands.rollback.runs import choose_run
    day_ahead = {"time": 10_000_000}
    stacks = {"esb-w1": [("000002-Y", {"time": 100}), ("000001-X", day_ahead)],
              "esb-w2": [("000001-X", day_ahead)]}
    assert choose_run(stacks) == "Y"
    stacks["esb-w1"] = stacks["esb-w1"][1:]
    assert choose_run(stacks) == "X"


def test_interleaved_runs_are_refused_not_guessed():
    import pytest
    from tasks.commands.rollback.runs import Interleaved, choose_run
    stacks = {"esb-w1": [("000002-Y", {}), ("000001-X", {})], "esb-w2": [("000002-X", {}), ("000001-Y", {})]}
    with pytest.raises(Interleaved, match="esb-w1: Y, esb-w2: X"):
        choose_run(stacks)


def test_only_a_manifest_this_machine_signed_for_this_node_and_folder_is_trusted(tmp_path, monkeypatch):
    monkeypatch.setenv("ESB_RUN_KEY_FILE", str(tmp_path / "run.key"))
    from tasks.commands.rollback.runs import distrust
    from tasks.config import Host
    from tasks.remote import runkey
    runkey._key.cache_clear()
    host = Host(name="esb-w1", address="127.0.0.3", role="worker")
    body = {"run_id": "R1", "host": "esb-w1", "seq": 7, "files": []}
    good = runkey.sign(body)
    assert distrust(good, host, "000007-R1") is None
    assert "not signed" in distrust(body, host, "000007-R1")
    assert "not signed" in distrust({**good, "files": [{"path": "/etc/hosts"}]}, host, "000007-R1")
    assert "not esb-w1's" in distrust(runkey.sign({**body, "host": "esb-mgr"}), host, "000007-R1")
    assert "not this folder's" in distrust(good, host, "000007-R2")  # copied into another run's folder
    assert "not this folder's" in distrust(good, host, "000009-R1")  # renumbered to jump the stack
    assert "not a JSON object" in distrust([good], host, "000007-R1")
    # the same as a code (JSON's skipped_runs[].code), the text beside it
    from tasks.commands.rollback.runs import distrust_code
    assert distrust_code(good, host, "000007-R1") is None
    assert [distrust_code(m, host, f)[0] for m, f in [(body, "000007-R1"), ([good], "000007-R1"),
                                                      (runkey.sign({**body, "host": "esb-mgr"}), "000007-R1"),
                                                      (good, "000009-R1")]] == \
        ["unsigned", "not-json-object", "other-host", "other-folder"]
    monkeypatch.setenv("ESB_RUN_KEY_FILE", str(tmp_path / "other.key"))
    runkey._key.cache_clear()
    assert "not signed" in distrust(good, host, "000007-R1")  # another machine's key
    runkey._key.cache_clear()


def test_a_skipped_run_in_json_has_its_code_and_run_beside_the_words():
    from tasks.commands.rollback.runs import Skipped
    s = Skipped("esb-w1", "run R1 (fab map-hosts)", "its manifest is not signed", "unsigned", "R1")
    assert s.as_dict() == {"host": "esb-w1", "what": "run R1 (fab map-hosts)", "why": "its manifest is not signed",
                           "code": "unsigned", "run": "R1"}
    assert s.line() == "esb-w1: run R1 (fab map-hosts) skipped, never restored: its manifest is not signed"


def test_a_run_is_named_by_its_command_line_machine_and_time():
    from tasks.commands.rollback.runs import describe_run
    text = describe_run("R1", {"command": "fab -H workers patch-axis2", "machine": "ops-laptop", "time": 0})
    assert text == "run R1 (fab -H workers patch-axis2, from ops-laptop, at 1970-01-01 00:00:00 UTC)"
    assert describe_run("R2", {"files": []}) == "run R2"


def test_an_xml_files_passwords_are_found_by_the_xml_layer_in_every_way_carbon_writes_them():
    """What the regex alone missed: a CDATA password, a property named password, a password attribute; each value is
    masked in every form the file may write it (decoded here, the diff encodes it)."""
    xml = (b'<x><Password><![CDATA[cd&ta-pw]]></Password><Property name="password">prop-pw</Property>'
           b'<parameter name="ConnectionPassword">&#x70;aram-pw</parameter><ds password="attr-pw" user="u"/>'
           b'<Property name="UserName">admin</Property><!-- <Password>in-a-comment</Password> --></x>')
    found = secret_values("conf/user-mgt.xml", xml)
    assert {"cd&ta-pw", "prop-pw", "param-pw", "attr-pw"} <= set(found) and "admin" not in found and "u" not in found
    from tasks.engine.plan import FileChange
    new = xml.replace(b"prop-pw", b"new").replace(b"attr-pw", b"new").replace(b"cd&ta-pw", b"new").replace(
        b"&#x70;aram-pw", b"new")
    diff = FileChange("/opt/esb/repository/conf/user-mgt.xml", xml, new, secret_lines=tuple(found)).diff()
    for value in ("cd&ta-pw", "prop-pw", "aram-pw", "attr-pw"):
        assert value not in diff, diff
    assert secret_values("conf/broken.xml", b"<Password>raw-pw</Password><x") == [b"raw-pw"]  # not XML: the regex
