"""tasks/probes/startrecord.py: the start record parsed defensively (a node can plant anything there), the files'
sha256 read in one batch (a large one streamed), bytes compared (a file put back as it was is no change)."""
from __future__ import annotations

import hashlib
import json

import pytest

from tasks.probes.startrecord import RECORD_LIMIT, StartRecord, changed_files, digests, parse_record, record_path
from tasks.remote import RemoteError
from tests.unit.helpers import inventory

A, B = "a" * 64, "b" * 64


class FakeFiles:
    """The reads digests() makes, on a dict of path -> bytes; a file over the cap is refused by read."""

    def __init__(self, files: dict[str, bytes], cap: int = 100):
        self.files, self.cap, self.prefetched, self.streamed = files, cap, [], []

    def prefetch(self, paths):
        self.prefetched.append(list(paths))

    def read(self, path, limit=0, kind="", cache=True):
        data = self.files.get(path)
        if data is not None and len(data) > self.cap:
            raise RemoteError(f"{path}: too big")
        return data

    def sha256(self, path, limit=0):
        self.streamed.append(path)
        return hashlib.sha256(self.files[path]).hexdigest() if path in self.files else None


def test_a_record_round_trips_and_lives_in_the_nodes_own_state_folder():
    rec = StartRecord(4242, {"/opt/p/a.xml": A, "/opt/p/gone.xml": None}, time=7)
    assert parse_record(rec.to_bytes()) == rec
    assert parse_record(StartRecord(1, {}, stopped=True).to_bytes()).stopped
    h = inventory().hosts["esb-w1"]
    assert record_path(h) == f"{h.state_dir}/nodes/esb-w1/server-start.json"


@pytest.mark.parametrize("data", [
    None, b"", b"not json", b"\xff\xfe", b"[]", b'"text"', b"[" * 100000,
    json.dumps({"pid": 5, "stopped": False, "time": 0, "files": {}}).encode(),  # no version
    json.dumps({"version": 2, "pid": 5, "stopped": False, "time": 0, "files": {}}).encode(),
    json.dumps({"version": 1, "pid": "5", "stopped": False, "time": 0, "files": {}}).encode(),
    json.dumps({"version": 1, "pid": True, "stopped": False, "time": 0, "files": {}}).encode(),
    json.dumps({"version": 1, "pid": -1, "stopped": False, "time": 0, "files": {}}).encode(),
    json.dumps({"version": 1, "pid": 1 << 40, "stopped": False, "time": 0, "files": {}}).encode(),
    json.dumps({"version": 1, "pid": 5, "stopped": "no", "time": 0, "files": {}}).encode(),
    json.dumps({"version": 1, "pid": 5, "stopped": False, "time": 0, "files": []}).encode(),
    json.dumps({"version": 1, "pid": 5, "stopped": False, "time": 0, "files": {"rel/a.xml": A}}).encode(),
    json.dumps({"version": 1, "pid": 5, "stopped": False, "time": 0, "files": {"/a.xml": "xyz"}}).encode(),
    json.dumps({"version": 1, "pid": 5, "stopped": False, "time": 0, "files": {"/a.xml": A.upper()}}).encode(),
    json.dumps({"version": 1, "pid": 5, "stopped": False, "time": 0, "files": {"/a.xml": 3}}).encode(),
    json.dumps({"version": 1, "pid": 5, "stopped": False, "time": 0,
                "files": {f"/{i:0999d}": A for i in range(RECORD_LIMIT // 1000)}}).encode(),  # over the cap
])
def test_anything_malformed_is_no_record(data):
    assert parse_record(data) is None


def test_digests_read_the_files_in_one_batch_and_stream_a_large_one():
    fake = FakeFiles({"/p/a.xml": b"<a/>", "/p/big.jar": b"x" * 500})
    got = digests(fake, ["/p/a.xml", "/p/big.jar", "/p/missing.xml"])
    assert got == {"/p/a.xml": hashlib.sha256(b"<a/>").hexdigest(),
                   "/p/big.jar": hashlib.sha256(b"x" * 500).hexdigest(), "/p/missing.xml": None}
    assert fake.prefetched == [["/p/a.xml", "/p/big.jar", "/p/missing.xml"]] and fake.streamed == ["/p/big.jar"]


def test_only_other_bytes_are_a_change_whatever_the_clock_says():
    rec = StartRecord(1, {"/a": A, "/b": B, "/gone": None})
    assert changed_files(rec, {"/a": A, "/b": B, "/gone": None}) == []  # put back as it was: no change
    assert changed_files(rec, {"/a": B, "/b": B, "/gone": A}) == ["/a", "/gone"]
    assert changed_files(rec, {"/a": A, "/b": None}) == ["/b"]  # removed since the start
    assert changed_files(rec, {"/a": A, "/new": A, "/new-absent": None}) == ["/new"]  # a file managed since
