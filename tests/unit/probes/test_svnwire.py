"""The svn protocol's pure parts (tasks/probes/svnwire.py): items as svnserve sends them, the CRAM-MD5 answer."""
from __future__ import annotations

import pytest

from tasks.probes.svnwire import SvnProtocolError, cram_md5, svn_item


def test_svn_items_one_at_a_time_and_incomplete_ones_wait():
    data = b"( success ( 2 2 ( ) ( edit-pipeline svndiff1 ) ) ) ( step ( 5:abc"
    item, used = svn_item(data)
    assert item == ["success", [2, 2, [], ["edit-pipeline", "svndiff1"]]]
    assert svn_item(data[used:]) is None
    assert svn_item(b"( failure ( ( 210005 31:No repository found in 'svn:/' 0: 0 ) ) ) ")[0][0] == "failure"
    with pytest.raises(SvnProtocolError):
        svn_item(b") ")


def test_cram_md5_is_rfc_2195():
    challenge = b"<1896.697170952@postoffice.reston.mci.net>"
    assert cram_md5("tim", "tanstaaftanstaaf", challenge) == b"tim b913a602c7eda7a495b4e6e7334d3890"


# ---------------------------------------------------------------- a session with a real svnserve

import hashlib  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

from tasks.probes.svnwire import SvnError, SvnSession, svn_login  # noqa: E402
from tests.lab import free_port  # noqa: E402


class Direct:
    """The node's channel, as a plain socket from here (svnserve listens on loopback)."""

    def open_channel(self, host, port, timeout=None):
        return socket.create_connection((host, port), timeout)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("svn")
    repo = root / "depsyncrepo"
    subprocess.run(["svnadmin", "create", str(repo)], check=True)
    (repo / "conf/svnserve.conf").write_text("[general]\nanon-access = none\nauth-access = write\n"
                                            "password-db = passwd\n")
    (repo / "conf/passwd").write_text("[users]\nrepouser = s3cret&pw\n")
    wc = root / "wc"
    url = f"file://{repo}/-1234"
    subprocess.run(["svn", "mkdir", "-q", "-m", "d", url], check=True)
    subprocess.run(["svn", "checkout", "-q", url, str(wc)], check=True)
    (wc / "carbonapps").mkdir()
    (wc / "carbonapps/App_1.0.0.car").write_bytes(b"PK" + bytes(range(256)) * 800)
    subprocess.run(["svn", "add", "-q", "carbonapps"], cwd=wc, check=True)
    subprocess.run(["svn", "commit", "-q", "-m", "c"], cwd=wc, check=True)
    port = free_port("127.0.0.1")
    proc = subprocess.Popen(["svnserve", "-d", "--foreground", "--listen-host", "127.0.0.1", "--listen-port",
                             str(port), "-r", str(root)])
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    yield f"svn://127.0.0.1:{port}/depsyncrepo", (wc / "carbonapps/App_1.0.0.car").read_bytes()
    proc.terminate()
    proc.wait(5)


def test_a_session_reads_the_youngest_revision_a_path_and_a_file_with_its_bytes(served):
    base, data = served
    s = SvnSession(Direct(), base + "/-1234", "repouser", "s3cret&pw", 5)
    assert s.open() is None
    try:
        assert s.latest_rev() == 2
        assert s.check_path("") == "dir" and s.check_path("carbonapps/App_1.0.0.car") == "file"
        assert s.check_path("carbonapps/none.car") == "none"
        assert s.created_rev("carbonapps/App_1.0.0.car") == ("file", 2) and s.created_rev("x") is None
        f = s.get_file("carbonapps/App_1.0.0.car")
        assert f is not None and (f.revision, f.created_rev, f.size) == (2, 2, len(data))
        assert f.sha256 == hashlib.sha256(data).hexdigest()
        assert s.get_file("carbonapps/App_1.0.0.car", 1) is None and s.get_file("carbonapps") is None
        with pytest.raises(SvnError, match="more than 1000 bytes"):
            s.get_file("carbonapps/App_1.0.0.car", limit=1000)
    finally:
        s.close()


def test_a_path_not_made_yet_and_a_wrong_login(served):
    base, _ = served
    s = SvnSession(Direct(), base + "/-5", "repouser", "s3cret&pw", 5)
    assert s.open() is None
    assert s.latest_rev() == 2 and s.check_path("") == "none"
    s.close()
    why = svn_login(Direct(), base + "/-1234", "repouser", "wrong", 5)
    assert why is not None and why.startswith("login as 'repouser' refused:") and "wrong" not in why
    with pytest.raises(SvnError, match="not open"):
        SvnSession(Direct(), base, "u", "p", 5).latest_rev()
