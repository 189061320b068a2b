"""tasks/remote/sftpio.py against a recorded SFTP session: which requests mkdir_p makes."""
from __future__ import annotations

import contextlib

from tasks.remote.common import Counters
from tasks.remote.sftpio import SftpIO


def test_a_folder_said_absent_that_exists_after_all_is_still_used():
    """A hint that a folder is missing (from a listing) is only a hint: a folder that appeared meanwhile is found by
    the mkdir's refusal and used."""
    class Sftp:
        def __init__(self):
            self.dirs = {"/s", "/s/b"}
            self.asked = []

        def stat(self, p):
            self.asked.append(("stat", p))
            if p not in self.dirs:
                raise FileNotFoundError(p)
            return type("A", (), {"st_mode": 0o40700, "st_uid": 0, "st_gid": 0, "st_size": 0, "st_mtime": 0})()

        def mkdir(self, p, mode):
            self.asked.append(("mkdir", p))
            if p in self.dirs:
                raise OSError(17, "exists")
            self.dirs.add(p)

    class T:  # the transport's part SftpIO uses
        def __init__(self):
            self.sftp, self.counters, self.io = Sftp(), Counters(), contextlib.nullcontext()

        def deadline(self, what, extra=0.0):
            return contextlib.nullcontext()

    t = T()
    io = SftpIO(t)  # type: ignore[arg-type]
    io.absent("/s/b", "/s/b/run", "/s/b/run/files")
    io.mkdir_p("/s/b/run/files", 0o700)
    assert t.sftp.dirs >= {"/s/b/run", "/s/b/run/files"}
    assert ("stat", "/s/b/run") not in t.sftp.asked and ("stat", "/s/b") in t.sftp.asked  # the refused mkdir's check
    t.sftp.asked.clear()
    io.mkdir_p("/s/b/run/sql", 0o700)  # its parent was made this run: no stat above it
    assert t.sftp.asked == [("stat", "/s/b/run/sql"), ("mkdir", "/s/b/run/sql")]
