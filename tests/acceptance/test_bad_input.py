"""Bad input (issue 2): each case asserts the message and that no remote file changed.

hosts.toml faults stop before any host is touched; host faults (unreachable, wrong key,
bad remote XML, missing product home) fail that host only, by name, with exit 1.
"""
from __future__ import annotations

import re
import socket
import subprocess

from tests.lab import Lab

STEP = "set-hostnames"


def host_files(snap: dict, host: str) -> dict:
    """The host's entries: under its root and under its state_dir."""
    return {k: v for k, v in snap.items() if f"/hosts/{host}/" in k or f"/state/{host}/" in k}


def toml_with(lab: Lab, old: str, new: str) -> str:
    text = lab.toml()
    assert text.count(old) == 1, old
    return text.replace(old, new)


def config_error(lab: Lab, toml: str, *args: str) -> str:
    """Run fab on a bad hosts.toml; assert exit 1, no output on stdout, nothing changed; return stderr."""
    lab.write_toml(toml)
    before = lab.snapshot()
    r = lab.fab(*(args or (STEP,)))
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout == "" and "Traceback" not in r.stderr
    assert lab.snapshot() == before
    return r.stderr


def conf(lab: Lab, host: str):
    return lab.hosts[host].conf("carbon.xml")


def one_host_fails(lab: Lab, host: str, *args: str) -> str:
    """Run the step; assert exit 1, that host failed and unchanged, the others changed; return stdout."""
    before = lab.snapshot()
    r = lab.fab(*(args or (STEP,)))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    after = lab.snapshot()
    assert host_files(after, host) == host_files(before, host)
    for other in ("esb-mgr", "esb-w1", "esb-w2"):
        if other != host:
            assert f"[{other}] {STEP}: changed" in r.stdout, r.stdout
            assert host_files(after, other) != host_files(before, other)
    assert f"failed on: {host}" in r.stdout
    return r.stdout


# ---------------------------------------------------------------- hosts.toml

def test_malformed_toml_names_the_line(lab):
    text = toml_with(lab, "[hosts.esb-w1]\n", "[hosts.esb-w1]\nrole = worker\n")
    line = text.splitlines().index("role = worker") + 1
    err = config_error(lab, text)
    assert err.startswith(f"error: {lab.hosts_toml}: malformed TOML: ")
    assert f"line {line}" in err


def test_unknown_key(lab):
    err = config_error(lab, toml_with(lab, "[hosts.esb-w2]\n", "[hosts.esb-w2]\ncolour = \"blue\"\n"))
    assert f"error: {lab.hosts_toml}: [hosts.esb-w2].colour: unknown key; known keys: address" in err


def test_password_in_hosts_toml_is_an_unknown_key_with_a_hint(lab):
    err = config_error(lab, toml_with(lab, 'user = "repouser"\n', 'user = "repouser"\npassword = "pw"\n'))
    assert "[svn].password: unknown key" in err and "secrets belong in the environment or .env" in err
    assert '"pw"' not in err


def test_missing_product_home(lab):
    home = str(lab.hosts["esb-w1"].home)
    err = config_error(lab, toml_with(lab, f'product_home = "{home}"\n', ""))
    assert (f"error: {lab.hosts_toml}: [hosts.esb-w1].product_home: missing required key for a manager "
            "or worker (set it here or in [defaults])") in err


def test_member_host_localhost(lab):
    err = config_error(lab, toml_with(lab, "[hosts.esb-w1]\n", '[hosts.esb-w1]\nmember_host = "localhost"\n'))
    assert (f"error: {lab.hosts_toml}: [hosts.esb-w1].member_host: 'localhost' is not an IP address "
            "(the cluster needs a specific IP, not localhost or a DNS name)") in err


def test_duplicate_member_port_on_one_address(lab):
    w1 = lab.hosts["esb-w1"].address
    text = toml_with(lab, "[hosts.esb-w2]\n", f'[hosts.esb-w2]\nmember_host = "{w1}"\n')
    text = text.replace("member_port = 4300", "member_port = 4200")
    err = config_error(lab, text)
    assert f"error: {lab.hosts_toml}: [hosts.esb-w2].member_port: 4200 on {w1} is already used by esb-w1" in err


def test_unknown_target(lab):
    err = config_error(lab, lab.toml(), "-H", "workers,esb-w9", STEP)
    assert err == ("error: unknown target 'esb-w9'; known names: all, db, db1, esb-mgr, esb-w1, esb-w2, "
                   "lb, manager, svn, workers\n")


def test_unknown_target_in_json_mode(lab):
    lab.write_toml()
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w9", STEP, "--json")
    assert r.returncode == 1 and '"error": "unknown target \'esb-w9\'' in r.stdout
    assert lab.snapshot() == before


# ---------------------------------------------------------------- hosts

def test_unreachable_host_others_still_done(lab):
    h = lab.hosts["esb-w2"]
    lab.stop(h)
    try:
        out = one_host_fails(lab, "esb-w2")
    finally:
        lab.start(h)
    assert (f"[esb-w2] {STEP}: failed: unreachable: cannot connect to root@{h.address}:{h.port} "
            "(Connection refused)") in out


