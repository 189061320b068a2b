"""Subversion over http(s):// (tasks/probes/svndav.py): the multistatus parser and svn:date (pure), then a session
against a real Apache with mod_dav_svn (tests/svnhttp.py) on loopback: the youngest revision, a file's bytes and
the revision it changed in, a folder, a missing path, a commit's date, a refused login, a URL that is no
repository; the password never shows."""
from __future__ import annotations

import hashlib
import socket
import subprocess

import pytest

from tasks.probes.svndav import DavSession, parse_multistatus, propfind_body, svn_date, svn_reachable, svn_session
from tasks.probes.svnwire import SvnError, SvnSession
from tasks.remote import RemoteError

MULTI = b"""<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:ns0="DAV:">
<D:response xmlns:lp1="DAV:">
<D:href>/svn/repo/!svn/rvr/2/-1234/carbonapps/A_1.car</D:href>
<D:propstat><D:prop><lp1:version-name>1</lp1:version-name><lp1:resourcetype/></D:prop>
<D:status>HTTP/1.1 200 OK</D:status></D:propstat>
<D:propstat><D:prop><lp1:getetag/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>
</D:response>
</D:multistatus>"""


def test_a_multistatus_gives_each_found_property_by_its_namespaced_name():
    got = parse_multistatus(MULTI)
    props = got["/svn/repo/!svn/rvr/2/-1234/carbonapps/A_1.car"]
    assert props["{DAV:}version-name"].text == "1" and "{DAV:}resourcetype" in props
    assert "{DAV:}getetag" not in props  # its propstat said 404
    for bad in (b"<not xml", b"<D:other xmlns:D='DAV:'/>",
                b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><D:multistatus xmlns:D="DAV:">'
                b'<D:response><D:href>&e;</D:href></D:response></D:multistatus>'):
        try:
            out = parse_multistatus(bad)
        except SvnError:
            continue
        assert "root:" not in repr({k: list(v) for k, v in out.items()})  # no entity is ever resolved


def test_svn_date_and_the_propfind_body():
    assert svn_date("2026-12-07T17:12:10.305222Z") == 1796663530.0
    assert svn_date("yesterday") is None and svn_date(None) is None
    body = propfind_body(("DAV:", "version-name"), ("http://subversion.tigris.org/xmlns/svn/", "date"))
    assert b'<p:version-name xmlns:p="DAV:"/>' in body and b"<D:propfind" in body


def test_the_session_kind_follows_the_url_scheme():
    assert isinstance(svn_session(None, "http://h/svn/r", "u", "p", 1), DavSession)
    assert isinstance(svn_session(None, "HTTPS://h/svn/r", "u", "p", 1), DavSession)
    assert isinstance(svn_session(None, "svn://h/r", "u", "p", 1), SvnSession)
    assert "p" not in repr(svn_session(None, "http://h/svn/r", "u", "pw-secret", 1)).replace("http", "")


# ---------------------------------------------------------------- a session with a real Apache + mod_dav_svn

svnhttp = pytest.importorskip("tests.svnhttp")
PW = "Dav&<pw>9"


class Direct:
    """The node's channel, as a plain socket from here (Apache listens on loopback); counts connections."""

    def __init__(self):
        self.opened = 0

    def open_channel(self, host, port, timeout=None):
        self.opened += 1
        try:
            return socket.create_connection((host, port), timeout)
        except OSError as e:  # as the remote layer says it
            raise RemoteError(f"cannot open {host}:{port} ({e.strerror})") from None


@pytest.fixture(scope="module")
def apache(tmp_path_factory):
    if not svnhttp.available():
        pytest.skip("needs apache2 and libapache2-mod-svn")
    server = svnhttp.SvnHttp()
    server.users({"repouser": PW})
    tree = tmp_path_factory.mktemp("import")
    (tree / "-1234" / "carbonapps").mkdir(parents=True)
    (tree / "-1234" / "carbonapps" / "App_1.0.car").write_bytes(b"first")
    svn = ["svn", "--non-interactive", "--username", "repouser", "--password", PW]
    subprocess.run(svn + ["import", "-q", "-m", "one", str(tree), server.url], check=True, capture_output=True)
    subprocess.run(svn + ["mkdir", "-q", "-m", "two", server.url + "other"], check=True, capture_output=True)
    yield server
    server.close()


def test_a_dav_session_reads_revisions_files_and_dates(apache):
    node = Direct()
    s = DavSession(node, apache.url + "-1234/", "repouser", PW, 5)
    try:
        assert s.open() is None and s.base == "-1234"
        assert s.latest_rev() == 2
        assert s.created_rev("carbonapps/App_1.0.car") == ("file", 1)
        assert s.created_rev("carbonapps") == ("dir", 1) and s.created_rev("nothing.car") is None
        f = s.get_file("carbonapps/App_1.0.car")
        assert f is not None and (f.revision, f.created_rev, f.size) == (2, 1, 5)
        assert f.sha256 == hashlib.sha256(b"first").hexdigest()
        assert s.get_file("carbonapps") is None and s.get_file("nothing.car", 1) is None
        with pytest.raises(SvnError, match="more than|over 3"):
            s.get_file("carbonapps/App_1.0.car", limit=3)
        assert s.created_rev("carbonapps/App_1.0.car", 1) == ("file", 1)  # the connection goes on after a refusal
        assert isinstance(s.rev_date(2), float)
        assert node.opened <= 3  # kept alive: a refused oversized body closes it once
    finally:
        s.close()


def test_a_refused_login_and_a_url_that_is_no_repository_say_why_without_the_password(apache):
    s = DavSession(Direct(), apache.url, "repouser", "wrong-" + PW, 5)
    why = s.open()
    assert why == "login as 'repouser' refused (HTTP 401)" and PW not in why
    why = DavSession(Direct(), apache.url.replace("/svn/depsyncrepo/", "/elsewhere/"), "repouser", PW, 5).open()
    assert why is not None and "not as a Subversion repository" in why
    why = DavSession(Direct(), apache.url.replace(f":{apache.port}/", ":1/"), "repouser", PW, 5).open()
    assert why is not None and "no connection" in why and PW not in why


def test_the_live_check_speaks_the_url_scheme(apache):
    """verify --live's svn check: http(s):// through the same session (an https certificate verified), svn+ssh://
    refused with the reason, anything else named."""
    assert svn_reachable(Direct(), apache.url, "repouser", PW, 5) is None
    assert svn_reachable(Direct(), apache.url, "repouser", "x" + PW, 5) == "login as 'repouser' refused (HTTP 401)"
    why = svn_reachable(Direct(), apache.url.replace("http://", "https://"), "repouser", PW, 5)
    assert why is not None and "TLS" in why  # Apache speaks plain HTTP there: no certificate, no login sent
    assert "not supported by Carbon's deployment synchronizer" in svn_reachable(Direct(), "svn+ssh://h/r", "u", "p", 5)
    assert "only svn:// and http(s)://" in svn_reachable(Direct(), "file:///var/svn/r", "u", "p", 5)
    why = svn_reachable(Direct(), "http://repouser:Secret-9@h/svn/r", "u", "p", 5)
    assert why is not None and "Secret-9" not in why and "carries a user" in why
    why = svn_reachable(Direct(), "svn://repouser:Secret-9@h/r", "u", "p", 5)
    assert why is not None and "Secret-9" not in why and "carries a user" in why
