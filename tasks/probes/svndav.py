"""Subversion over http(s)://, as Apache's mod_dav_svn speaks it (WebDAV/DeltaV, Subversion's HTTP
protocol v2, 1.7 and later), from a node's own network position (httpwire.py: a channel of the run's
SSH connection, TLS verified): the same few questions the svn:// session answers (svnwire.SvnSession),
so that DepSync's proof reads either kind of SvnUrl.

- OPTIONS on the session URL, with the `activity-collection-set` body a Subversion client sends:
  the youngest revision (`SVN-Youngest-Rev`), the repository's root (`SVN-Repository-Root`) and the
  stubs of its revision resources (`SVN-Rev-Root-Stub`, `SVN-Rev-Stub`);
- PROPFIND (Depth 0) on `!svn/rvr/<rev>/<path>`: what a path is at a revision (DAV:resourcetype)
  and the revision it last changed in (DAV:version-name); on `!svn/rev/<rev>`: its svn:date;
- GET of `!svn/rvr/<rev>/<path>`: a file's bytes at a revision, hashed as they stream, capped.

Basic authentication with DepSync's SvnUser and SvnPassword on every request (as SVNKit sends them
once challenged); the password never shows in a message. The multistatus parser is pure."""
from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse
from datetime import datetime, timezone

from lxml import etree

from ..formats.xmldoc import safe_parser
from ..remote.protocol import NodeReads
from .httpwire import HttpConnection, HttpError, Response
from .svnwire import SvnError, SvnFile, SvnSession, file_at, svn_login

DAV = "DAV:"
SVN_PROPS = "http://subversion.tigris.org/xmlns/svn/"
OPTIONS_BODY = (b'<?xml version="1.0" encoding="utf-8"?><D:options xmlns:D="DAV:">'
                b'<D:activity-collection-set/></D:options>')
_URL = re.compile(r"^(https?)://([^/:\[\]@]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?(/[^?#]*)?\Z")


def propfind_body(*props: tuple[str, str]) -> bytes:
    """A PROPFIND asking for these (namespace, name) properties."""
    inner = "".join(f'<p:{name} xmlns:p="{ns}"/>' for ns, name in props)
    return f'<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>{inner}</D:prop>' \
           f'</D:propfind>'.encode()


def parse_multistatus(data: bytes) -> dict[str, dict[str, etree._Element]]:
    """A 207 Multi-Status body: href -> {"{namespace}name": the property element} of each property
    found (propstat 200); an SvnError when it is no multistatus. No DTD, no entity is loaded."""
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as e:
        raise SvnError(f"PROPFIND: an answer that is not XML ({e})") from None
    if root.tag != f"{{{DAV}}}multistatus":
        raise SvnError(f"PROPFIND: not a multistatus answer ({root.tag})")
    out: dict[str, dict[str, etree._Element]] = {}
    for resp in root.findall(f"{{{DAV}}}response"):
        href = (resp.findtext(f"{{{DAV}}}href") or "").strip()
        props = out.setdefault(href, {})
        for ps in resp.findall(f"{{{DAV}}}propstat"):
            if " 200 " not in f"{(ps.findtext(f'{{{DAV}}}status') or '').strip()} ":
                continue
            for prop in ps.findall(f"{{{DAV}}}prop"):
                for el in prop:
                    if isinstance(el.tag, str):
                        props[el.tag] = el
    return out


