"""Command-line glue: the `-H` executor, the task wrapper shared by
every step, and the umbrella tasks.

Fabric would turn `-H manager,workers` into one Connection per word and DNS-resolve
it; `TargetsExecutor` (selected in fabric.json) keeps the words and hands them to
our resolver instead, so targets are hosts.toml names and groups only.

Every task body goes through `run_task`. One fab command line is one run (CONTRACT §11): the
executor opens a `CommandLine` around all the tasks it names, which holds one Session (one SSH
connection, lock and run id per host, one read cache) and one Reporter per mode for all of them; the
tasks run and report in the order given, a host that failed a task skips its later ones, and the
command line ends with one summary and one exit code.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from fabric.executor import Executor
from invoke import Collection, Exit, Task as InvokeTask, task

from .config import ConfigError, Inventory, load_inventory
from .engine.mode import Mode
from .commands.diagram import check_output, diagram
from .engine.report import Reporter, Status, View
from .commands.rollback import rollback
from .commands.rollout import NODE_STEPS, next_after_patch, setup_cluster, setup_node
from .engine.runner import Session, run_step
from .secrets import load_secrets
from .steps import STEPS, Step, by_name
from .engine.targets import resolve
from .commands.verify import select_steps, verify


FLAG_HELP = {
    "verify": "read-only drift check; exit 2 on drift",
    "dry-run": "print the unified diff and commands patch would run; change nothing",
    "json": "one JSON document on stdout",
    "break-lock": "break a host's lock whose run cannot be proved alive (another machine's, a malformed owner "
                  "file): only when that run is dead; a live run's lock on this machine is never broken",
    "verbose": "every item on its own line (default: a count per file past 5 items)",
    "diff": "a patch prints the unified diff of what it applied (binary files: sizes and digests)",
}
#: the flags every task has, whatever it does
COMMON_HELP = {k: FLAG_HELP[k] for k in ("json", "verbose")}


class TargetsExecutor(Executor):
    """Keeps -H for our own resolver instead of making one Connection per word, and makes the whole
    command line one run (a CommandLine around every task it names)."""

    def expand_calls(self, calls, apply_hosts=True):
        return super().expand_calls(calls, apply_hosts=False)

    def execute(self, *tasks):
        calls = self.normalize(tasks)
        upcoming = [by_name(c.task.name) for c in calls if is_step(c.task.name)]
        # the raw -H value ("" from an empty variable is refused later, never taken as "all")
        line = CommandLine.begin(upcoming, self.core[0].args.hosts.value if self.core else None)
        try:
            results = super().execute(*tasks)
        except BaseException:
            line.end()
            raise
        code = line.end()
        if code:
            raise Exit(code=code)
        return results


def is_step(name: str) -> bool:
    try:
        by_name(name)
        return True
    except KeyError:
        return False


class CommandLine:
    """One fab command line, one run: the Session every task of it shares, and a Reporter
    per (mode, json, progress) in the order the tasks asked for them; `end` closes the
    session and prints each summary."""

    current: "CommandLine | None" = None

    def __init__(self, upcoming: list[Step], hosts: str | None = None):
        self.upcoming = upcoming  # the steps the command line names: read ahead together on each host
        self.hosts = hosts  # the -H value as typed (None: no -H)
        self.session: Session | None = None
        self.reporters: dict[tuple, Reporter] = {}
        self.error = False

    @classmethod
    def begin(cls, upcoming: list[Step], hosts: str | None = None) -> "CommandLine":
        cls.current = cls(upcoming, hosts)
        return cls.current

    def run(self, mode: Mode, as_json: bool, body: Body, progress: bool, view: View,
            break_lock: bool = False, task: tuple[str, bool] = ("", False)) -> None:
        """One task of the command line on the shared session; a ConfigError ends the command line (exit 1).
        break_lock (the task's --break-lock) holds for the rest of the command line."""
        reporter = self.reporters.setdefault((mode, as_json, progress), Reporter(mode, as_json, progress=progress))
        reporter.ran(*task)
        try:
            if self.session is None:
                inv = load_inventory()
                self.session = Session(inv, load_secrets(inv.base_dir), mode, command=command_line(),
                                       upcoming=self.upcoming)
            self.session.switch(mode)
            if break_lock:
                self.session.break_locks()
            with view.on(reporter, list(self.session.inv.hosts)):
                body(self.session.inv, self.session, reporter)
        except ConfigError as e:
            reporter.error(str(e))
            self.error = True
            raise Exit(code=1) from None

    def end(self) -> int:
        """Close the run (prune, unlock, disconnect), print every reporter's summary; the command
        line's exit code (1 on any failure, else 2 on drift found by a verify, else 0)."""
        if CommandLine.current is self:
            CommandLine.current = None
        if self.session is not None:
            self.session.close()
        codes = [1] if self.error else []
        several = len(self.reporters) > 1
        for reporter in self.reporters.values():
            if self.session is not None:
                reporter.unreachable = set(self.session.unreachable)
            if several:  # one summary per mode, each labelled
                reporter.prefix = f"{reporter.mode.value}: "
            if reporter.results or reporter.extra or not self.error:
                codes.append(reporter.finish())
        return 1 if 1 in codes else max(codes, default=0)


def command_line() -> str:
    """What the operator typed (the run records it; fab's arguments never hold a secret)."""
    import sys
    return " ".join(["fab", *sys.argv[1:]])


def mode_of(verify: bool, dry_run: bool, as_json: bool = False) -> Mode:
    """patch, verify or dry-run from the two flags (both at once is an error, reported as JSON under --json)."""
    if verify and dry_run:
        Reporter(Mode.PATCH, as_json).error("--verify and --dry-run exclude each other")
        raise Exit(code=1)
    return Mode.VERIFY if verify else Mode.DRY_RUN if dry_run else Mode.PATCH


Body = Callable[[Inventory, Session, Reporter], object]  # what it returns is not used: the reporter has the rows


def run_task(mode: Mode | str, as_json: bool, body: Body, progress: bool = True, view: View = View(),
             break_lock: bool = False, task: tuple[str, bool] = ("", False)) -> None:
    """Run body as a task of the command line's run (see CommandLine); called outside a command line
    (a test calling a task), on a run of its own: load hosts.toml and secrets, one Session, report,
    exit 0/2/1.

    A ConfigError from body (unknown target, bad flag value) is reported before any host runs; break_lock:
    the operator's --break-lock (Session.break_locks); task: (its name, whether it is a command of its own
    that names the JSON document's mode: Reporter.ran)."""
    if CommandLine.current is not None:
        CommandLine.current.run(Mode(mode), as_json, body, progress, view, break_lock, task)
        return
    reporter = Reporter(mode, as_json, progress=progress)
    reporter.ran(*task)
    session = None
    try:
        inv = load_inventory()
        session = Session(inv, load_secrets(inv.base_dir), mode)
        if break_lock:
            session.break_locks()
        with view.on(reporter, list(inv.hosts)):
            body(inv, session, reporter)
    except ConfigError as e:
        reporter.error(str(e))
        raise Exit(code=1) from None
    finally:
        if session is not None:
            session.close()
            reporter.unreachable = set(session.unreachable)
    code = reporter.finish()
    if code:
        raise Exit(code=code)


def cli_hosts() -> str | None:
    """The -H value of the command line being run (None: no -H, or a task called outside a command line)."""
    return CommandLine.current.hosts if CommandLine.current is not None else None


def targets(inv: Inventory, default: list) -> list:
    """The -H hosts, or default; an error when that leaves none."""
    hosts = resolve(inv, cli_hosts(), default)
    if not hosts:
        raise ConfigError("no targets (no host in hosts.toml has the role this runs on; use -H)")
    return hosts


def run_single_step(step: Step, verify: bool, dry_run: bool, as_json: bool, view: View = View(),
                    break_lock: bool = False) -> None:
    """Body of every step task: resolve targets (default: the step's), run the step on them."""
    def body(inv, session, reporter):
        try:
            hosts = targets(inv, step.default_targets(inv))
        except ConfigError as e:
            raise ConfigError(f"{step.name}: {e}" if str(e).startswith("no targets") else str(e)) from None
        results = run_step(step, hosts, session, reporter)
        changed = {r.host for r in results if r.status == Status.CHANGED}
        if session.mode is Mode.PATCH and changed:  # running servers read the new files only at a restart
            reporter.footer += next_after_patch(inv, [h for h in hosts if h.name in changed and h.is_esb], session)

    run_task(mode_of(verify, dry_run, as_json), as_json, body, view=view, break_lock=break_lock,
             task=(step.name, False))


class Task(InvokeTask):
    """An Invoke task whose short flags are first letters only: --verbose and --diff of a step get no
    `-e`/`-i` (Fabric's own -e/-i before the task name mean something else)."""

    def arg_opts(self, name, default, taken_names):
        opts = super().arg_opts(name, default, taken_names)
        opts["names"] = tuple(n for n in opts["names"] if len(n) > 1 or n == name.replace("_", "-")[0])
        return opts


def step_task(step: Step):
    """An Invoke task for one step, with --verify, --dry-run, --json, --verbose and --diff."""

    def body(c, verify=False, dry_run=False, json=False, verbose=False, diff=False, break_lock=False):
        run_single_step(step, verify, dry_run, json, View(verbose, diff), break_lock)

    body.__doc__ = step.help
    body.__name__ = step.name.replace("-", "_")
    return task(name=step.name, help=FLAG_HELP, klass=Task)(body)


def node_task(role: str, name: str, group: str):
    """setup-manager / setup-worker: the node steps in guide order on the targets."""

    def body(c, verify=False, dry_run=False, json=False, verbose=False, diff=False, break_lock=False):
        run_task(mode_of(verify, dry_run, json), json,
                 lambda inv, session, rep: setup_node(role, name, targets(inv, inv.by_role(role)), session, rep),
                 view=View(verbose, diff, brief=True), break_lock=break_lock, task=(name, False))

    mine = [n for n in NODE_STEPS if role in by_name(n).roles]
    body.__doc__ = f"the node steps in guide order ({mine[0]} ... {mine[-1]}) on the {group} (default: -H {group})"
    body.__name__ = name.replace("-", "_")
    return task(name=name, help=FLAG_HELP, klass=Task)(body)


@task(name="setup-cluster", klass=Task,
      help={**FLAG_HELP, "resume": "continue a stopped run from the step where it stopped"})
def setup_cluster_task(c, verify=False, dry_run=False, json=False, resume=False, verbose=False, diff=False,
                       break_lock=False):
    """the whole guide: certificates, databases, SVN repository, the manager, then the workers in parallel"""
    run_task(mode_of(verify, dry_run, json), json,
             lambda inv, session, rep: setup_cluster(inv, cli_hosts(), resume, session, rep),
             view=View(verbose, diff, brief=True), break_lock=break_lock, task=("setup-cluster", False))


@task(name="verify", help={"steps": "comma-separated steps to check (and/or 'cluster'); default: all",
                           "json": FLAG_HELP["json"],
                           "live": "also check from every ESB node: database logins, driver, svn, java, members, lb",
                           "verbose": "every drift item and warning on its own line (default: one line per "
                                      "node and step for warnings, a count per file past 5 items)"})
def verify_task(c, steps="", json=False, live=False, verbose=False):
    """every step on every host (or -H), read-only, plus cluster consistency: one table; exit 0/2/1"""
    def body(inv, session, reporter):
        chosen, with_cluster = select_steps(steps, live)
        verify(inv, targets(inv, list(inv.hosts.values())), chosen, with_cluster, session, reporter, live=live)

    run_task(Mode.VERIFY, json, body, progress=False, view=View(verbose), task=("verify", True))


@task(name="diagram", help={"output": "the picture to write, .svg or .png (default: cluster.svg beside hosts.toml)",
                            **COMMON_HELP})
def diagram_task(c, output="", json=False, verbose=False):
    """the cluster as its files configure it, drawn (Graphviz), drift in red; read-only; exit as verify"""
    def body(inv, session, reporter):
        out = Path(output) if output else inv.base_dir / "cluster.svg"
        check_output(out)
        diagram(inv, targets(inv, list(inv.hosts.values())), session, reporter, out)

    run_task(Mode.VERIFY, json, body, progress=False, view=View(verbose), task=("diagram", True))


@task(name="rollback", help={"dry-run": "show what would be restored (diff); change nothing",
                             **COMMON_HELP,
                             "all": "every file back to its state before the project first touched it (shipped)",
                             "break-lock": FLAG_HELP["break-lock"]})
def rollback_task(c, dry_run=False, json=False, all=False, verbose=False, break_lock=False):
    """restore the files the last patch run changed on the targets (default: all), from its backups"""
    run_task(Mode.DRY_RUN if dry_run else Mode.ROLLBACK, json,
             lambda inv, session, rep: rollback(inv, targets(inv, list(inv.hosts.values())), session, rep,
                                                everything=all), view=View(verbose), break_lock=break_lock,
             task=("rollback", True))


LIFE_HELP = {"dry-run": "say what would be done, in order; change nothing", **COMMON_HELP,
             "break-lock": FLAG_HELP["break-lock"]}


def run_lifecycle(name: str, dry_run: bool, as_json: bool, act, verbose: bool = False, ordered: bool = False,
                  break_lock: bool = False) -> None:
    """A lifecycle task on the ESB targets: act(inv, hosts, session, reporter), patch or dry-run.
    `ordered`: the nodes work in parallel, a row each; their rows print in hosts.toml order."""
    def body(inv, session, rep):
        hosts = esb_targets(inv)
        if ordered:
            rep.rows_in_order([h.name for h in hosts], lambda: act(inv, hosts, session, rep))
        else:
            act(inv, hosts, session, rep)
    run_task(Mode.DRY_RUN if dry_run else Mode.PATCH, as_json, body, view=View(verbose), break_lock=break_lock,
             task=(name, True))


def esb_targets(inv: Inventory) -> list:
    hosts = targets(inv, inv.esb_nodes)
    others = [h.name for h in hosts if not h.is_esb]
    if others:
        raise ConfigError(f"{', '.join(others)}: not an ESB node (manager or worker); the servers run on those")
    return hosts


@task(name="start", help={**LIFE_HELP, "force": "start a node even where verify shows drift in its node steps"})
def start_task(c, dry_run=False, json=False, force=False, verbose=False, break_lock=False):
    """start the stopped nodes with bin/wso2server.sh (manager first, then workers); wait until each is up;
    a node whose files verify shows drifted is refused (fix: setup-worker/-manager), unless --force"""
    from .commands.lifecycle.commands import start
    run_lifecycle("start", dry_run, json,
                  lambda inv, hosts, session, rep: start(inv, hosts, session, rep, force), verbose,
                  ordered=True, break_lock=break_lock)


@task(name="stop", help={**LIFE_HELP, "force": "KILL a server still running after [run].stop_timeout; stop even "
                                                "the last serving worker behind the balancer (the service is down)"})
def stop_task(c, dry_run=False, json=False, force=False, verbose=False, break_lock=False):
    """stop the running nodes (workers first) by TERM through bin/wso2server.sh --stop"""
    from .commands.lifecycle.commands import stop
    run_lifecycle("stop", dry_run, json,
                  lambda inv, hosts, session, rep: stop(inv, hosts, session, rep, force), verbose,
                  ordered=True, break_lock=break_lock)


@task(name="restart", help={**LIFE_HELP, "force": "KILL a server still running after [run].stop_timeout; restart "
                                                   "even the last serving worker (requests fail meanwhile)"})
def restart_task(c, dry_run=False, json=False, force=False, verbose=False, break_lock=False):
    """stop, then start, node by node; each worker out of the balancer meanwhile (never the last serving one)"""
    from .commands.lifecycle.commands import restart
    run_lifecycle("restart", dry_run, json,
                  lambda inv, hosts, session, rep: restart(inv, hosts, session, rep, force), verbose,
                  break_lock=break_lock)


@task(name="status", help=COMMON_HELP)
def status_task(c, json=False, verbose=False):
    """running or stopped, pid and since when, ports, members seen, restart needed; read-only (exit as verify)"""
    from .commands.lifecycle.commands import status

    def body(inv, session, rep):
        hosts = esb_targets(inv)
        rep.rows_in_order([h.name for h in hosts], lambda: status(inv, hosts, session, rep))
    run_task(Mode.VERIFY, json, body, view=View(verbose), task=("status", True))


@task(name="rolling-restart", help={**LIFE_HELP, "needed": "only the nodes whose files changed after they started"})
def rolling_restart_task(c, dry_run=False, json=False, needed=False, verbose=False, break_lock=False):
    """one node at a time, each worker out of the balancer while it restarts; the manager alone; no request lost"""
    from .commands.lifecycle.roll import rolling_restart
    run_lifecycle("rolling-restart", dry_run, json,
                  lambda inv, hosts, session, rep: rolling_restart(inv, hosts, session, rep, needed),
                  verbose, break_lock=break_lock)


@task(name="drain", help={**LIFE_HELP, "undo": "put the workers back into the balancer",
                          "force": "drain even the last serving worker (the service is down)"})
def drain_task(c, dry_run=False, json=False, undo=False, force=False, verbose=False, break_lock=False):
    """take workers out of the balancer (down in every upstream, nginx -t, reload) and wait [run].drain_seconds"""
    from .commands.lifecycle.commands import drain

    def body(inv, session, rep):
        if cli_hosts() is None:
            raise ConfigError("drain takes the workers to drain with -H (e.g. fab -H esb-w3 drain)")
        drain(inv, esb_targets(inv), session, rep, undo, force)

    run_task(Mode.DRY_RUN if dry_run else Mode.PATCH, json, body, view=View(verbose), break_lock=break_lock,
             task=("drain", True))


@task(name="rotate-passwords", help=LIFE_HELP)
def rotate_passwords_task(c, dry_run=False, json=False, verbose=False, break_lock=False):
    """bring a new WSO2_DB_PASSWORD / SVN_PASSWORD (.env) to the running cluster: the database accepts both, node
    files, svn, rolling-restart --needed, then the old database password retired; no request lost"""
    from .commands.lifecycle.rotation import rotate_passwords
    run_task(Mode.DRY_RUN if dry_run else Mode.PATCH, json,
             lambda inv, session, rep: rotate_passwords(inv, session, rep, cli_hosts()), view=View(verbose),
             break_lock=break_lock, task=("rotate-passwords", True))


@task(name="rotate-keystore", help={**LIFE_HELP, "diff": FLAG_HELP["diff"],
                                    "force": "renew the key even when it is not due (one to replace now)"})
def rotate_keystore_task(c, dry_run=False, json=False, force=False, verbose=False, diff=False, break_lock=False):
    """renew node keys that expire within 30 days (--force: now): Secure Vault values re-encrypted, every trust
    store updated; then rolling-restart --needed"""
    from .commands.rollout import next_after_patch
    from .steps.keystore import RotateKeystore
    step = RotateKeystore()
    step.force = force

    def body(inv, session, rep):
        hosts = esb_targets(inv)
        run_step(step, hosts, session, rep)
        if session.mode is Mode.PATCH:
            rep.footer += next_after_patch(inv, inv.esb_nodes, session)

    run_task(Mode.DRY_RUN if dry_run else Mode.PATCH, json, body, view=View(verbose, diff), break_lock=break_lock,
             task=("rotate-keystore", True))


def wait_seconds(inv: Inventory, wait: str | None) -> float:
    """--wait SECONDS, or [run].sync_timeout; a bad value is a ConfigError (nothing touched)."""
    if wait is None:
        return float(inv.run.sync_timeout)
    try:
        value = float(wait)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86400:
        raise ConfigError(f"--wait {wait!r}: seconds, more than 0 and at most 86400")
    return value


def flag_not_file(task: str, value: str) -> None:
    """Invoke gives a task's positional argument the next word, a flag too (`fab deploy --help`)."""
    if value.startswith("-"):
        raise ConfigError(f"{task}: {value!r} is a flag, not {'an archive' if task == 'deploy' else 'a name'}; "
                          f"for help: fab --help {task}")


DEPLOY_HELP = {"dry-run": "check the archive and the manager, say what would be written; change nothing",
               **COMMON_HELP, "break-lock": FLAG_HELP["break-lock"],
               "wait": "seconds to wait for DepSync to carry it to every running node (default [run].sync_timeout)"}


def run_deploy(task: str, what: str, wait: str | None, dry_run: bool, as_json: bool, verbose: bool,
               break_lock: bool) -> None:
    """deploy / undeploy on the manager (commands/deploy.py), then the proof within --wait."""
    from .commands import deploy as commands

    def body(inv, session, rep):
        flag_not_file(task, what)
        seconds = wait_seconds(inv, wait)
        getattr(commands, task)(inv, targets(inv, inv.by_role("manager")), session, rep, what, seconds)

    run_task(Mode.DRY_RUN if dry_run else Mode.PATCH, as_json, body, view=View(verbose), break_lock=break_lock,
             task=(task, True))


@task(name="deploy", positional=["file"], help={**DEPLOY_HELP, "file": "the Carbon application archive (.car)"})
def deploy_task(c, file, wait=None, dry_run=False, json=False, verbose=False, break_lock=False):
    """put a Carbon application (.car) on the manager (atomic, backed up), prove DepSync brought it to every node"""
    run_deploy("deploy", file, wait, dry_run, json, verbose, break_lock)


@task(name="undeploy", positional=["name"],
      help={**DEPLOY_HELP, "name": "the archive's file name in carbonapps, or <name>_<version>"})
def undeploy_task(c, name, wait=None, dry_run=False, json=False, verbose=False, break_lock=False):
    """remove a Carbon application from the manager (backed up), prove DepSync took it off every node"""
    run_deploy("undeploy", name, wait, dry_run, json, verbose, break_lock)


CLUSTER_TASKS = [node_task("manager", "setup-manager", "manager"), node_task("worker", "setup-worker", "workers"),
                 setup_cluster_task, verify_task, diagram_task, rollback_task, deploy_task, undeploy_task]
LIFECYCLE_TASKS = [start_task, stop_task, restart_task, status_task, rolling_restart_task, drain_task,
                   rotate_passwords_task, rotate_keystore_task]
UMBRELLA_TASKS = CLUSTER_TASKS + LIFECYCLE_TASKS

#: how --list groups the tasks (tasks/program.py), each group in the order an operator meets them
TASK_GROUPS = [("Guide steps (fab [-H TARGETS] STEP [--verify | --dry-run] [--json], guide order)",
                [s.name for s in STEPS]),
               ("Cluster commands", [t.name for t in CLUSTER_TASKS]),
               ("Server lifecycle (ESB nodes)", [t.name for t in LIFECYCLE_TASKS])]


def build_collection() -> Collection:
    """The explicit task namespace `fab` shows: a task per step, then the umbrella tasks."""
    ns = Collection()
    for step in STEPS:
        ns.add_task(step_task(step))
    for t in UMBRELLA_TASKS:
        ns.add_task(t)
    return ns
