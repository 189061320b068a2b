"""tasks/remote/sshshared.py: what every connection of a run shares, on a real sshd: the one Config stays as built
through connections, commands with stdin and SFTP."""
from __future__ import annotations

from tasks.remote import sshshared


def snapshot(d=None, at: str = "") -> dict[str, str]:
    """Every setting of the shared Config, by its dotted name."""
    out: dict[str, str] = {}
    for k, v in (sshshared.config()._config if d is None else d).items():
        out.update(snapshot(v, f"{at}{k}.") if isinstance(v, dict) else {at + k: repr(v)})
    return out


def test_every_connection_reads_one_config_and_none_changes_it(lab, remote):
    before = snapshot()
    assert sshshared.config() is sshshared.config()
    hosts = [remote(name) for name in ("esb-mgr", "esb-w1", "esb-w2")]
    for r in hosts:
        r.connect()
        assert r.run("cat", stdin=b"fed on stdin")[1] == "fed on stdin"
        assert r.run("sh -c 'exit 3'", check=False)[0] == 3
        assert r.read(str(lab.hosts[r.host.name].conf("carbon.xml")))
    for r in hosts:
        r.close()
    assert snapshot() == before  # three hosts, three ports: no connection left a setting of its own
