# Over 350 lines: one set of hooks into Prefect's client, installed and removed together over shared state.
"""Keep a command's flows running when its Prefect server stops answering, and quick about it.

Prefect's client assumes the server stays: a request to a dead server is retried five times
over about a minute, each event is retried eleven times over about seven seconds, and a flow
whose final state cannot be sent raises and loses its result. A command whose server died 25 s
into a 30 s analysis hung for minutes and ended in an error, its work done.

``carry_on_without(api_url)`` watches the server (runtime/server_watch.py) and hooks Prefect's
client for the requests to it (outside a watched command every hook passes through):

- **fail fast**: once the server is taken as gone (the watch's probe, or a request failing and
  a probe confirming it), a request raises ``ServerUnreachable`` at once: no retries, no
  back-off sleeps, no websocket reconnection rounds;
- **keep the runs going**: the calls the flow engine cannot do without (create a flow run or a
  subflow's task run, read it back, set its state, name it, create an artifact) are answered
  here, in memory, as the server would accept them (runtime/offline_runs.py). A run created so
  is *offline* and stays so, with every run inside it, even once the server answers again;
- **drop or keep, never print**: events and log lines sent while the server is gone are not
  queued for retries. The last state of each task run of a run the server knows is kept and
  sent again when it answers; so is the last state of each such flow run, at the command's
  end. The rest (offline runs, log lines) is counted in ``ServerWatch.not_recorded``, which
  the command's last line reports;
- **bounded drain**: at the end, Prefect's log and event queues get at most 5 s and 30 s to
  empty (instantly while the server is gone, as every item is dropped at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

import httpx

from .offline_runs import OFFLINE, ServerUnreachable, missing
from .server_watch import current, watch_quietly, watching

logger = logging.getLogger("prefect.aural.offline")  # a Prefect logger: shown with --debug only

# What a request to a server that went away raises (the kernel refuses or resets, the response
# never comes); Prefect retries each of them.
_TRANSPORT_FAILURES = (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError,
                       httpx.ConnectTimeout, httpx.PoolTimeout)
LOG_DRAIN_S, EVENT_DRAIN_S = 5.0, 30.0

class _Unrecordable(Exception):
    """An event about an offline run: the server must not get it."""


def _unreachable(url) -> ServerUnreachable:
    return ServerUnreachable(f"the Prefect server at {current().server_url} does not answer ({url})")


async def _still_lost(watch) -> bool:
    return watch.lost and await asyncio.to_thread(watch.still_lost)


# -- the HTTP gate -------------------------------------------------------------------------------

def _gate_sync(original):
    @functools.wraps(original)
    def send_with_retry(self, request, send, send_args, send_kwargs, retry_codes=frozenset(),
                        retry_exceptions=()):
        watch = current()
        if watch is None or not watch.covers(request.url):
            return original(self, request, send, send_args, send_kwargs, retry_codes, retry_exceptions)

        def send_once(req, *args, **kwargs):
            if watch.still_lost():
                raise _unreachable(req.url)
            try:
                return send(req, *args, **kwargs)
            except _TRANSPORT_FAILURES as exc:
                if watch.check_now():
                    raise _unreachable(req.url) from exc
                raise

        return original(self, request, send_once, send_args, send_kwargs, retry_codes, retry_exceptions)

    return send_with_retry


def _gate_async(original):
    @functools.wraps(original)
    async def send_with_retry(self, request, send, send_args, send_kwargs, retry_codes=frozenset(),
                              retry_exceptions=()):
        watch = current()
        if watch is None or not watch.covers(request.url):
            return await original(self, request, send, send_args, send_kwargs, retry_codes, retry_exceptions)

        async def send_once(req, *args, **kwargs):
            if await _still_lost(watch):
                raise _unreachable(req.url)
            try:
                return await send(req, *args, **kwargs)
            except _TRANSPORT_FAILURES as exc:
                if await asyncio.to_thread(watch.check_now):
                    raise _unreachable(req.url) from exc
                raise

        return await original(self, request, send_once, send_args, send_kwargs, retry_codes, retry_exceptions)

    return send_with_retry


# -- the flow engine's calls, answered offline ---------------------------------------------------

def _offline_first(original, local, *, stays_local, after=None):
    """``original`` (a client method), answered by ``local`` when the server is gone, when the
    call concerns an offline run (``stays_local``) or when the server goes away during it;
    ``after(result, *args, **kwargs)`` sees what the server answered."""

    def answer_locally(self, args, kwargs) -> bool:
        watch = current()
        if watch is None or not watch.covers(self._client.base_url):
            return False
        return stays_local(*args, **kwargs) or watch.still_lost()

    if asyncio.iscoroutinefunction(original):
        @functools.wraps(original)
        async def method(self, *args, **kwargs):
            if answer_locally(self, args, kwargs):
                return local(*args, **kwargs)
            try:
                result = await original(self, *args, **kwargs)
            except ServerUnreachable:
                return local(*args, **kwargs)
            if after is not None and current() is not None:
                after(result, *args, **kwargs)
            return result
    else:
        @functools.wraps(original)
        def method(self, *args, **kwargs):
            if answer_locally(self, args, kwargs):
                return local(*args, **kwargs)
            try:
                result = original(self, *args, **kwargs)
            except ServerUnreachable:
                return local(*args, **kwargs)
            if after is not None and current() is not None:
                after(result, *args, **kwargs)
            return result
    return method


def _arg(args, kwargs, name, position=0):
    return kwargs[name] if name in kwargs else (args[position] if len(args) > position else None)


def _about_offline_run(*args, **kwargs) -> bool:
    return OFFLINE.is_offline(_arg(args, kwargs, "flow_run_id"))


def _engine_methods() -> dict[str, tuple]:
    """Client method -> (local answer, when to answer locally, what to note of the server's answer)."""
    def remember(run, *args, **kwargs):
        OFFLINE.remember(run)

    def state_sent(result, *args, **kwargs):
        OFFLINE.state_sent(_arg(args, kwargs, "flow_run_id"))

    def subflow_of_offline_run(*args, **kwargs):
        return OFFLINE.is_offline(kwargs.get("parent_task_run_id"))

    def task_of_offline_run(*args, **kwargs):
        return OFFLINE.is_offline(_arg(args, kwargs, "flow_run_id", 1))

    def artifact_of_offline_run(*args, **kwargs):
        artifact = _arg(args, kwargs, "artifact")
        return OFFLINE.touches([getattr(artifact, "flow_run_id", None), getattr(artifact, "task_run_id", None)])

    def subflows_of_offline_parent(*args, **kwargs):
        parent = getattr(kwargs.get("flow_run_filter"), "parent_task_run_id", None)
        return bool(parent and parent.any_ and OFFLINE.touches(parent.any_))

    no_content = lambda *a, **k: httpx.Response(204)  # noqa: E731
    return {
        "create_flow_run": (OFFLINE.flow_run, subflow_of_offline_run, remember),
        "read_flow_run": (OFFLINE.read_flow_run, _about_offline_run, remember),
        "read_flow_runs": (lambda *a, **k: [], subflows_of_offline_parent, None),
        "set_flow_run_state": (OFFLINE.set_state, _about_offline_run, state_sent),
        "update_flow_run": (no_content, _about_offline_run, None),
        "set_flow_run_name": (no_content, _about_offline_run, None),
        "update_flow_run_labels": (lambda *a, **k: None, _about_offline_run, None),
        "create_task_run": (OFFLINE.task_run, task_of_offline_run, None),
        "create_artifact": (OFFLINE.artifact, artifact_of_offline_run, None),
    }


# -- events and logs: dropped or kept, never printed ---------------------------------------------

def _run_ids(event) -> list[str]:
    """The flow-run and task-run ids an event is about (resource, related, task run payload)."""
    ids = []
    for resource in [event.resource, *event.related]:
        for kind in ("prefect.flow-run.", "prefect.task-run."):
            if resource.id.startswith(kind):
                ids.append(resource.id.removeprefix(kind))
    task_run = event.payload.get("task_run") if isinstance(event.payload, dict) else None
    if isinstance(task_run, dict) and task_run.get("flow_run_id"):
        ids.append(task_run["flow_run_id"])
    return ids


def _task_run_of(event) -> str | None:
    rid = event.resource.id
    return rid.removeprefix("prefect.task-run.") if rid.startswith("prefect.task-run.") else None


def _drop_event(event, reason: str) -> None:
    missing(task_run=_task_run_of(event))
    logger.debug("event %s (%s) not sent: %s", event.event, event.id, reason)  # never its payload


def _events_handle(original):
    @functools.wraps(original)
    async def _handle(self, event):
        from prefect.events.clients import PrefectEventsClient

        watch = current()
        if watch is None:
            return await original(self, event)
        # A worker process forwards its events to its command, which decides what to send.
        to_server = issubclass(self.client_type, PrefectEventsClient)
        lost = to_server and await _still_lost(watch)
        if lost or (to_server and OFFLINE.touches(_run_ids(event))):
            self._context_cache.pop(event.id, None)  # what the original would have consumed
            if lost and OFFLINE.keep_event(event):
                missing(task_run=_task_run_of(event))
            else:
                _drop_event(event, "the server does not answer" if lost else "its run is not on the server")
            return None
        try:
            await original(self, event)
        except Exception as exc:  # noqa: BLE001 - Prefect would log the whole event on the console
            _drop_event(event, f"{type(exc).__name__}: {exc}")
            return None
        if to_server and _task_run_of(event):  # its newest state is on the server
            missing(task_run=_task_run_of(event), taken_back=True)
        return None

    return _handle


def _events_related(original):
    @functools.wraps(original)
    async def attach(self, event):
        await original(self, event)
        if current() is not None and OFFLINE.touches(_run_ids(event)):
            raise _Unrecordable(event.event)

    return attach


def _events_reconnect(original):
    @functools.wraps(original)
    async def _reconnect(self):
        watch = current()
        if watch is None or not watch.covers(self._api_url):
            return await original(self)
        if await _still_lost(watch):
            raise _unreachable(self._events_socket_url)
        try:
            return await original(self)
        except Exception as exc:
            if await asyncio.to_thread(watch.check_now):
                raise _unreachable(self._events_socket_url) from exc
            raise

    return _reconnect


def _logs_handle_batch(original):
    @functools.wraps(original)
    async def _handle_batch(self, items):
        watch = current()
        if watch is None:
            return await original(self, items)
        lost = await _still_lost(watch)
        kept = [] if lost else [log for log in items
                                if not OFFLINE.touches([log.get("flow_run_id"), log.get("task_run_id")])]
        missing(logs=len(items) - len(kept))
        if not kept:
            return None
        try:
            await self._client.create_logs(kept)
        except Exception as exc:  # noqa: BLE001 - Prefect would write "--- Error logging to API ---"
            missing(logs=len(kept))
            logger.debug("%d log line(s) not sent: %s: %s", len(kept), type(exc).__name__, exc)
        return None

    return _handle_batch


# -- catching up once the server answers again -----------------------------------------------------

def _send_kept_events() -> None:
    """The kept task-run states, to the server that answers again (through the events worker;
    the flow-run states wait for the command's end, ``_send_kept_states``)."""
    from prefect.events.worker import EventsWorker

    events = OFFLINE.take_events()
    if events:
        worker = EventsWorker.instance()
        for event in events:
            worker.send(event)


def _send_kept_states() -> None:
    """At the command's end, the last state of each flow run the server knows but did not get
    (its flows are done: nothing newer can come), and any task-run state still kept."""
    from prefect.client.orchestration import get_client

    _send_kept_events()
    states = OFFLINE.take_states()
    if not states:
        return
    with get_client(sync_client=True) as client:
        for run_id, state in states.items():
            try:
                client.set_flow_run_state(run_id, state.model_copy(), force=True)
            except Exception as exc:  # noqa: BLE001 - the report says what is missing
                logger.debug("flow run %s: final state not sent: %s", run_id, exc)


# -- installing ----------------------------------------------------------------------------------

_installed: list[tuple[type, str, object]] = []


def _patch(cls: type, name: str, wrapper) -> None:
    original = getattr(cls, name)
    _installed.append((cls, name, cls.__dict__.get(name)))
    setattr(cls, name, wrapper(original))


def install() -> None:
    """Hook Prefect's client in this process (idempotent). Without a current ``ServerWatch``
    every hook passes through to Prefect's own code."""
    if _installed:
        return
    from prefect.client.base import PrefectHttpxAsyncClient, PrefectHttpxSyncClient
    from prefect.client.orchestration import PrefectClient, SyncPrefectClient
    from prefect.events.clients import PrefectEventsClient
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    _patch(PrefectHttpxSyncClient, "_send_with_retry", _gate_sync)
    _patch(PrefectHttpxAsyncClient, "_send_with_retry", _gate_async)
    for client in (SyncPrefectClient, PrefectClient):
        for name, (local, stays_local, after) in _engine_methods().items():
            _patch(client, name, functools.partial(_offline_first, local=local, stays_local=stays_local,
                                                   after=after))
    _patch(EventsWorker, "_handle", _events_handle)
    _patch(EventsWorker, "attach_related_resources_from_context", _events_related)
    _patch(PrefectEventsClient, "_reconnect", _events_reconnect)
    _patch(APILogWorker, "_handle_batch", _logs_handle_batch)


def uninstall() -> None:
    """Put Prefect's own methods back (tests)."""
    while _installed:
        cls, name, original = _installed.pop()
        if original is None:
            delattr(cls, name)
        else:
            setattr(cls, name, original)


def drain() -> None:
    """Send the logs and events still queued, within ``LOG_DRAIN_S`` and ``EVENT_DRAIN_S``."""
    with contextlib.suppress(Exception):
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=LOG_DRAIN_S)
    with contextlib.suppress(Exception):
        from prefect.events.worker import EventsWorker

        EventsWorker.drain_all(timeout=EVENT_DRAIN_S)  # a large run may end with many queued


@contextlib.contextmanager
def carry_on_without(api_url: str, *, restart: str = ""):
    """For the ``with`` block: watch the server at ``api_url`` and keep the command's flows going,
    quickly and quietly, whenever it does not answer; on the way out, send what the server
    missed if it answers by then, and drain Prefect's queues (bounded). ``restart`` says how to
    bring the server back (the command's last line)."""
    install()
    with watching(api_url, restart=restart) as watch:
        watch.on_answer.append(_send_kept_events)
        try:
            yield watch
        finally:
            if watch.ever_lost and not watch.still_lost():
                _send_kept_states()
            drain()


def install_in_worker() -> None:
    """In a worker process of the process-pool runner: the same hooks, with a watch that probes
    only when a request fails (the command itself tells the user about the server)."""
    import os

    api_url = os.environ.get("PREFECT_API_URL")
    if api_url:
        install()
        watch_quietly(api_url)
