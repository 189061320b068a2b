"""A fork server for the tests' `fab` command lines: the real program, without paying its start-up each time.

Every acceptance test runs `fab` as a user would; most of the CPU a run of the suite spends went into starting
Python and importing Fabric, paramiko, lxml and the project again for each of well over a thousand command lines
(about 0.37 s of CPU each). The zygote is one process per test process that imports all of that once, then, for
each command line, forks a child that becomes that command line: its own working folder, environment, argv,
stdin from /dev/null, stdout and stderr to files, and runs Fabric's `fab` program (`fabric.main.program.run`,
what the `fab` script runs) exactly as the script would, exit code and uncaught traceback included. The child
is a new process of its own (killed on a timeout like a subprocess is), so nothing of one command line reaches
the next, nor the test process.

Lab.fab uses it unless ESB_TEST_EXEC=1 (every command line a fresh `fab` process, as before). Tests that need
the process itself (a pid to signal, a terminal) start `fab` with subprocess as they always did.

Protocol (JSON lines): the client writes {"id", "argv", "env", "cwd", "out", "err"}; the zygote answers
{"id", "pid"} once the child runs, then {"id", "code"} when it has ended (negative: killed by that signal).
"""
from __future__ import annotations

import json
import locale
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ the zygote process
def _child(req: dict) -> None:
    """In the forked child: become the command line and never return."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(req["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(req["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        for fd in (null, out, err):
            os.close(fd)
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        sys.argv = list(req["argv"])
        from fabric.main import program
        try:
            program.run()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if e.code is not None and not isinstance(e.code, int):
                print(e.code, file=sys.stderr)
        except BaseException:  # as the interpreter does with an uncaught exception
            import traceback
            traceback.print_exc()
            code = 1
    finally:
        try:
            import atexit
            atexit._run_exitfuncs()  # what the interpreter runs on its way out
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> None:
    """The zygote's loop: import everything a command line uses, then fork one child per request."""
    import pkgutil
    import importlib
    import fabric.main  # noqa: F401
    import tasks
    for m in pkgutil.walk_packages(tasks.__path__, "tasks."):
        importlib.import_module(m.name)
    # not fabfile: the program loads it in each child, as `fab` does (it adopts the running program there)

    inp, outp = sys.stdin.buffer, sys.stdout.buffer
    running: dict[int, int] = {}  # pid -> request id
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel = selectors.DefaultSelector()
    sel.register(inp, selectors.EVENT_READ, "req")
    sel.register(wake_r, selectors.EVENT_READ, "chld")
    buf = b""

    def answer(msg: dict) -> None:
        outp.write(json.dumps(msg).encode() + b"\n")
        outp.flush()

    while True:
        for key, _ in sel.select():
            if key.data == "req":
                chunk = os.read(inp.fileno(), 65536)
                if not chunk:  # the test process is gone
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    req = json.loads(line)
                    pid = os.fork()
                    if pid == 0:
                        sel.close()
                        _child(req)
                    running[pid] = req["id"]
                    answer({"id": req["id"], "pid": pid})
            else:
                os.read(wake_r, 4096)
            while running:  # reap whatever ended
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                rid = running.pop(pid, None)
                if rid is not None:
                    answer({"id": rid, "code": os.waitstatus_to_exitcode(status)})


# ------------------------------------------------------------------ the client in the test process
class Zygote:
    """The test process's end: starts the zygote on first use, runs command lines (from several threads too)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()
        self.next_id = 0
        self.waiting: dict[int, dict] = {}
        self.cond = threading.Condition(self.lock)
        self.dir = Path(tempfile.mkdtemp(prefix="esb-zygote-"))

    def _start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fabzygote"], cwd=REPO, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env={k: v for k, v in os.environ.items()})
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            msg = json.loads(line)
            with self.cond:
                self.waiting.setdefault(msg["id"], {}).update(msg)
                self.cond.notify_all()
        with self.cond:  # the zygote died: every caller learns it
            for v in self.waiting.values():
                v.setdefault("code", None)
            self.cond.notify_all()

    def run(self, argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
        """`subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)`, forked."""
        with self.cond:
            if self.proc is None or self.proc.poll() is not None:
                self._start()
            self.next_id += 1
            rid = self.next_id
            out, err = self.dir / f"{rid}.out", self.dir / f"{rid}.err"
            self.waiting[rid] = {}
            assert self.proc is not None and self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"id": rid, "argv": argv, "env": env, "cwd": str(cwd),
                                              "out": str(out), "err": str(err)}).encode() + b"\n")
            self.proc.stdin.flush()
            ended = self.cond.wait_for(lambda: "code" in self.waiting[rid], timeout)
            msg = self.waiting.pop(rid) if ended else self.waiting[rid]
        if not ended:
            if "pid" in msg:
                os.kill(msg["pid"], signal.SIGKILL)
            with self.cond:
                self.cond.wait_for(lambda: "code" in self.waiting[rid], 10)
                self.waiting.pop(rid, None)
            raise subprocess.TimeoutExpired(argv, timeout, output=_read(out), stderr=_read(err))
        if msg.get("code") is None:
            raise RuntimeError(f"the fab zygote died running {argv}")
        result = subprocess.CompletedProcess(argv, msg["code"], _read(out), _read(err))
        out.unlink(missing_ok=True)
        err.unlink(missing_ok=True)
        return result


def _read(p: Path) -> str:
    """What subprocess.run(text=True) makes of a stream: the locale's encoding, universal newlines."""
    try:
        with p.open(encoding=locale.getpreferredencoding(False), newline=None) as f:
            return f.read()
    except FileNotFoundError:
        return ""


_ZYGOTE: Zygote | None = None


def zygote() -> Zygote:
    """This test process's zygote."""
    global _ZYGOTE
    if _ZYGOTE is None:
        _ZYGOTE = Zygote()
    return _ZYGOTE


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    serve()
