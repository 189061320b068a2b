"""The README's first command: a local demo cluster on loopback, set up by `fab setup-cluster`, then `fab verify`.

Starts three ESB "hosts" (esb-mgr 127.0.0.2, esb-w1 .3, esb-w2 .4) and a db host (db1 .5), each a
real sshd with its own copy of the shipped WSO2 ESB 4.9.0 files; a real MariaDB on 127.0.0.1
(reached through db1's SSH); a real svnserve on the manager's address.  The jars are small
stand-ins (the real ones cannot be downloaded here).  Secrets are random and live only in the
demo's .env.  Everything is removed at the end unless --keep is given.
"""
from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys

from tests.lab import REPO, Lab, fab_bin, make_jar
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2, help="number of worker hosts (default 2)")
    ap.add_argument("--keep", action="store_true", help="leave the demo cluster running until Enter is pressed")
    args = ap.parse_args(argv)

    print("starting the demo lab: sshd per host, MariaDB, svnserve ...", flush=True)
    lab = Lab.create(n_workers=args.workers, extra_roles=("db",))
    db = svn = None
    try:
        db = MariaDB.start()
        svn = start_svnserve(lab)
        arts = {k: make_jar(lab.dir / "artifacts" / name, f"demo stand-in for {name}") for k, name in JARS.items()}
        lab.extra_toml = (db.toml() + f'\n[certs]\ndir = "{lab.hosts["esb-mgr"].root / "ssl"}"\n\n[artifacts]\n'
                          + "".join(f'{k} = "{v}"\n' for k, v in arts.items()))
        lab.write_toml()
        lab.write_env(MYSQL_ADMIN_PASSWORD=db.root_password, WSO2_DB_PASSWORD=secrets.token_urlsafe(12),
                      SVN_PASSWORD=secrets.token_urlsafe(12))
        print(f"hosts.toml: {lab.hosts_toml}")
        for h in lab.hosts.values():
            print(f"  {h.name:8} {h.role:8} ssh {h.address}:{h.port}  home {h.home if h.member_port else '-'}")
        setup = fab(lab, "setup-cluster")
        check = fab(lab, "verify")
        print(f"\nsetup-cluster exit {setup}, verify exit {check} (0 = the whole cluster matches the guide)")
        if args.keep:
            print(f"\nthe demo keeps running; try: ESB_HOSTS={lab.hosts_toml} fab verify --json")
            input("press Enter to stop it ")
        return setup or check
    finally:
        if svn:
            svn.proc.terminate()
        if db:
            db.stop()
        lab.close()


if __name__ == "__main__":
    sys.exit(main())
