"""Subversion from a node's own network position, as DepSync's SVNKit speaks it: the svn:// protocol
(greeting, the repository, a CRAM-MD5 login) over a channel of the run's SSH connection (http(s)://,
mod_dav_svn: svndav.py). The item parser and the CRAM-MD5 answer are pure."""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from ..remote import RemoteError
from ..remote.protocol import NodeReads


class SvnProtocolError(Exception):
    """The server's answer was not what the svn protocol says."""


def svn_item(data: bytes) -> tuple[object, int] | None:
    """The first whole ra_svn item of data (`( word 12:string 42 ( ... ) )` -> nested lists of str,
    bytes, int) and the bytes it took; None while it is incomplete."""
    pos = 0
    stack: list[list] = []
    while pos < len(data):
        c = data[pos:pos + 1]
        if c in b" \n":
            pos += 1
            continue
        if c == b"(":
            stack.append([])
            pos += 1
            continue
        if c == b")":
            if not stack:
                raise SvnProtocolError("unbalanced ')'")
            done = stack.pop()
            pos += 1
            if not stack:
                return done, pos
            stack[-1].append(done)
            continue
        m = re.match(rb"(\d+)(:?)|([A-Za-z][A-Za-z0-9-]*)", data[pos:])
        if not m:
            raise SvnProtocolError(f"unexpected byte {c!r}")
        if m.group(3):
            value, pos = m.group(3).decode(), pos + m.end()
            if pos >= len(data):
                return None  # a word may go on in the next chunk
        elif m.group(2):
            start = pos + m.end()
            n = int(m.group(1))
            if start + n > len(data):
                return None
            value, pos = data[start:start + n], start + n
        else:
            if pos + m.end() >= len(data):
                return None
            value, pos = int(m.group(1)), pos + m.end()
        if not stack:
            return value, pos
        stack[-1].append(value)
    return None


def svn_string(b: bytes | str) -> bytes:
    b = b.encode() if isinstance(b, str) else b
    return str(len(b)).encode() + b":" + b


def cram_md5(user: str, password: str, challenge: bytes) -> bytes:
    """The CRAM-MD5 answer svnserve wants: 'user hex(hmac-md5(password, challenge))'."""
    return user.encode() + b" " + hmac.new(password.encode(), challenge, hashlib.md5).hexdigest().encode()


class _SvnReader:
    """Items from an svn connection, one at a time (bytes after an item wait for the next call)."""

    def __init__(self, chan, deadline: float):
        self.chan, self.deadline, self.buf = chan, deadline, b""

    def item(self) -> list:
        while True:
            got = svn_item(self.buf)
            if got is not None:
                value, used = got
                self.buf = self.buf[used:]
                return value if isinstance(value, list) else [value]
            if time.monotonic() > self.deadline:
                raise SvnProtocolError("no complete answer in time")
            chunk = self.chan.recv(65536)
            if not chunk:
                raise SvnProtocolError("the server closed the connection")
            self.buf += chunk


def svn_login(remote: NodeReads, url: str, user: str, password: str, timeout: float) -> str | None:
    """Speak svn:// from the node: greeting, the repository path, CRAM-MD5 login. None when it works, else why."""
    session = SvnSession(remote, url, user, password, timeout)
    try:
        return session.open()
    finally:
        session.close()


class SvnError(Exception):
    """A command of an open svn session failed; the message says why (the server's own words)."""


@dataclass(frozen=True)
class SvnFile:
    """A file of the repository at a revision: where it last changed, its size and sha256."""

    revision: int  # the revision asked about (HEAD when none was)
    created_rev: int  # the revision in which it last changed
    size: int
    sha256: str


class Revisions(Protocol):
    """What both sessions (svn://, http(s)://) answer about the repository's revisions."""

    def latest_rev(self) -> int: ...

    def created_rev(self, path: str, rev: int | None = None) -> tuple[str, int] | None: ...


