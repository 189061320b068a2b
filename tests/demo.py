"""The README's first command: a local demo cluster on loopback, set up by `fab setup-cluster`, verified, started.

Starts three ESB "hosts" (esb-mgr 127.0.0.2, esb-w1 .3, esb-w2 .4), a db host (db1 .5) and a load
balancer (lb1 .6), each a real sshd with its own files (the ESB hosts a copy of the shipped WSO2 ESB
4.9.0 files); a real MariaDB on 127.0.0.1 (reached through db1's SSH); a real svnserve on the
manager's address; Debian's nginx on lb1's address, which configure-lb configures.  The jars are
small stand-ins (the real ones cannot be downloaded here), and so is the JDK the nodes start with (no
JDK 7/8 here): `fab start` runs each node's real bin/wso2server.sh, whose `java` is a stand-in that runs
a stand-in Carbon (tests/standin/): it writes its pid file, listens on the node's ports, answers with its
node's address, forms membership over TCP and logs Carbon's own lines.  The demo runs setup-cluster
--dry-run, setup-cluster, verify, diagram, start, verify --live, status, a deploy of a Carbon application
(proved on every node through DepSync), a rolling restart under a client
loop through nginx (it prints how many requests were answered and how many failed), then stops the
servers.  Secrets are random and live only in the demo's .env.  Everything is removed at the end unless
--keep is given.
"""
from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys

from tests.lab import REPO, Lab, car, fab_bin, make_jar
from tests.lblab import Nginx, free_port_on, request
from tests.standin.clients import Clients
from tests.standin.jdk import make_jdk
from tests.mariadb import MariaDB
from tests.svnlab import start_svnserve

JARS = {"mysql_connector_jar": "mysql-connector-java-5.1.49.jar",
        "svnkit_jar": "svnkit-all-1.8.7.wso2v1.jar",
        "trilead_jar": "trilead-ssh2-1.0.0-build215.jar"}


def fab(lab: Lab, *args: str) -> int:
    """Run the real fab CLI against the demo, output straight to the terminal."""
    print(f"\n$ ESB_HOSTS={lab.hosts_toml} fab {' '.join(args)}", flush=True)
    env = {**os.environ, "ESB_HOSTS": str(lab.hosts_toml)}
    return subprocess.call([fab_bin(), *args], cwd=REPO, env=env)


