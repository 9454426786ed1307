"""The ``aural`` command line (``cli.main:main``): a parser, one module per command group, the
preflight checks, the console and the Prefect API a command uses.

- ``main``: the parser and the dispatch (exit statuses, signals, one line per error);
- ``pipeline_cmds``: ``demo``, ``analyze``, ``train``, ``eval``, ``render``, ``run`` and their
  result printing; ``models_cmd``: ``aural models``; ``server_cmd``: ``aural server``;
- ``options``: the options several commands share;
- ``preflight``: paths, config and writable folders, checked before any server starts;
- ``console``: errors as one line, Prefect's console lines quieted (SIGTERM: ``runtime.termination``);
- ``prefect_session``: which Prefect API a command uses (configured, ``aural server``, or a
  temporary server of its own).

Layers: this package imports ``flows/`` and ``runtime/``; nothing below imports it.
"""