def file_at(session: Revisions, path: str, rev: int | None) -> tuple[int, tuple[str, int]] | None:
    """The revision asked (HEAD when None) and path's (kind, last changed revision) there, when path is a
    file at that revision; else None (a session's get_file reads nothing then)."""
    if rev is None:
        rev = session.latest_rev()
    stat = session.created_rev(path, rev)
    return (rev, stat) if stat is not None and stat[0] == "file" else None


class SvnSession:
    """An svn:// session opened from the node over a channel of its SSH connection (ra_svn: the
    greeting, the session URL, CRAM-MD5), then the commands DepSync's proof needs: get-latest-rev,
    check-path, stat and get-file with its contents (hashed as they stream, never kept). Paths are
    relative to the session URL. svnserve asks for authentication before every command's answer
    (an empty request once logged in): it is read and passed over."""

    def __init__(self, remote: NodeReads, url: str, user: str, password: str, timeout: float):
        self.remote, self.url, self.user, self.password, self.timeout = remote, url, user, password, timeout
        self.chan = None
        self._reader: _SvnReader | None = None

    def open(self) -> str | None:
        """Connect and log in; None when the repository answers and takes the login, else why."""
        m = re.match(r"^svn://([^/:]+)(?::(\d+))?(/.*)?$", self.url or "")
        if not m:
            if "@" in (self.url or "").split("://", 1)[-1].split("/", 1)[0]:
                return "SvnUrl carries a user (and perhaps a password) before its host: not read; SvnUser and " \
                       "SvnPassword give the login"  # the URL itself is not echoed
            return f"{self.url!r} is not an svn:// URL (only svn:// is read)"
        host, port = m.group(1), int(m.group(2) or 3690)
        try:
            chan = self.remote.open_channel(host, port, self.timeout)
        except RemoteError as e:
            return f"no connection to {host}:{port} from the node ({e})"
        self.chan = chan
        self._reader = _SvnReader(chan, time.monotonic() + self.timeout)
        read = self._reader.item
        try:
            greeting = read()
            if not greeting or greeting[0] != "success":
                return f"unexpected greeting {greeting!r}"
            chan.sendall(b"( 2 ( edit-pipeline svndiff1 absent-entries depth mergeinfo log-revprops ) "
                         + svn_string(self.url) + b" " + svn_string("wso2-esb-cluster-live") + b" ( ) ) ")
            auth = read()
            if auth[0] == "failure":
                return f"the server refused: {_svn_error(auth)}"
            mechs = auth[1][0] if auth[0] == "success" else []
            if "CRAM-MD5" not in mechs:
                return f"the server offers no CRAM-MD5 login (mechanisms {mechs})"
            chan.sendall(b"( CRAM-MD5 ( ) ) ")
            step = read()
            if step[0] != "step":
                return f"the server refused the login: {_svn_error(step)}"
            chan.sendall(svn_string(cram_md5(self.user, self.password, step[1][0])) + b" ")
            done = read()
            if done[0] != "success":
                return f"login as {self.user!r} refused: {_svn_error(done)}"
            info = read()  # repos-info: uuid, root URL, capabilities
            if info[0] != "success":
                return f"the repository is not usable: {_svn_error(info)}"
            return None
        except SvnProtocolError as e:
            return f"svn protocol: {e}"
        except OSError as e:
            return f"connection to {host}:{port} broke: {e}"

    def close(self) -> None:
        if self.chan is not None:
            self.chan.close()
            self.chan = None

    def _command(self, name: str, args: bytes, extra_time: float = 0.0) -> list:
        """Send a command, pass over the server's auth request, return the answer's values."""
        reader = self._reader
        if self.chan is None or reader is None:
            raise SvnError("the session is not open")
        reader.deadline = time.monotonic() + self.timeout + extra_time
        try:
            self.chan.sendall(b"( " + name.encode() + b" ( " + args + b") ) ")
            answer = reader.item()
            if answer and answer[0] == "success" and isinstance(answer[1], list) and answer[1] \
                    and isinstance(answer[1][0], list) and len(answer[1]) == 2 and isinstance(answer[1][1], bytes):
                answer = reader.item()  # ( success ( ( mechanisms ) realm ) ): the auth request, then the answer
            if not answer or answer[0] != "success":
                raise SvnError(f"{name}: {_svn_error(answer)}")
            return answer[1] if len(answer) > 1 and isinstance(answer[1], list) else []
        except SvnProtocolError as e:
            raise SvnError(f"{name}: svn protocol: {e}") from None
        except OSError as e:
            raise SvnError(f"{name}: the connection broke: {e}") from None

    @staticmethod
    def _rev(rev: int | None) -> bytes:
        return b"( ) " if rev is None else b"( " + str(int(rev)).encode() + b" ) "

    def latest_rev(self) -> int:
        """The repository's youngest revision."""
        values = self._command("get-latest-rev", b"")
        if not values or not isinstance(values[0], int):
            raise SvnError(f"get-latest-rev: unexpected answer {values!r}")
        return values[0]

    def check_path(self, path: str, rev: int | None = None) -> str:
        """none, file or dir: what path is at rev (HEAD when None)."""
        values = self._command("check-path", svn_string(path) + b" " + self._rev(rev))
        return str(values[0]) if values else "none"

    def created_rev(self, path: str, rev: int | None = None) -> tuple[str, int] | None:
        """(kind, the revision in which path last changed) at rev; None when it is not there."""
        values = self._command("stat", svn_string(path) + b" " + self._rev(rev))
        entry = values[0] if values and isinstance(values[0], list) else []
        if not entry:
            return None
        dirent = entry[0] if isinstance(entry[0], list) else entry
        if len(dirent) < 4 or not isinstance(dirent[3], int):
            raise SvnError(f"stat: unexpected answer {values!r}")
        return str(dirent[0]), dirent[3]

    def rev_date(self, rev: int) -> float | None:
        """When revision rev was committed (its svn:date, UTC epoch seconds), or None without one."""
        values = self._command("rev-prop", str(int(rev)).encode() + b" " + svn_string("svn:date") + b" ")
        raw = values[0][0] if values and isinstance(values[0], list) and values[0] else None
        if not isinstance(raw, bytes):
            return None
        try:
            at = datetime.strptime(raw.decode("ascii", "replace")[:19], "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return None
        return at.replace(tzinfo=timezone.utc).timestamp()

    def get_file(self, path: str, rev: int | None = None, limit: int = 1 << 30) -> SvnFile | None:
        """The file at rev (HEAD when None), its contents hashed as they stream (refused past limit);
        None when path is no file there."""
        found = file_at(self, path, rev)
        if found is None:
            return None
        rev, stat = found
        values = self._command("get-file", svn_string(path) + b" " + self._rev(rev) + b"false true ",
                               extra_time=limit / (1 << 20))
        got = values[1] if len(values) > 1 and isinstance(values[1], int) else rev
        h, n = hashlib.sha256(), 0
        read = self._reader.item if self._reader is not None else None
        if read is None:
            raise SvnError("the session is not open")
        try:
            while True:
                chunk = read()
                if not chunk or not isinstance(chunk[0], bytes):
                    raise SvnError(f"get-file: unexpected item {chunk!r:.80} in the contents")
                if not chunk[0]:
                    break
                n += len(chunk[0])
                if n > limit:
                    raise SvnError(f"get-file {path}: more than {limit} bytes")
                h.update(chunk[0])
            end = read()
        except SvnProtocolError as e:
            raise SvnError(f"get-file: svn protocol: {e}") from None
        if not end or end[0] != "success":
            raise SvnError(f"get-file {path}: {_svn_error(end)}")
        return SvnFile(got, stat[1], n, h.hexdigest())


def _svn_error(item) -> str:
    """The message of an svn failure item ( failure ( ( code message file line ) ) )."""
    try:
        err = item[1][0]
        if isinstance(err, bytes):  # ( failure ( message ) ): svnserve's answer to a wrong CRAM-MD5 login
            return err.decode("utf-8", "replace")
        return err[1].decode("utf-8", "replace") if isinstance(err[1], bytes) else str(err[1])
    except (IndexError, TypeError, AttributeError):
        return str(item)
