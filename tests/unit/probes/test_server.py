"""tasks/probes/server.py: LogFollower reads what a start logged across a rotation of the log (copytruncate,
a rename to a dated copy), and never takes an older rotated copy's lines for this start's."""
from __future__ import annotations

import posixpath

from tasks.formats import carbonlog as logs
from tasks.probes.server import LogFollower, ServerProbe
from tasks.remote import FileStat
from tests.unit.helpers import inventory

INV = inventory()
W1 = INV.hosts["esb-w1"]
LOG = posixpath.join(W1.product_home, "repository/logs/wso2carbon.log")
OLD = b"TID: [2026-12-01] INFO Starting WSO2 Carbon...\nTID: INFO WSO2 Carbon started in 9 sec\n" \
      b"TID: INFO Halting JVM\n"
MINE = b"TID: [2026-12-07] INFO Starting WSO2 Carbon...\n"
UP = b"TID: [2026-12-07] INFO WSO2 Carbon started in 12 sec\n"


class FakeLogs:
    """A node's log folder: path -> bytes, with mtimes in the order files were last written."""

    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.mtimes = {p: i for i, p in enumerate(files)}
        self.clock = len(files)

    def put(self, path: str, data: bytes) -> None:
        self.clock += 1
        self.files[path], self.mtimes[path] = data, self.clock

    def lstat(self, path):
        if path not in self.files:
            return None
        return FileStat(0o100644, 0, 0, len(self.files[path]), self.mtimes[path])

    def read_range(self, path, offset, length):
        data = self.files[path]
        return data[offset:offset + length], len(data)

    def listdir(self, path):
        return [posixpath.basename(p) for p in self.files if posixpath.dirname(p) == path]


def follower(node: FakeLogs) -> LogFollower:
    return LogFollower(ServerProbe(W1, INV, node, None))  # type: ignore[arg-type]


def test_without_rotation_only_what_follows_the_offset_counts():
    node = FakeLogs({LOG: OLD})
    f = follower(node)
    assert not logs.started(f.text())  # the last server's start line is not this start's
    node.put(LOG, OLD + MINE + UP)
    assert f.text() == (MINE + UP).decode() and logs.started(f.text())


def test_copytruncate_during_the_start_loses_no_line():
    node = FakeLogs({LOG: OLD})
    f = follower(node)
    node.put(LOG, OLD + MINE)
    assert not logs.started(f.text())
    node.put(LOG + ".1", OLD + MINE)  # copied, then truncated in place
    node.put(LOG, b"")
    assert logs.STARTING in f.text() and not logs.started(f.text())
    node.put(LOG, UP)  # grows again, shorter than the offset
    assert logs.started(f.text())
    node.put(LOG, UP * 40)  # and longer than the offset: still read from its start
    assert f.text().startswith(MINE.decode()) and logs.started(f.text())


def test_a_start_line_logged_before_the_truncation_is_found_in_the_rotated_copy():
    node = FakeLogs({LOG: OLD})
    f = follower(node)
    node.put(LOG + ".2026-12-07", OLD + MINE + UP)  # log4j's dated copy (renamed away), a new log begun
    node.put(LOG, b"TID: INFO something later\n" * 20)
    assert logs.started(f.text())


def test_an_older_rotated_copy_is_never_taken_for_this_start():
    node = FakeLogs({LOG + ".1": OLD, LOG: b"TID: INFO other server\n" * 10})
    f = follower(node)
    node.put(LOG + ".1", OLD + MINE + UP)  # an older copy touched later, not beginning like the log we began on
    node.put(LOG, b"")
    assert not logs.started(f.text())


def test_a_log_missing_for_a_moment_is_no_error():
    node = FakeLogs({LOG: OLD})
    f = follower(node)
    node.put(LOG, OLD + MINE)
    assert f.text() == MINE.decode()
    del node.files[LOG]
    assert f.text() == ""  # rotated away, nothing new yet (and no copy): nothing of this start is claimed
    node.put(LOG, UP)
    assert logs.started(f.text())  # the new log's start line counts
