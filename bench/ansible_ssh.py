"""Wall time over N loopback SSH hosts: `fab` against an Ansible playbook of community.general.xml tasks
making the same values of patch-axis2, set-hostnames, enable-depsync and set-proxyports.

One lab (tests.lab: a real sshd per host on 127.0.0.x, each with its own copy of the shipped product
home), reset to the shipped files before each tool's first run. Each tool runs twice: the first run
changes every host, the second finds nothing to do. Ansible gets its best case: pipelining on,
8 forks (fab's default [run].parallel), no fact gathering, a Python with lxml on the "remote" side.

    python3 -m venv /tmp/ansible && /tmp/ansible/bin/pip install ansible lxml
    .venv/bin/python bench/ansible_ssh.py --ansible-playbook /tmp/ansible/bin/ansible-playbook --n 24

Writes bench/out/ansible-ssh.json.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.lab import Lab, fab_bin  # noqa: E402

OUT = REPO / "bench" / "out"
NS = "http://wso2.org/projects/carbon/carbon.xml"
STEPS = ("patch-axis2", "set-hostnames", "enable-depsync", "set-proxyports")
FORKS = 8


def node_vars(home: str, role: str, member_host: str, member_port: int, peers: list[tuple[str, int]]) -> dict:
    """The playbook's variables for one ESB node: its product home and cluster values."""
    return {"home": home, "role": role, "member_host": member_host, "member_port": str(member_port),
            "members_xml": [f"<member><hostName>{h}</hostName><port>{p}</port></member>" for h, p in peers],
            "sub_domain": "mgt" if role == "manager" else "worker",
            "autocommit": "true" if role == "manager" else "false"}


def inventory(lab: Lab, python: str, svn_password: str) -> dict:
    """Ansible inventory: each lab host with its address, port, product home and cluster values."""
    mgr = lab.hosts["esb-mgr"]
    workers = [h for h in lab.hosts.values() if h.role == "worker"]
    hosts = {}
    for h in lab.hosts.values():
        peers = workers if h.role == "manager" else [mgr]
        hosts[h.name] = {"ansible_host": h.address, "ansible_port": h.port,
                         **node_vars(str(h.home), h.role, h.address, h.member_port,
                                     [(p.address, p.member_port) for p in peers])}
    common = f"-o UserKnownHostsFile={lab.known_hosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
    return {"all": {"hosts": hosts, "vars": {
        "ansible_user": "root", "ansible_ssh_private_key_file": str(lab.key), "ansible_ssh_common_args": common,
        "ansible_python_interpreter": python, "svn_url": f"svn://{mgr.address}:{lab.svn_port}/depsyncrepo/",
        "svn_password": svn_password}}}


def playbook() -> list[dict]:
    """The four steps' values as community.general.xml tasks (idempotent where the module allows)."""
    axis2 = "{{ home }}/repository/conf/axis2/axis2.xml"
    carbon = "{{ home }}/repository/conf/carbon.xml"
    catalina = "{{ home }}/repository/conf/tomcat/catalina-server.xml"
    cl = "/axisconfig/clustering"
    x = lambda **kw: {"community.general.xml": kw}
    t = [x(path=axis2, xpath=cl, attribute="enable", value="true")]
    for name, value in (("membershipScheme", "wka"), ("domain", "wso2.esb.domain"),
                        ("localMemberHost", "{{ member_host }}"), ("localMemberPort", "{{ member_port }}")):
        t.append(x(path=axis2, xpath=f"{cl}/parameter[@name='{name}']", value=value))
    t.append(x(path=axis2, xpath=f"{cl}/members", input_type="xml", set_children="{{ members_xml }}"))
    t.append(x(path=axis2, xpath=f"{cl}/parameter[@name='properties']/property[@name='subDomain']",
               attribute="value", value="{{ sub_domain }}"))
    c = {"path": carbon, "namespaces": {"c": NS}}
    ds = "/c:Server/c:DeploymentSynchronizer"
    for xpath, value in (("/c:Server/c:HostName", "esb.wso2.com"), ("/c:Server/c:Ports/c:Offset", "0"),
                         (f"{ds}/c:Enabled", "true"), (f"{ds}/c:AutoCommit", "{{ autocommit }}"),
                         (f"{ds}/c:AutoCheckout", "true"), (f"{ds}/c:RepositoryType", "svn"),
                         (f"{ds}/c:SvnUrl", "{{ svn_url }}"), (f"{ds}/c:SvnUser", "repouser"),
                         (f"{ds}/c:SvnPassword", "{{ svn_password }}"), (f"{ds}/c:SvnUrlAppendTenantId", "true")):
        t.append(x(**c, xpath=xpath, value=value))
    manager_only = [x(**c, xpath="/c:Server/c:MgtHostName", value="mgt.esb.wso2.com")]
    for port, proxy in (("9763", "80"), ("9443", "443")):
        manager_only.append(x(path=catalina, xpath=f"//Connector[@port='{port}']", attribute="proxyPort", value=proxy))
    t += [{**task, "when": "role == 'manager'"} for task in manager_only]
    for task in t:
        task["no_log"] = True  # the SVN password is a task argument
    return [{"hosts": "all", "gather_facts": False, "tasks": t}]


