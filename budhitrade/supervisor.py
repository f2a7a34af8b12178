"""A process supervisor for `manage.py serve`: honcho's, but a process that exits is started again.

honcho's Manager stops every process as soon as one exits, which is right
for a Procfile in development and wrong for a product: beat exiting on a
Redis hiccup would take web and worker down with it. honcho has no restart
option, so this manager keeps honcho's processes, output and signal handling
and changes one rule: a process that exits (while the supervisor is not
stopping) is started again after a backoff that doubles from
RESTART_MIN_SECONDS to RESTART_MAX_SECONDS and starts over once the process
has stayed up for STABLE_SECONDS. Ctrl-C, SIGTERM, SIGHUP (the terminal
closed, or the runner passing one on) or SIGQUIT stops all of them: honcho
starts each process in a group of its own, out of reach of the terminal, so
the supervisor must not die of a signal and leave them running.

A process can be given file descriptors to inherit (`pass_fds`): the web
processes share one listening socket that `serve` binds, so a web process
started again takes up the same socket and no connection is refused meanwhile.
"""

from __future__ import annotations

import datetime
import functools
import multiprocessing
import queue
import signal
import threading
import time

from honcho.manager import KILL_WAIT, Manager
from honcho.process import Popen

RESTART_MIN_SECONDS = 1.0
RESTART_MAX_SECONDS = 30.0
STABLE_SECONDS = 60.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _ignore(signum, frame) -> None:
    pass


def _run_wrapper(process, events) -> None:
    """honcho's wrapper of one command, which outlives every stop signal to report its command's exit.

    honcho ignores SIGINT and SIGTERM there; SIGHUP and SIGQUIT, sent to the supervisor's group, are caught
    and dropped (a handler, not SIG_IGN, which the command would inherit), so they stop nothing but through
    the supervisor.
    """
    for signum in STOP_SIGNALS:
        signal.signal(signum, _ignore)
    process.run(events, True)


