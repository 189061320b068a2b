"""A worker out of the balancer and back (pure): `server ADDRESS;` lines of nginx
upstream blocks get or lose the `down` parameter (nginx then sends it no new request; a
reload lets requests in flight finish)."""
from __future__ import annotations

import re

_SERVER = re.compile(rb"(?m)^(?P<lead>[ \t]*server[ \t]+)(?P<addr>[^\s;]+)"
                     rb"(?P<params>(?:[ \t]+[^\s;]+)*)(?P<end>[ \t]*;)")


def set_down(conf: bytes, servers: set[str], down: bool) -> bytes:
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
    """The servers an upstream file marks down."""
    return {m.group("addr").decode() for m in _SERVER.finditer(conf) if b"down" in m.group("params").split()}
