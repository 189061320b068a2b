"""Hosts files (/etc/hosts), line by line: each line's IP, names and the bytes around them, so that
one name can be moved or dropped with every other byte kept (map-hosts), and a name resolved as the
system's resolver does (the first line that names it: live checks)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"\S+")


@dataclass
class HostsLine:
    """One line of a hosts file: untouched text, or an entry (IP and names) that can be edited."""

    raw: str                      # the line with its line ending
    number: int
    lead: str = ""                # whitespace before the IP
    tokens: list[list[str]] = field(default_factory=list)  # [separator, token]; tokens[0] is the IP
    rest: str = ""                # whitespace and comment after the last name, and the line ending
    edited: bool = False
    dropped: bool = False

    @classmethod
    def parse(cls, raw: str, number: int) -> "HostsLine":
        """Split a line into IP, names and the rest; a line with fewer than two fields stays opaque."""
        line = cls(raw, number)
        body_end = len(raw.rstrip("\r\n"))
        hash_at = raw.find("#", 0, body_end)
        content_end = body_end if hash_at < 0 else hash_at
        found = list(_TOKEN.finditer(raw, 0, content_end))
        if len(found) < 2:  # blank, comment or malformed: never touched
            return line
        line.lead = raw[:found[0].start()]
        prev = found[0].start()
        for m in found:
            line.tokens.append([raw[prev:m.start()], m.group()])
            prev = m.end()
        line.rest = raw[prev:]
        return line

    @property
    def ip(self) -> str | None:
        return self.tokens[0][1] if self.tokens else None

    @property
    def names(self) -> list[str]:
        return [t for _, t in self.tokens[1:]]

    def has(self, name: str) -> bool:
        return name.lower() in (n.lower() for n in self.names)

    def set_ip(self, ip: str) -> None:
        """Replace the IP field only (separators and comment stay)."""
        self.tokens[0][1] = ip
        self.edited = True

    def drop_name(self, name: str) -> None:
        """Take one name (and the whitespace before it) off the line; a line left with no name is dropped."""
        self.tokens = [self.tokens[0]] + [t for t in self.tokens[1:] if t[1].lower() != name.lower()]
        self.edited = True
        self.dropped = len(self.tokens) < 2

    def text(self) -> str:
        """The line as it will be written: the original bytes unless edited."""
        if self.dropped:
            return ""
        if not self.edited:
            return self.raw
        return self.lead + "".join(sep + tok for sep, tok in self.tokens) + self.rest

    def shown(self) -> str:
        """The original line without its line ending, for drift items."""
        return self.raw.rstrip("\r\n")


def resolve(text: str, name: str) -> str | None:
    """The address a hosts file gives a name (the first line that names it, any case, as the
    resolver reads it), else None."""
    for number, raw in enumerate(text.splitlines(keepends=True), 1):
        line = HostsLine.parse(raw, number)
        if line.has(name):
            return line.ip
    return None


__all__ = ["HostsLine", "resolve"]
