"""configure-lb: the community nginx load balancer the guide's topology stands on (CONTRACT §6).

WSO2's 4.9.0 clustering documentation configures nginx with three files; this step writes them
into `[lb].conf_dir` on each lb host, rendered from hosts.toml by a pure function:

| file                 | server                                   | upstream                                    |
| esb.http.conf        | cluster.hostname, lb_http_port           | every worker's member_host:8280+offset      |
| esb.https.conf       | cluster.hostname, lb_https_port, TLS     | every worker's member_host:8243+offset, ip_hash |
| mgt.esb.https.conf   | cluster.mgt_hostname, lb_https_port, TLS | the manager's member_host:9443+offset       |

What the official files get wrong is corrected: no NGINX Plus `sticky` (Debian's nginx has no such
module: `ip_hash` keeps a client on one worker), `listen ... ssl` instead of the removed `ssl on`,
and the 2048-bit pairs create-certs made in certs.dir instead of 1024-bit keys OpenSSL 3 refuses.

Patch writes the changed files (atomic, backed up), runs `nginx -t -c <nginx_conf>`; a failing test
puts the previous files back and fails the step with nginx's own message, leaving the running nginx
untouched. Otherwise nginx is reloaded when it runs (`-s reload`); a stopped nginx is left stopped.
"""
from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass

from ..config import Host, Inventory
from ..engine.ops import Done, NginxReload, Op, nginx_message
from ..engine.plan import FileChange, Item, Plan, line_items
from ..formats import nginxconf
from ..formats.nginxconf import set_down
from ..rules import MGT_HTTPS_PORT, NGINX_FILES as FILES, PT_HTTP_PORT, PT_HTTPS_PORT, drain_marker, nginx_command
from .base import Step
from ..engine.context import StepContext, StepError

#: Carbon's ports before the offset (tasks/rules.py): PassThrough HTTP
#: and HTTPS, the management console
HTTP_PORT, HTTPS_PORT, MGT_PORT = PT_HTTP_PORT, PT_HTTPS_PORT, MGT_HTTPS_PORT
HEADER = "# Written by wso2-esb-cluster (configure-lb) from hosts.toml; edits here are drift.\n"
PROXY = """\
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-Host $host;
        proxy_set_header X-Forwarded-Server $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_connect_timeout 5m;
        proxy_send_timeout 5m;
        proxy_read_timeout 5m;
"""


def _listen(inv: Inventory, port: int, tls: bool) -> str:
    addr = inv.lb.listen
    where = f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}" if addr else str(port)
    return f"    listen {where}{' ssl' if tls else ''};\n"


def _upstream(name: str, servers: list[str], ip_hash: bool = False) -> str:
    body = "    ip_hash;\n" if ip_hash else ""
    body += "".join(f"    server {s};\n" for s in servers)
    return f"upstream {name} {{\n{body}}}\n"


def _member(h: Host, port: int) -> str:
    return nginxconf.server_address(h.member_host, port + h.port_offset)


def _tls(inv: Inventory, name: str) -> str:
    crt, key = cert_paths(inv, name)
    return (f"    ssl_certificate {crt};\n    ssl_certificate_key {key};\n"
            "    ssl_protocols TLSv1.2 TLSv1.3;\n")


def cert_paths(inv: Inventory, name: str) -> tuple[str, str]:
    """create-certs' pair for a hostname on the lb host."""
    return posixpath.join(inv.certs.dir, f"{name}.crt"), posixpath.join(inv.certs.dir, f"{name}.key")


def _server(inv: Inventory, name: str, port: int, upstream: str, scheme: str) -> str:
    tls = scheme == "https"
    return ("server {\n" + _listen(inv, port, tls) + f"    server_name {name};\n" + (_tls(inv, name) if tls else "")
            + f"    location / {{\n        proxy_pass {scheme}://{upstream};\n" + PROXY
            + ("        proxy_ssl_server_name on;\n        proxy_ssl_name $host;\n" if tls else "")
            + "    }\n}\n")


