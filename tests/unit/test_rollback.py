"""Pure parts of rollback (tasks/rollback.py): what a diff must mask, what is restored on the host."""
from __future__ import annotations

import shlex

from tasks.rollback import is_private, restore_on_host_command, secret_values


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
