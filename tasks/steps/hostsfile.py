"""map-hosts: one managed hosts-file line per name (guide: "Creando las base de datos", step 4).

Wanted names: `[database].alias` -> the database's address, plus every `[hosts_map]`
entry (an explicit `[hosts_map]` entry for the alias wins).  A `[hosts]` name stands for
that host's `member_host`: the always-an-IP address the host has on the cluster network
(the one `create-dbs` grants the application user at), not `address`, which is only how
fab's SSH reaches it and may be a DNS name, a NAT or a bastion-facing address.

Per name, `plan_hosts` keeps one line:
- its managed line is the first line that holds the name alone (`IP name`); a stale IP is
  corrected in place (the separator and a trailing comment stay);
- without such a line, a line that already maps the name to the wanted IP together with
  other names is accepted as is; otherwise `IP<TAB>name` is appended;
- the name is taken off every other line (a resolver uses the first match, so a second
  mapping is at best dead and at worst wins): off a line shared with other names only the
  token goes; a line left with no name is dropped.
Every other byte of the file stays as it was.  Patch writes atomically (temp file +
rename); where rename is refused (a bind-mounted /etc/hosts in a container answers
EBUSY) the file is rewritten in place after its backup.
"""
from __future__ import annotations

import ipaddress
import re

from ..config import Host, Inventory
from ..schema import is_ip as _is_ip
from ..engine.plan import FileChange, Item, Plan
from ..remote import SMALL_LIMIT
from .base import Step
from ..engine.context import StepContext, StepError
from ..formats.hostsfile import HostsLine


def _same_ip(a: str | None, b: str) -> bool:
    if a is None:
        return False
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def resolve_address(inv: Inventory, value: str, where: str) -> str:
    """An IP for a hosts-file line: a [hosts] name gives its member_host, an IP itself."""
    if value in inv.hosts:
        h = inv.hosts[value]
        if _is_ip(h.member_host):
            return h.member_host
        raise StepError(f"{inv.path}: {where} names {value}, whose address {h.address!r} is a DNS name, and a "
                        f"hosts file needs an IP: set [hosts.{value}].member_host to its IP")
    if _is_ip(value):
        return value
    if not value:
        raise StepError(f"{inv.path}: {where} is not set; map-hosts needs the database's address")
    raise StepError(f"{inv.path}: {where} {value!r} is a DNS name, and a hosts file needs an IP: set it to an "
                    f"IP or a [hosts] name, or map the alias in [hosts_map]")


def wanted_entries(inv: Inventory) -> dict[str, str]:
    """name -> IP for every managed line: the database alias first, then [hosts_map] in file order."""
    out: dict[str, str] = {}
    alias = inv.database.alias
    if alias not in inv.hosts_map:
        out[alias] = resolve_address(inv, inv.database.host, "[database].host")
    for name, value in inv.hosts_map.items():
        out[name] = resolve_address(inv, value, f"[hosts_map].{name}")
    return out


def plan_hosts(text: str, wanted: dict[str, str], label: str) -> tuple[str, list[Item]]:
    """New hosts-file text with one managed line per wanted name, and the items that differ."""
    raws = [r for r in re.split(r"(?<=\n)", text) if r]  # split at \n only: other bytes stay in their line
    lines = [HostsLine.parse(raw, i + 1) for i, raw in enumerate(raws)]
    items: list[Item] = []
    added: list[str] = []
    for name, ip in wanted.items():
        holding = [ln for ln in lines if not ln.dropped and ln.has(name)]
        keeper = next((ln for ln in holding if len(ln.names) == 1), None) \
            or next((ln for ln in holding if _same_ip(ln.ip, ip)), None)
        if keeper is None:
            items.append(Item(label, name, ip, None))
            added.append(f"{ip}\t{name}")
        elif not _same_ip(keeper.ip, ip):
            items.append(Item(label, name, ip, keeper.ip))
            keeper.set_ip(ip)
        for other in holding:
            if other is not keeper:
                items.append(Item(label, f"{name} on line {other.number}", None, other.shown()))
                other.drop_name(name)
    out = "".join(ln.text() for ln in lines)
    if added:
        nl = "\r\n" if "\r\n" in text else "\n"
        if out and not out.endswith("\n"):
            out += nl
        out += "".join(a + nl for a in added)
    return out, items


class MapHosts(Step):
    name = "map-hosts"
    shared = True  # one hosts file for every node of a machine
    phase = "nodes"
    help = ("hosts file: [database].alias -> database address, plus [hosts_map] lines "
            "(guide: Creando las base de datos, 4)")

    def reads(self, host: Host, inv: Inventory) -> list[str]:
        return [host.hosts_file]

    def plan(self, ctx: StepContext) -> Plan:
        """Read the hosts file over SFTP, plan the managed lines; a write may fall back to in place."""
        wanted = wanted_entries(ctx.inv)
        path = ctx.host.hosts_file
        old = ctx.remote.read(path, SMALL_LIMIT, "a hosts file")
        if old is None:
            raise StepError(f"hosts file {path} does not exist on {ctx.host.name} (check hosts_file in hosts.toml)")
        try:
            text = old.decode("utf-8")
        except UnicodeDecodeError as e:
            line = old[:e.start].count(b"\n") + 1
            raise StepError(f"hosts file {path} on {ctx.host.name} is not UTF-8 text (line {line}, byte offset "
                            f"{e.start}); fix it by hand, it is left unchanged") from None
        new, items = plan_hosts(text, wanted, path)
        plan = Plan(items=items)
        if new != text:
            plan.files.append(FileChange(path, old, new.encode("utf-8"), in_place_fallback=True))
        return plan
