"""One node's Carbon server started and stopped with the product's own start
script, over the run's connection.

KEYSTORE_PASSWORD reaches Carbon through <product_home>/password-tmp only (mode 0600,
over SFTP, just before the start; Carbon deletes it, and it is removed here whatever
happened): never on a command line, never in a remote command's environment. It is created
under a fresh random name, exclusively, and renamed into place: a link planted at password-tmp
is replaced, never written through. A leftover (a start killed half-way) is removed before
anything else, whatever [security].vault says.

Each successful start writes the node's start record (probes/startrecord.py: the pid and the
sha256 of every managed file as the server started with them, taken just before the start
script runs); a stop marks it stopped. What the server is doing is probes/server.py's to say.
"""
from __future__ import annotations

import shlex
import time

from ...rules import PASSWORD_TMP, PID_FILE, START_SCRIPT, node_state_dir
from ...engine.context import StepError
from ...formats import carbonlog as logs
from ...probes.restart import managed_files
from ...steps import STEPS
from ...probes.server import LogFollower, ServerProbe, ServerState, last_lines
from ...probes.startrecord import StartRecord, digests, read_record, record_path

__all__ = ["NodeServer", "ServerState", "PID_FILE", "PASSWORD_TMP"]

#: seconds between two looks at a starting or stopping server (each look: one command, the log's new bytes)
POLL = 0.2


