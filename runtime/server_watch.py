"""Notice when the Prefect server a command talks to stops answering (and answers again), say
so once on the console, and end the command with what was written and what was not recorded.

A command's work does not need the server: caches, frames, models and reports are files; the
server records the runs. So when it goes away (killed, out of memory, its machine rebooted)
the command carries on without it (runtime/prefect_offline.py keeps Prefect's client from
waiting on it) and this module tells the user, in a few lines, instead of minutes of retries
and event payloads:

    aural: the Prefect server at http://127.0.0.1:4200 stopped answering at 01:14:26; the work
        continues, its runs will not be recorded
    ... the command's own output (progress, summary table) ...
    aural analyze: the work is done and written (frames and manifest in data/cache), but the
        Prefect server at ... stopped answering at 01:14:26: 2 flow runs and 23 task runs of
        this command are not recorded; start it again with `aural server start` ...

and the command exits with ``EXIT_NOT_RECORDED`` (3) instead of 0.

``ServerWatch`` probes the server's ``/health`` once a second from a thread of its own: a
refused connection counts at once, any other failure (a timeout, an error status) once it
happens twice in a row, so a server slowed by a busy machine is not given up on. Worker
processes (the process-pool runner) use the same class without the thread: they probe when a
request of theirs fails, and again (at most twice a second) while the server is gone.
"""

from __future__ import annotations

import contextlib
import contextvars
import http.client
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime

# The work succeeded but the server did not record all of it (documented in the CLI's help and
# README "Failure behaviour"); 1 (some files failed) and 2 (an error) take precedence.
EXIT_NOT_RECORDED = 3
PROBE_INTERVAL_S = 1.0
PROBE_TIMEOUT_S = 5.0
FAILURES_TO_GIVE_UP = 2  # probes in a row that time out or answer an error
RESTART = "start it again and re-run the command to record them (the cached work is reused)"


@dataclass
class Outage:
    """A period in which the server did not answer; ``end`` is None while it lasts."""

    start: datetime
    end: datetime | None = None


@dataclass
class NotRecorded:
    """What the server has not got (runtime/prefect_offline.py counts it, and takes back what
    it sends again once the server answers)."""

    flow_runs: set = field(default_factory=set)
    task_runs: set = field(default_factory=set)
    logs: int = 0

    def __bool__(self) -> bool:
        return bool(self.flow_runs or self.task_runs or self.logs)

    def describe(self) -> str:
        parts = [_count(len(self.flow_runs), "flow run"), _count(len(self.task_runs), "task run"),
                 _count(self.logs, "log line")]
        parts = [p for p in parts if p]
        return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}" if n else ""


