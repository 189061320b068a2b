"""tasks/commands/rollback/ops.py: a private file's backup restored on the host by one quoted command through a
fresh private folder (no fixed temporary name, no link followed)."""
from __future__ import annotations

import shlex

from tasks.commands.rollback.ops import restore_on_host_command


def test_restore_on_host_is_one_quoted_command_through_a_fresh_private_folder():
    cmd = restore_on_host_command("/s/backups/R/files/0001-a b.key", "/etc/ssl/a b.key", 0o600)
    argv = shlex.split(cmd)
    assert argv[:2] == ["sh", "-c"] and len(argv) == 3
    script = argv[2]
    assert script.startswith("umask 077 && ESB_FROM=\"$(pwd -P)\" && { cd -P -- /etc/ssl && [ \"$(pwd -P)\" = /etc/ssl ]; }")
    assert "mkdir -m 700 -- '.a b.key.esb-tmp-" in script  # a random name, made exclusively
    assert "dd if='/s/backups/R/files/0001-a b.key' of=new iflag=nofollow" in script
    assert "chmod 600 -- new" in script and script.endswith("mv -fT -- new '../a b.key'")
    assert "rollback" not in script  # no fixed temporary name
    assert restore_on_host_command("/b", "/etc/ssl/k", 0o600) != restore_on_host_command("/b", "/etc/ssl/k", 0o600)