def fab_summary(lab: Lab, *args: str) -> int:
    """Run fab and show only its summary (a dry-run of the whole guide prints every diff)."""
    print(f"\n$ ESB_HOSTS={lab.hosts_toml} fab {' '.join(args)}   (summary only)", flush=True)
    env = {**os.environ, "ESB_HOSTS": str(lab.hosts_toml)}
    r = subprocess.run([fab_bin(), *args], cwd=REPO, env=env, capture_output=True, text=True)
    lines = r.stdout.splitlines()
    tail = next((i for i in range(len(lines) - 1, -1, -1) if " host" in lines[i] and ": " in lines[i]), len(lines) - 1)
    print("\n".join(lines[tail:]) or r.stderr, flush=True)
    return r.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2, help="number of worker hosts (default 2)")
    ap.add_argument("--keep", action="store_true", help="leave the demo cluster running until Enter is pressed")
    args = ap.parse_args(argv)

    print("starting the demo lab: sshd per host, MariaDB, svnserve ...", flush=True)
    lab = Lab.create(n_workers=args.workers, extra_roles=("db", "lb"))
    db = svn = nginx = None
    try:
        db = MariaDB.start()
        svn = start_svnserve(lab)
        lb = lab.hosts["lb1"]
        nginx = Nginx.prepare(lab.dir / "nginx")
        nginx.start()
        http_port, https_port = free_port_on(lb.address), free_port_on(lb.address)
        arts = {k: make_jar(lab.dir / "artifacts" / name, f"demo stand-in for {name}",
                            ("com.mysql.jdbc.Driver",) if k == "mysql_connector_jar" else ())
                for k, name in JARS.items()}
        # the nodes reach MariaDB where it listens (127.0.0.1), as verify --live logs in from each node
        lab.extra_toml = (db.toml(extra='grant_hosts = ["127.0.0.1"]\n') + f'\n[certs]\ndir = "{lb.root / "ssl"}"\n\n[artifacts]\n'
                          + "".join(f'{k} = "{v}"\n' for k, v in arts.items()) + nginx.toml(lb.address)
                          + "\n[security]\nkeystore = true\nvault = true\nadmin_password = true\n"
                          + "\n[run]\nstart_timeout = 60\ndrain_seconds = 2\n"
                          + '\n[hosts_map]\n"carbondb.mysql-wso2.com" = "127.0.0.1"\n')
        # a stand-in JDK 1.8 running a stand-in Carbon (tests/standin/); its hosts map as [hosts_map] says
        jdk = make_jdk(lab.dir / "jdk8-stand-in", hosts={"carbondb.mysql-wso2.com": "127.0.0.1"},
                       from_member_host=False)
        lab.write_toml(lab.toml().replace("lb_http_port = 80\n", f"lb_http_port = {http_port}\n")
                       .replace("lb_https_port = 443\n", f"lb_https_port = {https_port}\n")
                       .replace("connect_timeout = 5\n", f'connect_timeout = 5\njava_home = "{jdk}"\n', 1))
        lab.write_env(MYSQL_ADMIN_PASSWORD=db.root_password, WSO2_DB_PASSWORD=secrets.token_urlsafe(12),
                      SVN_PASSWORD=secrets.token_urlsafe(12), KEYSTORE_PASSWORD=secrets.token_urlsafe(12),
                      ADMIN_PASSWORD=secrets.token_urlsafe(12))
        print(f"hosts.toml: {lab.hosts_toml}")
        for h in lab.hosts.values():
            print(f"  {h.name:8} {h.role:8} ssh {h.address}:{h.port}  home {h.home if h.member_port else '-'}")
        dry = fab_summary(lab, "setup-cluster", "--dry-run")
        setup = fab(lab, "setup-cluster")
        check = fab(lab, "verify")
        started = fab(lab, "start")
        live = fab(lab, "verify", "--live", "--steps", "live")
        state = fab(lab, "status")
        app = lab.dir / "DemoApp_1.0.0.car"  # a Carbon application, put on the manager and proved on every node
        app.write_bytes(car("DemoApp", "1.0.0"))
        deployed = fab(lab, "deploy", str(app))
        pictures = [fab(lab, "diagram", "--output", str(REPO / f"demo-cluster.{ext}")) for ext in ("svg", "png")]
        print(f"\nthrough the load balancer during a rolling restart of every node (4 clients POSTing to "
              f"http://esb.wso2.com:{http_port}/):", flush=True)
        with Clients(lb.address, http_port, "esb.wso2.com") as clients:
            rolled = fab(lab, "rolling-restart")
        print(f"  {clients.ok} requests answered by a node, {clients.failed} failed")
        print(f"\nsetup-cluster --dry-run exit {dry}, setup-cluster exit {setup}, verify exit {check} (0 = the whole "
              f"cluster matches the guide), start exit {started}, verify --live exit {live}, status exit {state}, "
              f"deploy exit {deployed}, rolling-restart exit {rolled}; "
              f"the picture: demo-cluster.svg and demo-cluster.png (diagram exit {max(pictures)})")
        print(f"\nthrough the load balancer (nginx on {lb.address}; the stand-in Carbons answer with their node):")
        for name, port, tls in (("esb.wso2.com", http_port, False), ("esb.wso2.com", https_port, True),
                                ("mgt.esb.wso2.com", https_port, True)):
            status, body = request(lb.address, port, name, tls, lb.root / "ssl" / f"{name}.crt")
            print(f"  GET {'https' if tls else 'http'}://{name}:{port}/  ->  {status} from {body.split()[0]}")
        if args.keep:
            print(f"\nthe demo keeps running; try: ESB_HOSTS={lab.hosts_toml} fab status")
            input("press Enter to stop it ")
        stopped = fab(lab, "stop")
        return (stopped or dry or setup or check or started or live or state or deployed or rolled or clients.failed
                or max(pictures))
    finally:
        if nginx:
            nginx.stop()
        for h in lab.hosts.values():  # a server the demo started and did not stop (an error on the way)
            pid_file = h.home / "wso2carbon.pid" if h.member_port else None
            if pid_file and pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text()), 9)
                except (ValueError, ProcessLookupError):
                    pass
        if svn:
            svn.proc.terminate()
        if db:
            db.stop()
        lab.close()


if __name__ == "__main__":
    sys.exit(main())
