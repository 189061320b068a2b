"""deploy / undeploy's declaration (tasks/commands/line/deploy.py): --wait read and bounded, a flag
taken for the archive refused, before any host is touched."""
from __future__ import annotations

import pytest

from tasks.commands.line.deploy import COMMANDS, flag_not_file, wait_seconds
from tasks.config import ConfigError
from tests.unit.helpers import inventory


def test_wait_is_the_inventorys_sync_timeout_or_seconds_in_bounds():
    inv = inventory()
    assert wait_seconds(inv, None) == float(inv.run.sync_timeout)
    assert wait_seconds(inv, "2.5") == 2.5 and wait_seconds(inv, "86400") == 86400.0


@pytest.mark.parametrize("wait", ["0", "-1", "86401", "soon", "nan", ""])
def test_a_bad_wait_is_refused(wait):
    with pytest.raises(ConfigError, match="--wait .*: seconds, more than 0 and at most 86400"):
        wait_seconds(inventory(), wait)


@pytest.mark.parametrize("task, what", [("deploy", "an archive"), ("undeploy", "a name")])
def test_a_flag_given_where_the_word_goes_is_refused(task, what):
    with pytest.raises(ConfigError, match=f"{task}: '--help' is a flag, not {what}; for help: fab --help {task}"):
        flag_not_file(task, "--help")
    flag_not_file(task, "app_1.0.0.car")  # a word is taken


def test_the_word_is_the_positional_flag():
    assert [[f.name for f in c.flags if f.positional] for c in COMMANDS] == [["file"], ["name"]]