def render(inv: Inventory) -> dict[str, bytes]:
    """The three files for the cluster as hosts.toml describes it (pure; the same input gives the same bytes)."""
    workers = inv.by_role("worker")
    managers = inv.by_role("manager")
    if not workers:
        raise StepError(f"{inv.path}: no host has role = \"worker\"; the load balancer has no upstream for "
                        f"{inv.cluster.hostname}")
    if not managers:
        raise StepError(f"{inv.path}: no host has role = \"manager\"; the load balancer has no upstream for "
                        f"{inv.cluster.mgt_hostname}")
    c = inv.cluster
    http = _upstream("wso2_esb_http_workers", [_member(h, HTTP_PORT) for h in workers])
    https = _upstream("wso2_esb_https_workers", [_member(h, HTTPS_PORT) for h in workers], ip_hash=True)
    mgt = _upstream("wso2_esb_https_manager", [_member(h, MGT_PORT) for h in managers])
    out = {
        "esb.http.conf": http + "\n" + _server(inv, c.hostname, c.lb_http_port, "wso2_esb_http_workers", "http"),
        "esb.https.conf": https + "\n" + _server(inv, c.hostname, c.lb_https_port, "wso2_esb_https_workers", "https"),
        "mgt.esb.https.conf": mgt + "\n" + _server(inv, c.mgt_hostname, c.lb_https_port, "wso2_esb_https_manager",
                                                   "https"),
    }
    return {k: (HEADER + v).encode() for k, v in out.items()}


def worker_servers(inv: Inventory) -> dict[str, str]:
    """Each worker's `server` address in the upstreams (ip:port after its offset) -> its name."""
    return {s: w.name for w in inv.by_role("worker") for s in (_member(w, HTTP_PORT), _member(w, HTTPS_PORT))}


def keep_down(wanted: bytes, old: bytes | None, servers: dict[str, str],
              conf: nginxconf.Conf | None = None) -> tuple[bytes, list[str]]:
    """(the rendered file with the `down` marks the file on the host holds for workers kept, those workers):
    a worker out of the balancer (drained, or a restart under way) is no drift, and a patch keeps it out.
    `conf`: old's parse, when the caller has it (the run's one parse of the file)."""
    if old is not None and conf is None:
        conf = nginxconf.parse(old)
    marks = conf.marked_down & set(servers) if old is not None and conf is not None else set()
    return set_down(wanted, marks, True), sorted({servers[m] for m in marks})


def drained_item(ctx: StepContext, worker: str, files: list[str]) -> Item:
    """A worker the upstreams mark down, as verify's warning: drained on purpose (fab drain left its marker),
    or left out by a restart (under way, or killed: `start` puts a running worker back)."""
    if ctx.remote.lstat(drain_marker(ctx.host, worker)) is not None:
        return Item("balancer", worker, "in the balancer", f"drained (fab drain): down in {', '.join(files)}",
                    fix=f"fab -H {worker} drain --undo")
    return Item("balancer", worker, "in the balancer", f"drained: down in {', '.join(files)}, not by fab drain "
                f"(a restart under way, or one that was stopped)", fix=f"fab -H {worker} start")