def probe(api_url: str, timeout: float = PROBE_TIMEOUT_S) -> tuple[bool, bool]:
    """(answers, certainly gone): ``/health`` of ``api_url`` (it needs no auth). A refused or
    reset connection means no server listens any more; a timeout or an error status may pass."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200, False
    except urllib.error.HTTPError:
        return False, False
    except urllib.error.URLError as exc:
        return False, isinstance(exc.reason, ConnectionRefusedError | ConnectionResetError)
    except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
        return False, True
    except (TimeoutError, OSError, http.client.HTTPException):
        return False, False


class ServerWatch:
    """Whether the Prefect API at ``api_url`` answers, with the outages seen so far.

    ``say`` receives the one line to show when the server stops answering and when it answers
    again (the CLI prints it on stderr); ``on_answer`` callbacks run (in the watch's thread)
    when it answers again after an outage. ``restart`` ends the last line: how to bring the
    server back. ``start()`` runs the probing thread; without it, ``check_now`` probes when a
    caller saw a failure.
    """

    def __init__(self, api_url: str, *, say=None, restart: str = "", interval: float = PROBE_INTERVAL_S,
                 timeout: float = PROBE_TIMEOUT_S):
        self.api_url = api_url.rstrip("/")
        self.say = say or (lambda line: None)
        self.restart = restart
        self.interval, self.timeout = interval, timeout
        self.outages: list[Outage] = []
        self.not_recorded = NotRecorded()
        self.on_answer: list = []
        self._failures = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_probe = 0.0

    @property
    def server_url(self) -> str:
        return self.api_url.removesuffix("/api")

    @property
    def lost(self) -> bool:
        """Whether the server is taken as gone right now."""
        return bool(self.outages) and self.outages[-1].end is None

    @property
    def ever_lost(self) -> bool:
        return bool(self.outages)

    def covers(self, url) -> bool:
        """Whether a request to ``url`` goes to this server."""
        return str(url).startswith(self.api_url)

    def start(self) -> ServerWatch:
        # In a copy of the caller's context: Prefect's settings there name the command's server
        # (a bare thread would see those read at import, and the events worker it may start
        # on an ``on_answer`` callback would start a temporary server of its own).
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._run,), name="aural-server-watch",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 1)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check_now()

    def still_lost(self) -> bool:
        """Whether the server is gone, probing again first when it was (rate-limited): a process
        without the watch thread finds out this way that it answers again."""
        return self.lost and self.check_now()

    def check_now(self) -> bool:
        """Probe the server now (at most once per half interval); returns ``lost``."""
        with self._lock:
            if time.monotonic() - self._last_probe < self.interval / 2:
                return self.lost
            self._last_probe = time.monotonic()
        answers, gone = probe(self.api_url, self.timeout)
        with self._lock:
            back = answers and self.lost
            if answers:
                self._failures = 0
                if back:
                    self.outages[-1].end = datetime.now()
                    self.say(f"aural: the Prefect server at {self.server_url} answers again "
                             f"({self.outages[-1].end:%H:%M:%S}); the runs from here on are recorded")
            else:
                self._failures += 1
                if not self.lost and (gone or self._failures >= FAILURES_TO_GIVE_UP):
                    self.outages.append(Outage(datetime.now()))
                    self.say(f"aural: the Prefect server at {self.server_url} stopped answering at "
                             f"{self.outages[-1].start:%H:%M:%S}; the work continues, its runs will not be recorded")
            lost = self.lost
        if back:
            for callback in self.on_answer:
                callback()
        return lost

    def _when(self) -> str:
        spans = [f"from {o.start:%H:%M:%S} to {o.end:%H:%M:%S}" for o in self.outages if o.end]
        if self.lost:
            spans.append(f"since {self.outages[-1].start:%H:%M:%S}")
        return ", ".join(spans)

    def report(self, command: str, written: str) -> str | None:
        """The command's last line when its server went away at some point, else None."""
        if not self.ever_lost:
            return None
        head = f"aural {command}: the work is done and written ({written}), but the Prefect server at " \
               f"{self.server_url} did not answer {self._when()}"
        if not self.not_recorded:
            return f"{head}; it has every run of this command all the same"
        missing = f"{head}: {self.not_recorded.describe()} of this command are not recorded"
        if self.lost:
            return f"{missing}; {self.restart or RESTART}"
        return f"{missing}; it recorded the rest when it answered again"


_current: ServerWatch | None = None
_finished: ServerWatch | None = None


def _to_stderr(line: str) -> None:
    """One line on stderr, whichever thread says it: not through ``print``, which a flow with
    ``log_prints`` turns into a log record for the run's logs (off the console)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def current() -> ServerWatch | None:
    """The watch of the running command (None outside one)."""
    return _current


@contextlib.contextmanager
def watching(api_url: str, *, restart: str = ""):
    """Watch ``api_url`` for the ``with`` block; the one-line notices go to stderr."""
    global _current, _finished
    watch = ServerWatch(api_url, restart=restart, say=_to_stderr)
    previous, _current = _current, watch.start()
    try:
        yield watch
    finally:
        watch.stop()
        _current, _finished = previous, watch


def watch_quietly(api_url: str) -> ServerWatch:
    """A watch for the rest of this process that probes only when a request fails and says
    nothing (a worker process: its command speaks for it)."""
    global _current
    _current = ServerWatch(api_url)
    return _current


def command_end(status: int, name: str, written: str) -> int:
    """The exit status of the command ``name`` whose work returned ``status``:
    ``EXIT_NOT_RECORDED`` when it succeeded but its server missed some of it, after a last line
    saying what was written (``written``: where its outputs are, in words), what was not
    recorded and how to restart the server."""
    global _finished
    watch, _finished = _finished, None
    line = watch.report(name, written) if watch is not None else None
    if line is None:
        return status
    _to_stderr(line)
    return EXIT_NOT_RECORDED if status == 0 and watch.not_recorded else status
