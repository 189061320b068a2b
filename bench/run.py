"""Rollout benchmark: N loopback SSH hosts, `fab setup-cluster`, a second (no-op) run and `fab verify`.

For each N it starts a lab of real sshd hosts (tests.lab: the manager and N-1 workers on
127.0.0.x, plus a db host), a real MariaDB (reached through the db host's SSH tunnel) and a
real svnserve, then times the three runs of the real `fab` command line.  The I/O figures
come from fab itself (ESB_STATS_FILE, written by Session.close from RemoteHost.counters).

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/run.py                 # N = 1, 3, 12, 24
    .venv/bin/python bench/run.py --n 24 --repeat 3

Writes bench/out/results.json and bench/out/wall.png and prints the table.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.lab import Lab, fab_bin, free_port  # noqa: E402
from tests.mariadb import MariaDB  # noqa: E402

OUT = REPO / "bench" / "out"
#: in this order on one lab: the first setup-cluster (certificates, databases, SVN and every node),
#: a second one (nothing to do), verify, then, with fresh product homes and hosts files but the
#: certificates, databases and SVN repository kept, setup-cluster again: the file rollout
MODES = (("full", ("setup-cluster",)), ("no-op", ("setup-cluster",)), ("verify", ("verify",)),
         ("verify-live", ("verify", "--live")), ("rollout", ("setup-cluster",)))
#: the issue's figures for 24 hosts on this 2-core machine (seconds)
TARGETS = {"rollout": 8.0, "verify": 5.0}
#: issue 15: each mode's wall time at most this many times the transport's floor (bench/floor.py), at every N
PROFILE_KIND = "prof"
REAL_JARS = False
FLOOR_RATIOS = {"verify": 2.0, "no-op": 2.0, "rollout": 3.0}
JARS = (("mysql_connector_jar", "mysql-connector-java-5.1.49.jar", 1_006_904),
        ("svnkit_jar", "svnkit-all-1.8.7.wso2v1.jar", 4_915_843),
        ("trilead_jar", "trilead-ssh2-1.0.0-build215.jar", 256_271))


def make_jars(d: Path, real_sizes: bool) -> dict[str, Path]:
    """Stand-in jars (the real ones cannot be downloaded here): small, or of the real jars' sizes."""
    out = {}
    for key, name, size in JARS:
        p = d / name
        with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as z:
            z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
            if key == "mysql_connector_jar":  # what verify --live looks for in the jar's zip directory
                z.writestr("com/mysql/jdbc/Driver.class", b"\xca\xfe\xba\xbe")
            z.writestr("payload.bin", os.urandom(size if real_sizes else 2048))
        out[key] = p
    return out


