"""tasks.formats.zipdir: a zip's entries through zipfile over a ranged reader, as jars are compared without reading them."""
from __future__ import annotations

import io
import zipfile

from tasks.formats import zipdir


def make(entries: int, comment: bytes = b"", payload: bytes = b"x" * 100) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(entries):
            z.writestr(zipfile.ZipInfo(f"org/example/C{i}.class", (2026, 1, 1, 0, 0, 0)), payload)
        z.comment = comment
    return buf.getvalue()


def ranged(data: bytes, asked: list[int] | None = None):
    def read_range(offset, length):
        if asked is not None:
            asked.append(length)
        start = max(0, len(data) + offset) if offset < 0 else offset
        return data[start:start + length], len(data)
    return read_range


def test_the_entries_of_a_small_and_a_commented_zip():
    for data in (make(3), make(3, b"c" * 60000)):
        e = zipdir.local_entries(data)
        assert [n for n, *_ in e] == [f"org/example/C{i}.class" for i in range(3)]
        assert all(size == 100 and crc == zipfile.crc32(b"x" * 100) for _, crc, _, size in e)
        assert zipdir.entries(ranged(data)) == e


def test_a_directory_larger_than_the_first_read_is_read_before_it():
    data = make(3000)  # ~130 kB of directory: it begins before the last 8 KiB
    assert len(zipdir.entries(ranged(data))) == 3000 == len(zipdir.local_entries(data))


def test_other_contents_of_the_same_size_give_other_entries_and_junk_gives_none():
    a, b = make(2, payload=b"a" * 100), make(2, payload=b"b" * 100)
    assert len(a) == len(b) and zipdir.local_entries(a) != zipdir.local_entries(b)
    assert zipdir.local_entries(b"not a zip at all") is None
    assert zipdir.entries(lambda o, n: (b"not a zip"[-n:], 9)) is None


def test_a_few_kib_of_a_big_jar_are_read_and_a_long_directory_or_comment_costs_one_read_more():
    for data, reads in ((make(3, payload=b"p" * 2_000_000), 1), (make(3000), 2), (make(2, b"c" * 30000), 2)):
        asked: list[int] = []
        assert zipdir.entries(ranged(data, asked)) == zipdir.local_entries(data)
        assert len(asked) == reads, asked  # the 2 MB jar: its last 8 KiB
        assert sum(asked) <= 8192 + 70000 + 140000


def test_zip64_and_names_from_a_tail_only():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a/B.class", b"b")
    z64 = io.BytesIO()
    with zipfile.ZipFile(z64, "w", allowZip64=True) as z:
        with z.open("big.bin", "w", force_zip64=True) as f:
            f.write(b"0" * 10)
    assert [e[0] for e in zipdir.entries(ranged(z64.getvalue()))] == ["big.bin"]
    data = buf.getvalue()
    assert zipdir.names(data[-120:]) == ["a/B.class"]
    assert zipdir.names(data[-30:]) is None


def test_zip_directory_from_the_end_of_a_jar():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "x")
        z.writestr("com/mysql/jdbc/Driver.class", b"\xca\xfe" * 5000)
    data = buf.getvalue()
    assert zipdir.names(data) == ["META-INF/MANIFEST.MF", "com/mysql/jdbc/Driver.class"]
    assert zipdir.names(data[-200:]) == ["META-INF/MANIFEST.MF", "com/mysql/jdbc/Driver.class"]  # only the tail
    assert zipdir.names(data[-40:]) is None  # the directory is cut: not trusted
    assert zipdir.names(b"not a zip") is None


def test_a_member_at_the_start_of_a_large_archive_is_read_alone_not_the_megabytes_before_the_directory():
    """An application archive's artifacts.xml comes first, its payload after: opening the member reads the
    directory and the member's own bytes, never the whole archive (undeploy by name over a 256 MiB .car)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("artifacts.xml", b"<artifacts/>")
        z.writestr("App_1.0/big.bin", b"\0" * (8 << 20))
    data, asked = buf.getvalue(), []
    with zipfile.ZipFile(zipdir.RangedReader(ranged(data, asked))) as z:
        assert z.read("artifacts.xml") == b"<artifacts/>"
        assert z.read("App_1.0/big.bin") == b"\0" * (8 << 20)  # a member read whole is still read right
    assert max(asked[:4]) < 1 << 16 and sum(asked) < (8 << 20) + (1 << 17), asked[:6]
