"""One node's Carbon server started and stopped with the product's own start
script, over the run's connection.

KEYSTORE_PASSWORD reaches Carbon through <product_home>/password-tmp only (mode 0600,
over SFTP, just before the start; Carbon deletes it, and it is removed here whatever
happened): never on a command line, never in a remote command's environment. What the
server is doing is probes/server.py's to say.
"""
from __future__ import annotations

import shlex
import time

from ...rules import PID_FILE, START_SCRIPT
from ...engine.context import StepError
from ...formats import carbonlog as logs
from ...probes.server import ServerProbe, ServerState, last_lines

__all__ = ["NodeServer", "ServerState", "PID_FILE", "PASSWORD_TMP"]

PASSWORD_TMP = "password-tmp"
POLL = 0.4


class NodeServer(ServerProbe):
    """The server of one ESB node: what it shows, and start and stop."""

    def _script(self, arg: str) -> str:
        """The product's start script with `arg`, in the product home, JAVA_HOME set (the script
        checks it before anything, --stop included), as the product home's owner."""
        q = shlex.quote
        env = f"env JAVA_HOME={q(self.host.java_home or '')}"
        return f"cd {q(self.home)} && {self._as_owner(f'{env} ./{START_SCRIPT} {arg}')}"

    def _as_owner(self, command: str) -> str:
        """The command as the product home's owner (sudo -u when the login is root and another user owns it)."""
        st = self.remote.stat(self.home)
        if st is not None and self.host.user == "root" and st.uid != 0:
            return f"sudo -n -u '#{st.uid}' {command}"
        return command

    # ------------------------------------------------------------ start and stop
    def start(self) -> str:
        """Start a stopped node and wait for it: pid alive, ports accepting, the start line logged
        after this start, within [run].start_timeout. A node that does not come up is stopped again
        (nothing half-done) and the error says what it waited for."""
        problems = self.start_problems()
        if problems:
            raise StepError("not started: " + "; ".join(problems))
        vault = self.inv.security.vault
        tmp = self.path(PASSWORD_TMP)
        offset = self.log_size()
        before = self.pid_in_file()  # a pid file left by the last server: its dead pid says nothing of this start
        try:
            if vault:
                password = self.secrets.require("KEYSTORE_PASSWORD")
                left = self.remote.lstat(tmp)
                if left is not None and not left.is_file:  # a write would follow a link a node planted
                    raise StepError(f"{tmp} is not a plain file (a link?); refused: the keystore password "
                                    f"never goes through it")
                if left is not None:
                    self.remote.remove(tmp, backup=False)  # a stale one: the password goes into a new file
                self.remote.write(tmp, password.encode("utf-8"), mode=0o600, backup=False)
            self.remote.run(self._script("--start"))
            return self._wait_up(offset, before)
        finally:
            left = self.remote.lstat(tmp) if vault else None
            if left is not None and left.is_file:
                self.remote.remove(tmp, backup=False)

    def _wait_up(self, offset: int, before: int | None) -> str:
        timeout = self.inv.run.start_timeout
        deadline = time.monotonic() + timeout
        st, text, ports = ServerState(), "", {}
        gone = None  # a new pid seen dead once: dead again at the next look is an exit, not a race
        while time.monotonic() < deadline:
            st = self.state()
            text = self.log_since(offset)
            if st.alive and not st.ours:
                raise StepError(f"the pid in {PID_FILE} is not this node's Carbon ({st.other}); not started")
            if not st.alive and st.pid is not None and st.pid != before and logs.STARTING in text:
                if gone == st.pid:
                    raise StepError(f"the server (pid {st.pid}) exited during its start: {last_lines(text)}")
                gone = st.pid
            else:
                gone = None
            if st.running and logs.started(text):
                ports = self.accepting()
                if all(ports.values()):
                    return f"started, pid {st.pid}"
            time.sleep(POLL)
        waited = []
        if not st.running:
            waited.append(f"a live pid in {PID_FILE}")
        if not logs.started(text):
            waited.append("'WSO2 Carbon started in' in the log")
        if ports and not all(ports.values()):
            waited.append("ports " + ", ".join(str(p) for p, up in ports.items() if not up))
        if st.running:
            self._stop_pid(st, force=True)
        raise StepError(f"did not come up within [run].start_timeout = {timeout} s: waited for "
                        f"{' and '.join(waited) or 'its ports'}; stopped again" + (f" ({last_lines(text)})"
                                                                                   if text else ""))

    def stop(self, force: bool = False) -> str:
        """TERM through the start script; done when the pid is gone within [run].stop_timeout, else
        an error (KILL only with force)."""
        st = self.state()
        self.refuse_foreign(st)
        if not st.running:
            return "not running" + (f" ({st.notes[0]})" if st.notes else "")
        code, out, err = self.remote.run(self._script("--stop"), check=False)
        if code != 0:
            raise StepError(f"{START_SCRIPT} --stop failed (exit {code}): {last_lines(err or out)}")
        return self._stop_pid(st, force)

    def _stop_pid(self, st: ServerState, force: bool) -> str:
        timeout = self.inv.run.stop_timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive(st.pid):
                return f"stopped (pid {st.pid})"
            time.sleep(POLL)
        if not force:
            raise StepError(f"pid {st.pid} still runs {timeout} s after TERM ([run].stop_timeout); "
                            f"`fab stop --force` sends KILL")
        self.remote.run(self._as_owner(f"kill -9 {st.pid}"), check=False)
        for _ in range(25):
            if not self.alive(st.pid):
                return f"killed (pid {st.pid}, still running {timeout} s after TERM)"
            time.sleep(0.2)
        raise StepError(f"pid {st.pid} survived KILL")
