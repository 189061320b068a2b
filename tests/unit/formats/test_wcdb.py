"""tasks.formats.wcdb: a real svn working copy's wc.db, read from its bytes."""
from __future__ import annotations

import subprocess

import pytest

from tasks.formats.wcdb import WC_DB, WcError, read_wc


def sh(*args: str, cwd=None) -> None:
    subprocess.run(args, check=True, capture_output=True, cwd=cwd)


def test_the_url_revision_and_files_of_a_real_working_copy(tmp_path):
    repo, wc = tmp_path / "repo", tmp_path / "wc"
    sh("svnadmin", "create", str(repo))
    sh("svn", "mkdir", "-q", "-m", "d", f"file://{repo}/-1234")
    sh("svn", "checkout", "-q", f"file://{repo}/-1234", str(wc))
    (wc / "carbonapps").mkdir()
    (wc / "carbonapps" / "A.car").write_bytes(b"hello\n")
    sh("svn", "add", "-q", "carbonapps", cwd=wc)
    sh("svn", "commit", "-q", "-m", "c", cwd=wc)
    sh("svn", "update", "-q", cwd=wc)
    got = read_wc((wc / WC_DB).read_bytes())
    assert got.url == f"file://{repo}/-1234" and got.revision == 2
    node = got.file("carbonapps/A.car")
    assert node is not None and node.revision == 2 and node.checksum == "$sha1$f572d396fae9206628714fb2ce00f72e94f2258f"
    sh("svn", "delete", "-q", "carbonapps/A.car", cwd=wc)
    sh("svn", "commit", "-q", "-m", "rm", cwd=wc)
    sh("svn", "update", "-q", cwd=wc)
    got = read_wc((wc / WC_DB).read_bytes())
    assert got.revision == 3 and got.file("carbonapps/A.car") is None


@pytest.mark.parametrize("data, why", [(b"", "not an SQLite"), (b"SQLite format 3\x00" + b"\x00" * 200, "readable"),
                                       (b"x" * 10, "not an SQLite")])
def test_what_is_not_a_working_copy_is_refused(data, why):
    with pytest.raises(WcError, match=why):
        read_wc(data)


def test_an_sqlite_file_without_nodes_is_refused(tmp_path):
    import sqlite3
    p = tmp_path / "x.db"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    with pytest.raises(WcError, match="readable"):
        read_wc(p.read_bytes())