class NodeServer(ServerProbe):
    """The server of one ESB node: what it shows, and start and stop."""

    _uid: int | None = None  # the login user's uid (id -u, once), -1 when it cannot be told

    def _script(self, arg: str, check: bool = True) -> tuple[int, str, str]:
        """Run the product's start script with `arg`, in the product home, JAVA_HOME set (the script
        checks it before anything, --stop included), as the product home's owner."""
        q = shlex.quote
        env = f"env JAVA_HOME={q(self.host.java_home or '')}"
        return self._as_owner(f"cd {q(self.home)} && {env} ./{START_SCRIPT} {arg}", check)

    def _login_uid(self) -> int | None:
        if self._uid is None:
            out = self.remote.run("id -u", check=False)[1].strip()
            self._uid = int(out) if out.isdigit() else -1
        return None if self._uid < 0 else self._uid

    def _owner_prefix(self) -> tuple[str, bool]:
        """How a command runs as the product home's owner: (prefix, through the host's sudo). As the login
        where it owns the home; `sudo -n -u '#uid'` where the login is root; the host's sudo (sudo = true)
        with `-u '#uid'` otherwise; else refused, naming both users (the server must not run as a user its
        files do not belong to)."""
        st = self.remote.stat(self.home)
        me = self._login_uid()
        if st is None or me is None or st.uid == me:
            return "", False
        if me == 0:
            return f"sudo -n -u '#{st.uid}' ", False
        if self.remote.can_sudo:
            return f"-u '#{st.uid}' ", True
        raise StepError(f"{self.home} belongs to uid {st.uid}, not to the login user {self.host.user} (uid {me}): "
                        f"the server runs as the product home's owner; log in as that user, or set sudo = true")

    def _as_owner(self, command: str, check: bool = True) -> tuple[int, str, str]:
        """Run a shell command as the product home's owner (_owner_prefix)."""
        prefix, sudo = self._owner_prefix()
        return self.remote.run(f"{prefix}sh -c {shlex.quote(command)}", sudo=sudo, check=check)

    # ------------------------------------------------------------ start and stop
    def start(self) -> str:
        """Start a stopped node and wait for it: pid alive, ports accepting, the start line logged
        after this start, within [run].start_timeout. A node that does not come up is stopped again
        (TERM through the start script, KILL after [run].stop_timeout: nothing half-done) and the error
        says what it waited for."""
        problems = self.start_problems()
        self._owner_prefix()  # a login that cannot act as the owner is refused before anything is written
        if problems:
            raise StepError("not started: " + "; ".join(problems))
        vault = self.inv.security.vault
        tmp = self.path(PASSWORD_TMP)
        log = self.follow_log()  # what this start logs, across a rotation of the log meanwhile
        before = self.pid_in_file()  # a pid file left by the last server: its dead pid says nothing of this start
        try:
            self._clear_password_tmp(refuse_link=vault)  # a leftover of a start killed half-way goes first
            if vault:
                password = self.secrets.require("KEYSTORE_PASSWORD")
                self.remote.place(tmp, password.encode("utf-8"), 0o600, like=self.remote.stat(self.home))
            files = digests(self.remote, managed_files(self.host, self.inv, STEPS))  # what the server starts with
            self._script("--start")
            message = self._wait_up(log, before)
        finally:
            left = self.remote.lstat(tmp)
            if left is not None and left.is_file:
                self.remote.remove(tmp, backup=False)
        self.record(StartRecord(self.pid_in_file() or 0, files, time=int(time.time())))
        return message

    def _clear_password_tmp(self, refuse_link: bool) -> None:
        """Remove a leftover password-tmp (a plain file); one that is not a plain file (a link a node
        planted) is refused where the keystore password would go through it, else left for status
        to report."""
        tmp = self.path(PASSWORD_TMP)
        left = self.remote.lstat(tmp)
        if left is not None and not left.is_file:
            if refuse_link:
                raise StepError(f"{tmp} is not a plain file (a link?); refused: the keystore password "
                                f"never goes through it")
            return
        if left is not None:
            self.remote.remove(tmp, backup=False)

    def record(self, rec: StartRecord) -> None:
        """Write the node's start record (its state folder, mode 0600, a fresh file renamed into place)."""
        self.remote.mkdir_p(node_state_dir(self.host), 0o700)
        self.remote.place(record_path(self.host), rec.to_bytes(), 0o600)

    def mark_stopped(self, pid: int | None) -> None:
        """The start record says stopped (by fab): the node is not expected to run."""
        rec = read_record(self.remote, self.host)
        if rec is None or not rec.stopped:
            self.record(StartRecord(pid or (rec.pid if rec else 0), rec.files if rec else {}, stopped=True,
                                    time=int(time.time())))

    def _wait_up(self, log: LogFollower, before: int | None) -> str:
        timeout = self.inv.run.start_timeout
        deadline = time.monotonic() + timeout
        st, text, ports = ServerState(), "", {}
        gone = None  # a new pid seen dead once: dead again at the next look is an exit, not a race
        while time.monotonic() < deadline:
            st = self.state()
            text = log.text()
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
        if st.running:  # TERM through the start script first (Carbon's shutdown hook), KILL only after stop_timeout
            self._script("--stop", check=False)
            self._stop_pid(st, force=True)
        raise StepError(f"did not come up within [run].start_timeout = {timeout} s: waited for "
                        f"{' and '.join(waited) or 'its ports'}; stopped again" + (f" ({last_lines(text)})"
                                                                                   if text else ""))

    def stop(self, force: bool = False, mark: bool = True) -> str:
        """TERM through the start script; done when the pid is gone within [run].stop_timeout, else
        an error (KILL only with force). The start record is marked stopped (the node is not expected
        to run), unless `mark` is False: the stop half of a restart, after which it should run again."""
        st = self.state()
        self.refuse_foreign(st)
        if not st.running:
            if mark:
                self.mark_stopped(st.pid)
            return "not running" + (f" ({st.notes[0]})" if st.notes else "")
        code, out, err = self._script("--stop", check=False)
        if code != 0:
            raise StepError(f"{START_SCRIPT} --stop failed (exit {code}): {last_lines(err or out)}")
        message = self._stop_pid(st, force)
        if mark:
            self.mark_stopped(st.pid)
        return message

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
        self._as_owner(f"kill -9 {int(st.pid or 0)}", check=False)
        for _ in range(25):
            if not self.alive(st.pid):
                return f"killed (pid {st.pid}, still running {timeout} s after TERM)"
            time.sleep(0.2)
        raise StepError(f"pid {st.pid} survived KILL")