def run(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    return time.perf_counter() - t0, r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ansible-playbook", default="ansible-playbook", help="path of ansible-playbook")
    ap.add_argument("--n", type=int, nargs="+", default=[3, 12, 24], help="host counts (ESB nodes)")
    a = ap.parse_args()
    playbook_bin = shutil.which(a.ansible_playbook) or a.ansible_playbook
    python = str(Path(playbook_bin).parent / "python")  # the venv's, with lxml ("remote" = this machine)
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for n in a.n:
        lab = Lab.create(n_workers=n - 1, first_octet=100)
        try:
            svn_pw = "bench-" + secrets.token_hex(6)
            lab.write_env(SVN_PASSWORD=svn_pw)
            book, inv = lab.dir / "playbook.json", lab.dir / "inventory.json"
            book.write_text(json.dumps(playbook(), indent=1))
            inv.write_text(json.dumps(inventory(lab, python, svn_pw), indent=1))
            ans_env = {"PATH": os.environ["PATH"], "HOME": str(lab.dir), "ANSIBLE_NOCOLOR": "1",
                       "ANSIBLE_PIPELINING": "True", "ANSIBLE_FORKS": str(FORKS),
                       "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_LOCAL_TEMP": str(lab.dir / "ans-local")}
            fab_env = {**os.environ, "ESB_HOSTS": str(lab.hosts_toml)}
            row = {"n": n}
            for tool, cmd, env in (("ansible", [playbook_bin, "-i", str(inv), str(book)], ans_env),
                                   ("fab", [fab_bin(), *STEPS], fab_env)):
                lab.reset()
                for attempt in ("first", "second"):
                    wall, r = run(cmd, env)
                    if r.returncode != 0:
                        sys.exit(f"{tool} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-2000:]}")
                    row[f"{tool}_{attempt}"] = round(wall, 2)
                # what the result lacks by the guide's measure: fab verify of the four steps, as items
                _, r = run([fab_bin(), "verify", "--steps", ",".join(STEPS), "--json"], fab_env)
                doc = json.loads(r.stdout)
                row[f"{tool}_verify_drift"] = sorted({i["what"] for steps in doc["hosts"].values()
                                                      for res in steps.values() for i in res["items"]})
            results.append(row)
            print(f"N={n:>3}  ansible {row['ansible_first']:7.2f} s, again {row['ansible_second']:7.2f} s   "
                  f"fab {row['fab_first']:6.2f} s, again {row['fab_second']:6.2f} s   "
                  f"verify drift after ansible: {row['ansible_verify_drift'] or 'none'}, "
                  f"after fab: {row['fab_verify_drift'] or 'none'}", flush=True)
        finally:
            lab.close()
    meta = {"cpus": os.cpu_count(), "forks": FORKS, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
            "ansible": subprocess.run([playbook_bin, "--version"], capture_output=True, text=True).stdout.split("\n")[0]}
    (OUT / "ansible-ssh.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    print(f"wrote {OUT / 'ansible-ssh.json'}")


if __name__ == "__main__":
    main()