def start_svnserve(address: str, root: Path) -> tuple[subprocess.Popen, int]:
    """svnserve on the manager's address serving root (create-svn-repo makes the repository in it)."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port(address)
    proc = subprocess.Popen(["svnserve", "-d", "--foreground", "--listen-host", address, "--listen-port",
                             str(port), "-r", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("svnserve did not start") from None
            time.sleep(0.05)


def build_lab(n: int, db: MariaDB, jars: dict[str, Path]) -> tuple[Lab, subprocess.Popen]:
    """n ESB hosts (manager + n-1 workers) and a db host, every [section] of a full setup-cluster."""
    lab = Lab.create(n_workers=n - 1, first_octet=100, extra_roles=("db",))
    svn, lab.svn_port = start_svnserve(lab.hosts["esb-mgr"].address, lab.dir / "svn")
    # verify --live as on a real network: the nodes reach the database where it listens (loopback here: from
    # 127.0.0.1, granted), and start a JDK 1.8 (a stand-in `java`: Debian 12 has none)
    jdk = lab.dir / "jdk8" / "bin"
    jdk.mkdir(parents=True)
    (jdk / "java").write_text('#!/bin/sh\necho \'java version "1.8.0_392"\' >&2\n')
    os.chmod(jdk / "java", 0o755)
    (jdk.parent / "release").write_text('JAVA_VERSION="1.8.0_392"\n')  # as a JDK ships it
    lab.extra_toml = (db.toml(extra='grant_hosts = ["127.0.0.1"]\n') + f'\n[certs]\ndir = "{lab.dir / "certs"}"\n'
                      + "\n[artifacts]\n" + "".join(f'{k} = "{p}"\n' for k, p in jars.items())
                      + '\n[hosts_map]\n"carbondb.mysql-wso2.com" = "127.0.0.1"\n')
    lab.write_toml(lab.toml().replace("connect_timeout = 5\n", f'connect_timeout = 5\njava_home = "{jdk.parent}"\n', 1))
    lab.write_env(MYSQL_ADMIN_PASSWORD=db.root_password, WSO2_DB_PASSWORD="bench-db-" + secrets.token_hex(6),
                  SVN_PASSWORD="bench-svn-" + secrets.token_hex(6))
    return lab, svn


def timed_fab(lab: Lab, args: tuple[str, ...], stats: Path, profile: Path | None = None) -> dict:
    """One fab run: wall seconds (process start to exit, as a user waits), exit code, fab's own counters."""
    stats.unlink(missing_ok=True)
    env = {**os.environ, "ESB_HOSTS": str(lab.hosts_toml), "ESB_STATS_FILE": str(stats)}
    cmd = [fab_bin(), *args]
    if profile and profile.suffix == ".txt":  # py-spy: sampled stacks of every thread, collapsed ("raw")
        spy = Path(sys.executable).parent / "py-spy"
        extra = os.environ.get("BENCH_SPY_ARGS", "--idle").split()
        cmd = [str(spy), "record", "-r", "250", "-f", "raw", "-o", str(profile), *extra, "--", *cmd]
    elif profile:
        cmd = [sys.executable, "-m", "cProfile", "-o", str(profile), fab_bin(), *args]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    if r.returncode not in (0, 2):
        raise RuntimeError(f"fab {' '.join(args)} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    hosts: dict[str, dict] = {}
    for line in stats.read_text().splitlines() if stats.exists() else []:
        for name, c in json.loads(line)["hosts"].items():
            acc = hosts.setdefault(name, {})
            for k, v in c.items():
                acc[k] = acc.get(k, 0) + v
    return {"wall": round(wall, 3), "exit": r.returncode, "hosts": hosts}


def summarize(run: dict, lab: Lab) -> dict:
    """Per-host figures of one run: connections, commands and SFTP operations, bytes moved."""
    hosts = run["hosts"]
    esb = [h for h in hosts if lab.hosts[h].role in ("manager", "worker")]
    per = lambda key, names: [hosts[h].get(key, 0) for h in names] or [0]
    return {
        "wall": run["wall"], "exit": run["exit"], "hosts_touched": len(hosts),
        "connections_max": max(per("connections", hosts)),
        "connections_total": sum(per("connections", hosts)),
        "commands_per_esb_host": round(statistics.mean(per("commands", esb)), 2),
        "commands_by_host": {h: c["commands"] for h, c in hosts.items() if c.get("commands")},
        "sftp_ops_per_esb_host": round(statistics.mean(per("sftp_ops", esb)), 1),
        "sftp_ops_max": max(per("sftp_ops", hosts)),
        "channels": sum(per("channels", hosts)),
        "bytes_read": sum(per("bytes_read", hosts)),
        "bytes_written": sum(per("bytes_written", hosts)),
    }


def timed_floor(lab: Lab) -> dict:
    """bench/floor.py on the lab: bare paramiko reading each node's six files, as a process of its own."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, str(REPO / "bench" / "floor.py"), str(lab.hosts_toml)], cwd=REPO,
                       capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"floor.py exited {r.returncode}:\n{r.stderr[-3000:]}")
    return {"wall": round(wall, 3), "exit": 0, "detail": r.stdout.strip()}


def changed_files(before: dict, after: dict) -> int:
    return sum(1 for k in after.keys() | before.keys() if before.get(k) != after.get(k))


def bench_n(n: int, db: MariaDB, jars: dict[str, Path], repeat: int, profile_dir: Path | None) -> list[dict]:
    """Every mode at N hosts, `repeat` times on a fresh lab (the best wall time is kept, figures of that run)."""
    rows: dict[str, dict] = {}
    for i in range(repeat):
        db.reset()
        lab, svn = build_lab(n, db, jars)
        try:
            stats = lab.dir / "stats.jsonl"
            for mode, args in MODES:
                if mode == "verify":  # the floor on the same lab, just before the runs it is compared with
                    f = timed_floor(lab)
                    if "floor" not in rows or f["wall"] < rows["floor"]["wall"]:
                        rows["floor"] = {"n": n, "mode": "floor", "wall": f["wall"], "detail": f["detail"]}
                if mode == "rollout":
                    lab.reset()  # product homes and hosts files as shipped; certs, databases, SVN kept
                before = lab.snapshot() if mode == "no-op" else None
                prof = profile_dir / f"{mode}-{n}.{PROFILE_KIND}" if profile_dir and i == 0 else None
                row = summarize(timed_fab(lab, args, stats, prof), lab)
                if mode == "no-op":
                    row["files_changed"] = changed_files(before, lab.snapshot())
                if mode not in rows or row["wall"] < rows[mode]["wall"]:
                    rows[mode] = {"n": n, "mode": mode, **row}
        finally:
            svn.terminate()
            svn.wait(5)
            lab.close()
    floor = rows["floor"]["wall"]
    for m, _ in MODES:
        rows[m]["x_floor"] = round(rows[m]["wall"] / floor, 2)
    return [rows["floor"]] + [rows[m] for m, _ in MODES]


def table(results: list[dict]) -> str:
    head = ("N", "mode", "wall s", "x floor", "conn/host", "cmds/ESB host", "SFTP ops/ESB host", "KiB read",
            "KiB written")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        if r["mode"] == "floor":
            lines.append(f"| {r['n']} | floor (bare paramiko) | {r['wall']:.2f} | 1 | - | - | - | - | - |")
            continue
        lines.append("| " + " | ".join(str(x) for x in (
            r["n"], r["mode"], f"{r['wall']:.2f}", f"{r['x_floor']:.2f}", r["connections_max"], r["commands_per_esb_host"],
            r["sftp_ops_per_esb_host"], f"{r['bytes_read'] / 1024:.0f}", f"{r['bytes_written'] / 1024:.0f}")) + " |")
    return "\n".join(lines)


def chart(results: list[dict], path: Path) -> None:
    """Wall time against N, one line per mode."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for mode in ["floor"] + [m for m, _ in MODES]:
        pts = sorted((r["n"], r["wall"]) for r in results if r["mode"] == mode)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=mode,
                **({"linestyle": "--", "color": "black"} if mode == "floor" else {}))
    for mode, limit in TARGETS.items():
        ax.axhline(limit, linestyle=":", linewidth=0.8, color="grey")
        ax.annotate(f"{mode} target {limit:.0f} s (24 hosts)", (1, limit), fontsize=7, va="bottom")
    ax.set_xlabel("hosts (ESB nodes)")
    ax.set_ylabel("wall seconds")
    ax.set_title("fab setup-cluster / no-op rerun / verify over loopback SSH")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def check(results: list[dict]) -> list[str]:
    """The issues' figures: the seconds at 24 hosts (or the largest N below it), the ratios to the floor at every
    N, one connection per host, a no-op that changes nothing, what verify reads per host."""
    top = max(r["n"] for r in results)
    at = max((r["n"] for r in results if r["n"] <= 24), default=top)
    by = {r["mode"]: r for r in results if r["n"] == at}
    out = []
    for mode, limit in TARGETS.items():
        ok = by[mode]["wall"] < limit
        out.append(f"{'PASS' if ok else 'MISS'} {mode} at {at} hosts: {by[mode]['wall']:.2f} s "
                   f"(target < {limit:.0f} s)")
    for r in results:
        if r["mode"] == "verify":
            per = r["bytes_read"] / r["n"]
            out.append(f"{'PASS' if per < 1 << 20 else 'MISS'} verify at {r['n']} hosts reads {per / 1024:.0f} KiB "
                       f"per ESB host (target < 1 MiB{', real jar sizes' if REAL_JARS else ', small stand-in jars'})")
    for n in sorted({r["n"] for r in results}):
        for mode, limit in FLOOR_RATIOS.items():
            r = next(x for x in results if x["n"] == n and x["mode"] == mode)
            out.append(f"{'PASS' if r['x_floor'] <= limit else 'MISS'} {mode} at {n} hosts: {r['x_floor']:.2f}x the "
                       f"floor ({r['wall']:.2f} s; target <= {limit:.0f}x)")
    results = [r for r in results if r["mode"] != "floor"]
    conns = max(r["connections_max"] for r in results)
    out.append(f"{'PASS' if conns == 1 else 'MISS'} SSH connections per host per run: at most {conns}")
    noop = [r for r in results if r["mode"] == "no-op"]
    ok = all(r["files_changed"] == 0 for r in noop)
    out.append(f"{'PASS' if ok else 'MISS'} no-op run: {sum(r['files_changed'] for r in noop)} entries changed (product homes, hosts files, state dirs)")
    walls = {(r["n"], r["mode"]): r["wall"] for r in results}
    if (top, "verify-live") in walls:
        extra = walls[(top, "verify-live")] - walls[(top, "verify")]
        out.append(f"{'PASS' if extra <= 1.2 else 'MISS'} verify --live at N={top} adds {extra:.2f} s to verify "
                   f"(target: about 1 s)")
    vcmds = {r["n"]: r["commands_by_host"] for r in results if r["mode"] == "verify"}
    out.append(f"INFO remote commands during verify (host: count): {vcmds[top] or 'none'}")
    return out


