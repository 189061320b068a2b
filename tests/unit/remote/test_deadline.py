"""The watchdog behind every remote operation's deadline (tasks/remote/deadline.py)."""
from __future__ import annotations

import threading
import time

from tasks.remote.deadline import TICK, Watchdog


def test_an_operation_that_overruns_is_expired_once_with_host_and_what_it_was_doing():
    called = []
    ended = threading.Event()
    w = Watchdog("esb-w1", 0.3, lambda why: (called.append(why), ended.set()))
    with w.doing("reading /opt/x/axis2.xml"):
        assert ended.wait(0.3 + 5 * TICK)
    assert called == ["esb-w1: no answer for 0.3s while reading /opt/x/axis2.xml "
                      "(the host stopped answering; [run].op_timeout)"]
    assert w.expired == called[0]
    time.sleep(2 * TICK)
    assert len(called) == 1
    w.stop()


def test_operations_within_their_deadline_never_expire_and_nested_ones_are_progress():
    called = []
    w = Watchdog("esb-w2", 0.5, called.append)
    with w.doing("writing a big jar", extra=0.0):
        for _ in range(6):  # 1.2 s in all, but each inner step completes well within 0.5 s
            with w.doing("one chunk"):
                time.sleep(0.2)
    time.sleep(3 * TICK)  # nothing running: nothing to expire
    assert called == [] and w.expired is None
    with w.doing("a slow upload", extra=1.0):  # the extra time counts
        time.sleep(1.0)
    assert called == []
    w.stop()
