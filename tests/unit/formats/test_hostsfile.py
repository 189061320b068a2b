"""tasks.formats.hostsfile: hosts-file lines kept byte for byte, and a name resolved as the resolver reads it."""
from __future__ import annotations

from tasks.formats.hostsfile import HostsLine, resolve as resolve_in_hosts


def test_hosts_file_resolution_is_the_first_matching_line_case_insensitive():
    text = "127.0.0.1 localhost\n# 10.0.0.9 carbondb\n10.0.0.5\tCarbonDB.example other  # db\n10.0.0.6 carbondb.example\n"
    assert resolve_in_hosts(text, "carbondb.example") == "10.0.0.5"
    assert resolve_in_hosts(text, "other") == "10.0.0.5"
    assert resolve_in_hosts(text, "missing") is None


def test_a_line_keeps_its_bytes_until_edited():
    line = HostsLine.parse("  10.0.0.5\tdb.example  other # the db\r\n", 1)
    assert (line.ip, line.names) == ("10.0.0.5", ["db.example", "other"]) and line.text() == line.raw
    line.set_ip("10.0.0.6")
    assert line.text() == "  10.0.0.6\tdb.example  other # the db\r\n"
    assert HostsLine.parse("# 10.0.0.9 carbondb\n", 2).ip is None