def compile_project() -> None:
    """The project's bytecode written, as pip writes an installed package's (the floor's paramiko has its own): fab
    is timed running, not compiling its modules (where PYTHONDONTWRITEBYTECODE is set, nothing else writes them)."""
    import compileall
    compileall.compile_dir(str(REPO / "tasks"), quiet=1)
    compileall.compile_file(str(REPO / "fabfile.py"), quiet=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1, 3, 12, 24], help="host counts (ESB nodes)")
    ap.add_argument("--repeat", type=int, default=1, help="fresh labs per N; the fastest run is kept")
    ap.add_argument("--real-jar-sizes", action="store_true", help="stand-in jars of the real jars' sizes (~6 MiB)")
    ap.add_argument("--profile", action="store_true", help="cProfile each fab run into bench/out/prof/")
    ap.add_argument("--py-spy", action="store_true", help="py-spy each fab run (collapsed stacks, idle included) "
                                                          "into bench/out/prof/<mode>-<n>.txt")
    a = ap.parse_args()
    compile_project()
    global PROFILE_KIND, REAL_JARS
    PROFILE_KIND = "txt" if a.py_spy else "prof"
    REAL_JARS = a.real_jar_sizes
    a.profile = a.profile or a.py_spy
    OUT.mkdir(parents=True, exist_ok=True)
    prof = OUT / "prof" if a.profile else None
    if prof:
        prof.mkdir(exist_ok=True)
    db = MariaDB.start()
    results: list[dict] = []
    try:
        with tempfile.TemporaryDirectory(prefix="esb-bench-jars-") as d:
            jars = make_jars(Path(d), a.real_jar_sizes)
            for n in a.n:
                rows = bench_n(n, db, jars, a.repeat, prof)
                results += rows
                for r in rows:
                    if r["mode"] == "floor":
                        print(f"N={n:>3} floor       {r['wall']:6.2f} s  ({r['detail']})", flush=True)
                        continue
                    print(f"N={n:>3} {r['mode']:<11} {r['wall']:6.2f} s  x{r['x_floor']:<5} conn/host {r['connections_max']}  "
                          f"cmds/ESB host {r['commands_per_esb_host']}  "
                          f"SFTP ops/ESB host {r['sftp_ops_per_esb_host']}  "
                          f"read {r['bytes_read'] / 1024:.0f} KiB  written {r['bytes_written'] / 1024:.0f} KiB",
                          flush=True)
    finally:
        db.stop()
    meta = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "real_jar_sizes": a.real_jar_sizes,
            "repeat": a.repeat, "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    (OUT / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    chart(results, OUT / "wall.png")
    print()
    print(table(results))
    print()
    print("\n".join(check(results)))
    print(f"\nwrote {OUT / 'results.json'} and {OUT / 'wall.png'}")


if __name__ == "__main__":
    main()
