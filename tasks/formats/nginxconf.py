"""nginx configuration as this project reads and edits it (pure): the one reader of the balancer's
files (`parse`: upstream blocks and their `server` lines, `server { }` blocks with their name, port
and proxy_pass targets), the one builder of an upstream member's address (`server_address`), and
the one edit (`set_down`: a worker out of the balancer and back: `server ADDRESS;` lines of
upstream blocks get or lose the `down` parameter; nginx then sends it no new request, and a reload
lets requests in flight finish). Comments are no configuration: a commented-out line is never read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import AbstractSet

_COMMENT = re.compile(r"#[^\n]*")
_BLOCK_START = re.compile(r"(?<![\w.$-])(server|upstream)\b\s*([^\s{;]*)\s*\{")
_MEMBER = re.compile(r"^\s*server\s+([^\s;]+)([^;]*);", re.M)
_SERVER_NAME = re.compile(r"server_name\s+([^;]+);")
_LISTEN = re.compile(r"listen\s+([^;\s]+)(\s+ssl)?[^;]*;")
_PROXY_PASS = re.compile(r"proxy_pass\s+(https?)://([^;/\s]+)")
#: a `server` line as written, for the edit (every byte around the parameters kept)
_SERVER = re.compile(rb"(?m)^(?P<lead>[ \t]*server[ \t]+)(?P<addr>[^\s;]+)"
                     rb"(?P<params>(?:[ \t]+[^\s;]+)*)(?P<end>[ \t]*;)")


def server_address(host: str, port: int) -> str:
    """An upstream member's address as nginx writes it: host:port, an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def blocks(text: str) -> list[tuple[str, str, str]]:
    """(kind, name, body) of every `server { }` and `upstream NAME { }` block at any depth (inside
    `http { }`, indented or not), braces matched; comments must be gone already."""
    out = []
    for m in _BLOCK_START.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            out.append((m.group(1), m.group(2), text[m.end():i - 1]))
    return out


@dataclass(frozen=True)
class Member:
    """One `server ADDRESS PARAMS;` line of an upstream block."""

    address: str
    params: tuple[str, ...] = ()

    @property
    def down(self) -> bool:
        return "down" in self.params


@dataclass(frozen=True)
class Server:
    """A `server { }` block that listens and names a host: its first server_name, its port, whether
    it listens with TLS, and the (scheme, upstream or address) of each proxy_pass."""

    name: str
    port: str
    ssl: bool
    passes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Conf:
    """What one nginx file configures (read-only: shared by every reader of the file in a run)."""

    upstreams: tuple[tuple[str, tuple[Member, ...]], ...]
    servers: tuple[Server, ...]

    def members(self, upstream: str) -> tuple[Member, ...] | None:
        """The members of an upstream block by name, or None when the file has no such block."""
        return next((m for n, m in self.upstreams if n == upstream), None)

    @property
    def marked_down(self) -> frozenset[str]:
        """The member addresses an upstream marks down."""
        return frozenset(m.address for _, ms in self.upstreams for m in ms if m.down)


def parse(data: bytes, path: str = "nginx") -> Conf:
    """An nginx file's upstreams and server blocks (undecodable bytes replaced; never fails)."""
    text = _COMMENT.sub("", data.decode("utf-8", errors="replace"))
    found = blocks(text)
    upstreams = tuple((name, tuple(Member(a, tuple(p.split())) for a, p in _MEMBER.findall(body)))
                      for kind, name, body in found if kind == "upstream")
    servers = []
    for body in (body for kind, name, body in found if kind == "server" and not name):
        names, listen = _SERVER_NAME.search(body), _LISTEN.search(body)
        if not (names and listen):
            continue
        servers.append(Server(names.group(1).split()[0], listen.group(1).rsplit(":", 1)[-1], bool(listen.group(2)),
                              tuple(_PROXY_PASS.findall(body))))
    return Conf(upstreams, tuple(servers))


def set_down(conf: bytes, servers: AbstractSet[str], down: bool) -> bytes:
    """conf with every `server` line naming one of `servers` (ip:port) marked down (or not); other bytes kept."""
    def one(m: re.Match) -> bytes:
        if m.group("addr").decode() not in servers:
            return m.group(0)
        params = [p for p in m.group("params").split() if p != b"down"]
        if down:
            params.append(b"down")
        return m.group("lead") + m.group("addr") + b"".join(b" " + p for p in params) + m.group("end")
    return _SERVER.sub(one, conf)


def marked_down(conf: bytes) -> set[str]:
    """The servers an upstream file marks down (`parse(conf).marked_down`)."""
    return set(parse(conf).marked_down)