class RestartingManager(Manager):
    """honcho's Manager, restarting a process that exits instead of stopping the others."""

    def __init__(self, *args, restart_min: float = RESTART_MIN_SECONDS, restart_max: float = RESTART_MAX_SECONDS,
                 stable_seconds: float = STABLE_SECONDS, **kwargs):
        super().__init__(*args, **kwargs)
        self.restart_min, self.restart_max, self.stable_seconds = restart_min, restart_max, stable_seconds
        self.starts: dict[str, int] = {}
        self._started_at: dict[str, float] = {}
        self._backoff: dict[str, float] = {}
        self._restart_at: dict[str, float] = {}
        self._stop_requested = threading.Event()
        self._signalled: int | None = None  # the last stop signal, set by the handler and read by the loop

    def add_process(self, name, cmd, quiet=False, env=None, cwd=None, pass_fds=()):
        """honcho's add_process; `pass_fds` stay open in the command (honcho closes every other descriptor)."""
        proc = super().add_process(name, cmd, quiet=quiet, env=env, cwd=cwd)
        if pass_fds:
            proc._child_ctor = functools.partial(Popen, pass_fds=tuple(pass_fds))
        self.starts[name] = 0
        self._backoff[name] = self.restart_min
        return proc

    def stop(self) -> None:
        """Stop every process and return from `loop` (safe from another thread)."""
        self._stop_requested.set()

    def running(self, name: str) -> bool:
        """True while the named process is up (started and not yet exited)."""
        entry = self._processes[name]
        # honcho's wrapper process waits for the command, so once it has ended the command has too,
        # even where its "stop" message has not been read yet.
        process = entry.get("process")
        return (entry.get("pid") is not None and entry.get("returncode") is None
                and process is not None and process.is_alive())

    def _start_one(self, name: str) -> None:
        entry = self._processes[name]
        entry.pop("pid", None)
        entry.pop("returncode", None)
        entry["process"] = multiprocessing.Process(name=name, target=_run_wrapper,
                                                    args=(entry["obj"], self.events))
        entry["process"].start()
        self.starts[name] += 1
        self._started_at[name] = time.monotonic()

    def _start(self):
        for name in self._processes:
            self._start_one(name)

    def _exited(self, name: str, returncode) -> None:
        entry = self._processes[name]
        entry["returncode"] = returncode
        entry["process"].join(timeout=1)
        if self._terminating:
            self._system_print(f"{name} stopped (rc={returncode})\n")
            return
        if time.monotonic() - self._started_at.get(name, 0.0) >= self.stable_seconds:
            self._backoff[name] = self.restart_min  # it had been up a while: this is a new failure
        delay = self._backoff[name]
        self._backoff[name] = min(self.restart_max, delay * 2)
        self._restart_at[name] = time.monotonic() + delay
        self._system_print(f"{name} exited (rc={returncode}); restarting in {delay:g} s\n")

    def loop(self):
        """Start every process, relay their output, restart any that exits, until a signal or `stop()`."""
        def _terminate(signum, frame):
            # One assignment and nothing else: signals come in bursts (the terminal's and the runner's Ctrl-C, a
            # group's SIGTERM), and a handler that takes a lock (Event.set's) or writes (the printer's) hangs when
            # the next one lands while it holds it. The loop, which wakes every 0.1 s, does the rest.
            self._signalled = signum

        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                signal.signal(signum, _terminate)

        self._start()
        stopping_since = None
        while True:
            try:
                msg = self.events.get(timeout=0.1)
            except queue.Empty:
                msg = None
            if msg is not None:
                if msg.type == "line":
                    self._printer.write(msg)
                elif msg.type == "start":
                    self._processes[msg.name]["pid"] = msg.data["pid"]
                    self._system_print("%s started (pid=%s)\n" % (msg.name, msg.data["pid"]))
                    if self._terminating:  # it was starting when the stop came
                        self._procmgr.terminate(msg.data["pid"])
                elif msg.type == "stop":
                    self._exited(msg.name, msg.data["returncode"])

            if self._signalled is not None and self.returncode is None:
                self._system_print("%s received\n" % signal.Signals(self._signalled).name)
                self.returncode = 128 + self._signalled  # honcho's, and the shell's, code for death by that signal
                self._stop_requested.set()
            if self._stop_requested.is_set() and not self._terminating:
                stopping_since = datetime.datetime.now()
                self._restart_at.clear()
                self.terminate()
            if self._terminating:
                if self._all_stopped_or_unstarted():
                    break
                if datetime.datetime.now() - stopping_since > datetime.timedelta(seconds=KILL_WAIT):
                    self.kill()
                continue

            now = time.monotonic()
            for name, due in list(self._restart_at.items()):
                if now >= due:
                    del self._restart_at[name]
                    self._start_one(name)
        self._drain_stops()
        if self.returncode is None:
            self.returncode = 0

    def _drain_stops(self) -> None:
        """Record the exits whose messages were still queued when the last process ended."""
        while True:
            try:
                msg = self.events.get(timeout=0.2)
            except queue.Empty:
                return
            if msg.type == "line":
                self._printer.write(msg)
            elif msg.type == "stop":
                self._exited(msg.name, msg.data["returncode"])

    def _all_stopped_or_unstarted(self) -> bool:
        """Every process has exited (one that was waiting for its restart counts as exited)."""
        return all(entry.get("returncode") is not None or not entry["process"].is_alive()
                   for entry in self._processes.values())

    def _killall(self, force=False):
        for name, entry in self._processes.items():
            if entry.get("returncode") is None and entry.get("pid") is not None:
                self._system_print("sending %s to %s (pid %s)\n" % ("SIGKILL" if force else "SIGTERM", name,
                                                                    entry["pid"]))
                (self._procmgr.kill if force else self._procmgr.terminate)(entry["pid"])