def svn_date(text: str | None) -> float | None:
    """svn:date (`2026-12-07T17:12:10.305222Z`, UTC) as epoch seconds, or None."""
    try:
        at = datetime.strptime((text or "").strip()[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    return at.replace(tzinfo=timezone.utc).timestamp()


def _why(resp: Response, what: str, user: str) -> str:
    if resp.status == 401:
        return f"login as {user!r} refused (HTTP 401)"
    if resp.status == 403:
        return f"{user!r} may not read {what} (HTTP 403)"
    return f"HTTP {resp.status} {resp.reason} to {what}"


class DavSession:
    """An http(s):// session to a mod_dav_svn repository, opened from the node (one kept-alive
    connection); paths are relative to the session URL, as SvnSession's are."""

    def __init__(self, remote: NodeReads, url: str, user: str, password: str, timeout: float,
                 trust: tuple[bytes, ...] = ()):
        self.remote, self.url, self.user, self.timeout, self.trust = remote, url, user, timeout, trust
        self._auth = "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8")).decode()
        self.conn: HttpConnection | None = None
        self.path = "/"
        self.base = ""  # the session URL's path inside the repository (quoted, no slashes around)
        self.rev_root = self.rev_stub = ""

    def __repr__(self) -> str:
        return f"DavSession({self.url!r}, user={self.user!r})"  # never the Authorization header

    def open(self) -> str | None:
        """Connect, log in and learn the repository's layout; None when it answers as a Subversion
        repository and takes the login, else why."""
        m = _URL.match(self.url or "")
        if not m:
            if "@" in (self.url or "").split("://", 1)[-1].split("/", 1)[0]:
                return "SvnUrl carries a user (and perhaps a password) before its host: not read; SvnUser and " \
                       "SvnPassword give the login"  # the URL itself is not echoed
            return f"{self.url!r} is not an http(s):// URL"
        scheme, name = m.group(1), m.group(2)
        port = int(m.group(3) or (443 if scheme == "https" else 80))
        self.path = m.group(4) or "/"
        self.conn = HttpConnection(self.remote, name.strip("[]"), port, scheme == "https", self.timeout,
                                   self.trust, name.strip("[]"))
        try:
            resp = self._options()
        except (HttpError, SvnError) as e:
            self.close()
            return str(e)
        if resp.status != 200:
            self.close()
            return _why(resp, f"OPTIONS {self.path}", self.user) + \
                (" (no repository there)" if resp.status == 404 else "")
        root, self.rev_root, self.rev_stub = (resp.header(h) or "" for h in
                                              ("svn-repository-root", "svn-rev-root-stub", "svn-rev-stub"))
        if not (root and self.rev_root and self.rev_stub and resp.header("svn-youngest-rev")):
            self.close()
            return ("the server answers, but not as a Subversion repository speaking HTTP protocol v2 (no "
                    "SVN-Youngest-Rev, SVN-Repository-Root, SVN-Rev-Root-Stub headers: mod_dav_svn 1.7 or later)")
        inside = self.path.rstrip("/")
        if inside != root.rstrip("/") and not inside.startswith(root.rstrip("/") + "/"):
            self.close()
            return f"the repository's root {root} does not hold {self.path}"
        self.base = inside[len(root.rstrip("/")):].strip("/")
        return None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _request(self, method: str, path: str, body: bytes = b"", depth: str | None = None, **kw) -> Response:
        if self.conn is None:
            raise SvnError("the session is not open")
        headers = {"Authorization": self._auth}
        if body:
            headers["Content-Type"] = 'text/xml; charset="utf-8"'
        if depth is not None:
            headers["Depth"] = depth
        try:
            return self.conn.request(method, path, headers, body, **kw)
        except HttpError as e:
            raise SvnError(f"{method}: {e}") from None

    def _options(self) -> Response:
        return self._request("OPTIONS", self.path, OPTIONS_BODY)

    def _rvr(self, path: str, rev: int) -> str:
        rel = "/".join(p for p in (self.base, urllib.parse.quote(path.strip("/"), safe="/")) if p)
        return f"{self.rev_root}/{int(rev)}/{rel}"

    def latest_rev(self) -> int:
        """The repository's youngest revision."""
        resp = self._options()
        value = resp.header("svn-youngest-rev") or ""
        if resp.status != 200 or not value.isdigit():
            raise SvnError(f"OPTIONS: {_why(resp, self.path, self.user)}" if resp.status != 200
                           else f"OPTIONS: no youngest revision in the answer ({value[:20]!r})")
        return int(value)

    def created_rev(self, path: str, rev: int | None = None) -> tuple[str, int] | None:
        """(kind, the revision in which path last changed) at rev (HEAD when None); None when it is not there."""
        if rev is None:
            rev = self.latest_rev()
        target = self._rvr(path, rev)
        resp = self._request("PROPFIND", target, propfind_body((DAV, "resourcetype"), (DAV, "version-name")), "0")
        if resp.status == 404:
            return None
        if resp.status != 207:
            raise SvnError(f"PROPFIND: {_why(resp, target, self.user)}")
        found = parse_multistatus(resp.body)
        props = next(iter(found.values()), {}) if len(found) == 1 else {}
        kind_el, rev_el = props.get(f"{{{DAV}}}resourcetype"), props.get(f"{{{DAV}}}version-name")
        if kind_el is None or rev_el is None or not (rev_el.text or "").strip().isdigit():
            raise SvnError(f"PROPFIND {target}: no resourcetype and version-name in the answer")
        kind = "dir" if kind_el.find(f"{{{DAV}}}collection") is not None else "file"
        return kind, int((rev_el.text or "").strip())

    def rev_date(self, rev: int) -> float | None:
        """When revision rev was committed (its svn:date, UTC epoch seconds), or None without one."""
        target = f"{self.rev_stub}/{int(rev)}"
        resp = self._request("PROPFIND", target, propfind_body((SVN_PROPS, "date")), "0")
        if resp.status == 404:
            return None
        if resp.status != 207:
            raise SvnError(f"PROPFIND: {_why(resp, target, self.user)}")
        for props in parse_multistatus(resp.body).values():
            el = props.get(f"{{{SVN_PROPS}}}date")
            if el is not None:
                return svn_date(el.text)
        return None

    def get_file(self, path: str, rev: int | None = None, limit: int = 1 << 30) -> SvnFile | None:
        """As SvnSession.get_file, over one GET of `!svn/rvr/<rev>/<path>` hashed as it streams."""
        found = file_at(self, path, rev)
        if found is None:
            return None
        rev, stat = found
        h, size = hashlib.sha256(), 0

        def sink(chunk: bytes) -> None:
            nonlocal size
            size += len(chunk)
            h.update(chunk)
        target = self._rvr(path, rev)
        resp = self._request("GET", target, sink=sink, limit=limit, extra_time=limit / (1 << 20))
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise SvnError(f"GET: {_why(resp, target, self.user)}")
        return SvnFile(rev, stat[1], size, h.hexdigest())