class ConfigureLb(Step):
    name = "configure-lb"
    phase = "lb"
    roles = ("lb",)
    esb_only = False
    help = ("community nginx in front of the cluster: esb.http.conf, esb.https.conf (ip_hash), mgt.esb.https.conf "
            "in [lb].conf_dir, nginx -t, reload (guide: the load balancer of its topology; WSO2 4.9.0 clustering docs)")

    def applies_to(self, host: Host, inv: Inventory) -> str | None:
        return None if host.role == "lb" else f"not a load balancer (role {host.role})"

    def plan(self, ctx: StepContext) -> Plan:
        """Read the three files and check what nginx will need (certificates, main file, binary)."""
        inv, r = ctx.inv, ctx.remote
        wanted = render(inv)
        lb = inv.lb
        st = r.stat(lb.conf_dir)
        if st is None or not st.is_dir:
            raise StepError(f"[lb].conf_dir {lb.conf_dir} is not a directory on {ctx.host.name}")
        if r.stat(lb.nginx_conf) is None:
            raise StepError(f"[lb].nginx_conf {lb.nginx_conf} does not exist on {ctx.host.name}")
        missing = [p for n in (inv.cluster.hostname, inv.cluster.mgt_hostname) for p in cert_paths(inv, n)
                   if r.stat(p) is None]
        plan = Plan()
        if missing and ctx.checks.applies:
            raise StepError(f"{', '.join(missing)} missing on {ctx.host.name}: run create-certs on it first")
        for p in missing:  # verify and dry-run: drift to show (setup-cluster's create-certs phase makes them first)
            plan.items.append(Item(p, "create-certs' certificate or key", "present", "missing"))
        if missing:
            plan.notes.append("create-certs makes the missing files first (setup-cluster's certs phase); "
                              "configure-lb alone refuses without them")
        servers = worker_servers(inv)
        down: dict[str, list[str]] = {}  # worker -> the files that mark it down
        for name in FILES:
            path = posixpath.join(lb.conf_dir, name)
            old = r.read(path)
            conf = None if old is None else ctx.parsed(path, old, nginxconf.parse, name)
            want, out = keep_down(wanted[name], old, servers, conf)  # a worker out of the balancer stays out: not drift
            for w in out:
                down.setdefault(w, []).append(name)
            if old != want:
                plan.items += line_items(path, old, want, "hosts.toml")  # the nginx lines that differ
                plan.files.append(FileChange(path, old, want, mode=0o644 if old is None else None))
        for worker, files in sorted(down.items()):
            plan.warnings.append(drained_item(ctx, worker, sorted(set(files))))
        if plan.files:
            restore = tuple((fc.path, fc.old) for fc in plan.files)  # what goes back if nginx -t refuses
            plan.actions += [NginxTest(nginx_command(inv, "-t"), restore),
                             NginxReload(nginx_command(inv, "-s", "reload"))]
        if not ctx.checks.applies or plan.files:
            self._check_binary(ctx)
        return plan

    @staticmethod
    def _check_binary(ctx: StepContext) -> None:
        """The binary is there: a path is a stat; only a bare name needs the login PATH (a command)."""
        nginx = ctx.inv.lb.nginx
        if "/" in nginx:
            st = ctx.remote.stat(nginx)
            found = st is not None and st.is_file and bool(st.mode & 0o111)
        else:
            found = ctx.remote.run(f"command -v {shlex.quote(nginx)}", check=False)[0] == 0
        if not found:
            raise StepError(f"[lb].nginx {nginx} is not found on {ctx.host.name} (install nginx, or set the path)")


@dataclass(frozen=True, eq=False)
class NginxTest(Op):
    """`nginx -t` on the files just written; when it fails, the previous files (`restore`: path and
    the bytes it had, None where it was new) go back (no backup run claims them) and the step fails
    with nginx's own message: the running nginx never sees the refused files."""

    command: str
    restore: tuple[tuple[str, bytes | None], ...] = ()

    def describe(self) -> str:
        return f"{self.command}  (the previous files back if it fails)"

    def perform(self, ctx: StepContext) -> Done | None:
        r = ctx.remote
        code, out, err = r.run(self.command, sudo=True, check=False)
        if code == 0:
            return None
        for path, old in self.restore:
            if old is None:
                r.remove(path, backup=False)
            else:
                r.write(path, old, backup=False)
            r.forget_backup(path)
        raise StepError(f"nginx -t refused the new files; the previous ones are back and nginx was not reloaded: "
                        f"{nginx_message(err or out)}")


