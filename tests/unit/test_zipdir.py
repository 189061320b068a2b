"""tasks.zipdir: a zip's central directory from its last bytes, as jars are compared without reading them."""
from __future__ import annotations

import io
import zipfile

from tasks import zipdir


def make(entries: int, comment: bytes = b"", payload: bytes = b"x" * 100) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(entries):
            z.writestr(zipfile.ZipInfo(f"org/example/C{i}.class", (2026, 1, 1, 0, 0, 0)), payload)
        z.comment = comment
    return buf.getvalue()


def test_the_directory_of_a_small_and_a_commented_zip():
    for data in (make(3), make(3, b"c" * 60000)):
        d = zipdir.directory(data)
        assert d.startswith(b"PK\x01\x02") and d[-22:].startswith(b"PK\x05\x06")  # directory, then end record
        where = zipdir.locate(data[-zipdir.TAIL:], len(data))
        assert where[0] + where[1] == len(data) - len(zipfile.ZipFile(io.BytesIO(data)).comment)


def test_a_directory_larger_than_the_tail_is_located_before_it():
    data = make(3000)  # ~130 kB of directory: it begins before the last 64 kB
    tail = data[-zipdir.TAIL:]
    offset, length = zipdir.locate(tail, len(data))
    assert offset < len(data) - len(tail) and data[offset:offset + 4] == b"PK\x01\x02"
    assert zipdir.directory(data) == data[offset:offset + length]


def test_other_contents_of_the_same_size_give_another_directory_and_junk_gives_none():
    a, b = make(2, payload=b"a" * 100), make(2, payload=b"b" * 100)
    assert len(a) == len(b) and zipdir.directory(a) != zipdir.directory(b)
    assert zipdir.directory(b"not a zip at all") is None


def test_fetch_reads_a_few_kib_of_a_big_jar_and_a_long_directory_in_two_reads():
    for data, reads in ((make(3, payload=b"p" * 2_000_000), 1), (make(3000), 2), (make(2, b"c" * 30000), 2)):
        asked = []

        def read_range(offset, length, data=data):
            asked.append(length if offset < 0 else length)
            start = max(0, len(data) + offset) if offset < 0 else offset
            return data[start:start + length], len(data)

        assert zipdir.fetch(read_range) == zipdir.directory(data)
        cd = zipdir.directory(data)
        assert sum(asked) <= len(cd) + zipdir.SHORT + zipdir.TAIL and len(asked) <= 3
        assert len(asked) == reads  # the 2 MB jar: its last 8 KiB; a long directory or comment: one read more
    assert zipdir.fetch(lambda o, n: (b"not a zip"[-n:], 9)) is None