def svn_session(remote: NodeReads, url: str, user: str, password: str, timeout: float,
                trust: tuple[bytes, ...] = ()) -> SvnSession | DavSession:
    """The session for SvnUrl's scheme: http(s):// (mod_dav_svn), else svn:// (svnserve; its open()
    refuses any other scheme with the reason). `trust`: DER certificates an https server's may chain to."""
    if (url or "").split("://", 1)[0].lower() in ("http", "https"):
        return DavSession(remote, url, user, password, timeout, trust)
    return SvnSession(remote, url, user, password, timeout)


def svn_reachable(remote: NodeReads, url: str, user: str, password: str, timeout: float,
                  trust: tuple[bytes, ...] = ()) -> str | None:
    """The repository behind SvnUrl answers from the node and takes its login, by the URL's scheme
    as DepSync speaks it: svn:// (svnserve: greeting, CRAM-MD5), http(s):// (mod_dav_svn: OPTIONS with
    Basic, what SVNKit does first; an https certificate verified against `trust` and this machine's
    CAs). svn+ssh:// is refused: Carbon's DepSync does not support it. None when it works, else why."""
    scheme = (url or "").split("://", 1)[0].lower()
    if scheme == "svn":
        return svn_login(remote, url, user, password, timeout)
    if scheme in ("http", "https"):
        session = DavSession(remote, url, user, password, timeout, trust)
        try:
            return session.open()
        finally:
            session.close()
    if scheme == "svn+ssh":
        return "svn+ssh:// is not supported by Carbon's deployment synchronizer; use svn:// or http(s)://"
    return f"{url!r}: only svn:// and http(s):// repositories are checked live"
