"""Pure parts of rollback (tasks/commands/rollback/): what a diff must mask, what is restored on the host."""
from __future__ import annotations

import shlex

from tasks.commands.rollback.command import restore_on_host_command, secret_values
from tasks.remote.common import is_private


def test_secret_values_of_xml_passwd_and_private_keys():
    xml = b"<x><SvnPassword>s3cr&amp;t</SvnPassword><password>db-pw</password><SvnUser>u</SvnUser></x>"
    assert secret_values("conf/carbon.xml", xml) == [b"s3cr&amp;t", b"db-pw"]
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


def test_restore_on_host_is_one_quoted_command_ending_in_a_rename():
    cmd = restore_on_host_command("/s/backups/R/files/0001-a b.key", "/etc/ssl/a b.key", 0o600)
    argv = shlex.split(cmd)
    assert argv[:2] == ["sh", "-c"] and len(argv) == 3
    script = argv[2]
    assert script.startswith("umask 077 && cp '/s/backups/R/files/0001-a b.key' '/etc/ssl/.a b.key.esb-tmp-rollback'")
    assert "chmod 600 " in script and "mv -f '/etc/ssl/.a b.key.esb-tmp-rollback' '/etc/ssl/a b.key' || " in script
    assert script.endswith("rm -f '/etc/ssl/.a b.key.esb-tmp-rollback'; exit $rc; }")  # no copy left on failure


def test_runs_are_ordered_by_the_nodes_sequence_not_by_their_clock_names():
    from tasks.remote.journal import run_order
    names = ["000002-20250101T000000.000000-1", "000010-20240101T000000.000000-9", "20991231T235959.000000-5",
             "000001-20991231T000000.000000-2"]
    assert sorted(names, key=run_order) == ["20991231T235959.000000-5",  # a folder of an older release first
                                            "000001-20991231T000000.000000-2", "000002-20250101T000000.000000-1",
                                            "000010-20240101T000000.000000-9"]
    assert run_order("000010-20240101T000000.000000-9") == (10, "20240101T000000.000000-9")


def test_the_run_to_undo_is_the_top_of_the_hosts_stacks_and_a_clock_only_breaks_a_tie():
    from tasks.commands.rollback.runs import choose_run
    tops = {"esb-w1": ("000007-B", {"time": 100}), "esb-w2": ("000003-B", {"time": 100})}
    assert choose_run(tops) == "B"
    tops["db1"] = ("000001-A", {"time": 200})  # another run on another host: the later by its own record first
    assert choose_run(tops) == "A"


def test_a_run_is_named_by_its_command_line_machine_and_time():
    from tasks.commands.rollback.runs import describe_run
    text = describe_run("R1", {"command": "fab -H workers patch-axis2", "machine": "ops-laptop", "time": 0})
    assert text == "run R1 (fab -H workers patch-axis2, from ops-laptop, at 1970-01-01 00:00:00 UTC)"
    assert describe_run("R2", {"files": []}) == "run R2"