def test_wrong_key_fails_every_host_and_changes_nothing(lab):
    other = lab.dir / "other_key"
    if not other.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    lab.write_toml(toml_with(lab, f'key_filename = "{lab.key}"', f'key_filename = "{other}"'))
    before = lab.snapshot()
    r = lab.fab(STEP)
    assert r.returncode == 1
    for name, h in lab.hosts.items():
        if name != "db1":
            assert (f"[{name}] {STEP}: failed: authentication failed for root@{h.address}:{h.port} "
                    f"(key {other} refused)") in r.stdout, r.stdout
    assert lab.snapshot() == before


def test_missing_key_file(lab):
    lab.write_toml(toml_with(lab, f'key_filename = "{lab.key}"', f'key_filename = "{lab.dir / "nokey"}"'))
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w1", STEP)
    assert r.returncode == 1 and f"[esb-w1] {STEP}: failed: SSH key {lab.dir / 'nokey'} not found" in r.stdout
    assert lab.snapshot() == before


def test_remote_xml_that_does_not_parse(lab):
    f = conf(lab, "esb-w1")
    data = f.read_bytes()
    f.write_bytes(data.replace(b"</Ports>", b"</Port>", 1))
    line = data[:data.index(b"</Ports>")].count(b"\n") + 1
    out = one_host_fails(lab, "esb-w1")
    assert re.search(rf"\[esb-w1\] {STEP}: failed: repository/conf/carbon\.xml: not well-formed XML: "
                     rf".*\(line {line}\)", out), out


def test_remote_xml_with_doctype_entity_is_refused_not_expanded_not_fetched(lab):
    with socket.socket() as srv:  # a would-be entity server: no connection may arrive
        srv.bind(("127.0.0.1", 0))
        srv.listen(5)
        srv.setblocking(False)
        url = f"http://127.0.0.1:{srv.getsockname()[1]}/x.dtd"
        secret = lab.dir / "local-secret.txt"
        secret.write_text("LOCAL-FILE-CONTENT")
        f = conf(lab, "esb-mgr")
        text = f.read_bytes().decode("latin-1")
        decl = '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        doctype = (f'<!DOCTYPE Server [\n  <!ENTITY inner "EXPANDED-ENTITY">\n'
                   f'  <!ENTITY file SYSTEM "file://{secret}">\n  <!ENTITY net SYSTEM "{url}">\n]>\n')
        text = text.replace(decl, decl + doctype).replace("<Version>4.9.0</Version>",
                                                          "<Version>&inner;&file;&net;</Version>")
        f.write_bytes(text.encode("latin-1"))
        out = one_host_fails(lab, "esb-mgr")
        try:
            srv.accept()
            fetched = True
        except BlockingIOError:
            fetched = False
    assert not fetched, "the parser fetched an external entity"
    assert (f"[esb-mgr] {STEP}: failed: repository/conf/carbon.xml: carries a DOCTYPE/ENTITY declaration; "
            "refused (entities are never expanded or fetched)") in out
    assert "EXPANDED-ENTITY" not in out and "LOCAL-FILE-CONTENT" not in out


def test_missing_product_home_on_one_host(lab):
    import shutil
    h = lab.hosts["esb-w2"]
    shutil.rmtree(h.home)
    out = one_host_fails(lab, "esb-w2")
    assert f"[esb-w2] {STEP}: failed: product home {h.home} does not exist on esb-w2" in out


def test_missing_file_in_product_home(lab):
    conf(lab, "esb-w1").unlink()
    out = one_host_fails(lab, "esb-w1")
    assert f"[esb-w1] {STEP}: failed: {lab.hosts['esb-w1'].home}/repository/conf/carbon.xml is missing on esb-w1" in out


def test_an_empty_target_list_is_refused_not_taken_for_the_default(lab):
    """`fab -H "$TARGETS" ...` with an empty variable must not run on the step's default targets (issue 24)."""
    lab.write_toml()
    for spec in ("", ",", " "):
        before = lab.snapshot()
        r = lab.fab("-H", spec, STEP)
        assert r.returncode == 1 and r.stdout == "", r.stdout
        assert f"-H {spec!r} names no target; known names: all," in r.stderr, r.stderr
        assert lab.snapshot() == before


def test_values_that_would_inject_lines_or_blocks_are_refused_before_any_host(lab):
    """An IPv6 scope id carries any text in Python's own parser: a hosts-file line, an nginx block, XML; a host
    named like a group shadows it; two nodes of one machine on one port_offset collide (issue 24)."""
    hostile = 'fe80::1%a\\n6.6.6.6\\tlogin.bank.example'
    err = config_error(lab, toml_with(lab, '[hosts.esb-w1]\n', f'[hosts.esb-w1]\nmember_host = "{hostile}"\n'))
    assert "[hosts.esb-w1].member_host: 'fe80::1%a\\n6.6.6.6\\tlogin.bank.example' is not an IP address" in err, err
    err = config_error(lab, lab.toml() + f'\n[hosts_map]\n"esb.wso2.com" = "{hostile}"\n')
    assert "[hosts_map].esb.wso2.com: " in err and "must be an IP address" in err, err
    err = config_error(lab, lab.toml().replace("[hosts.db1]", "[hosts.workers]"))
    assert "[hosts.workers]: host name 'workers' is the name of a group" in err, err
