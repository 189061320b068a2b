"""tasks/remote/transport.py on a real sshd: one connection per host, commands with stdin and exit codes, the
deadline on a command that overruns, direct-tcpip channels, and a host key that is not known."""
from __future__ import annotations

import dataclasses
import socket

import pytest

from tasks.remote import RemoteError, RemoteHost, Unreachable
from tasks.engine.runner import new_run_id


def test_commands_share_one_connection_and_return_exit_stdout_stderr(remote):
    r = remote()
    assert r.run("printf out; printf err >&2") == (0, "out", "err")
    code, out, _ = r.run("cat", stdin="ñ€ bytes on stdin\n".encode())
    assert (code, out) == (0, "ñ€ bytes on stdin\n")
    assert r.run("exit 3", check=False)[0] == 3
    with pytest.raises(RemoteError, match=r"^`ls` exited 2: .*No such file"):
        r.run("ls /no/such/folder")
    assert r.counters.connections == 1 and r.counters.commands == 4


def test_a_command_that_overruns_the_deadline_ends_the_connection_with_a_clear_message(remote):
    r = remote(op_timeout=1)
    with pytest.raises(RemoteError, match=r"^esb-w1: no answer for 1s while running `sleep`"):
        r.run("sleep 20")
    with pytest.raises(RemoteError, match="no answer for 1s"):  # and every later operation says so too
        r.stat("/")


def test_extra_time_lets_a_long_command_finish(remote):
    r = remote(op_timeout=1)
    assert r.run("sleep 2; echo done", extra_time=5)[1] == "done\n"


def test_a_channel_reaches_a_port_from_the_host_and_a_closed_port_is_a_clear_error(lab, remote):
    r = remote()
    h = lab.hosts["esb-w1"]
    chan = r.open_channel(h.address, h.port)  # the host's own sshd, reached from the host
    try:
        assert chan.recv(64).startswith(b"SSH-2.0-")
    finally:
        chan.close()
    with socket.socket() as s:  # a port nobody listens on
        s.bind((h.address, 0))
        closed = s.getsockname()[1]
    with pytest.raises(RemoteError, match=rf"esb-w1 cannot open {h.address}:{closed} \(refused"):
        r.open_channel(h.address, closed)


def test_an_unknown_host_key_is_refused_under_strict_with_the_keyscan_hint(lab, tmp_path):
    from tasks.hoststoml import load_inventory
    lab.write_toml()
    host = load_inventory(lab.hosts_toml).hosts["esb-w1"]
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    r = RemoteHost(dataclasses.replace(host, known_hosts=str(empty)), new_run_id())
    try:
        with pytest.raises(Unreachable, match=r"is not in .*known_hosts; add it \(ssh-keyscan\) or set "
                                              r"host_key_policy = \"accept-new\""):
            r.connect()
        assert empty.read_text() == ""  # strict never writes known_hosts
    finally:
        r.close()
