"""Prefect plumbing that is no flow: where commands and flows run, and how they talk to Prefect.

- ``local_server``: the temporary Prefect server a command starts as its child, and the pieces
  ``background_server`` (``aural server start``) shares with it;
- ``runners``, ``workers``, ``dask_runner``: the task runners of a run's settings (threads,
  processes, Dask) and the set-up of their worker processes;
- ``server_watch``, ``prefect_offline``, ``offline_runs``: a command carries on when its server
  stops answering, and says what was not recorded;
- ``task_run_records``: a temporary server holds every task run before it stops;
- ``console_hygiene``: Prefect's own log lines stay off the command's console;
- ``automations``: the automations that crash silent runs and retry crashed deployment runs.
- ``termination``: SIGTERM as an exception a command unwinds with, recorded so nothing swallows it.

Layers: ``cli/`` and ``flows/`` import this package; it imports neither of them (only
``tasks``, ``storage`` and ``aural_core`` below it; tests/ops/test_layers.py checks).
"""
