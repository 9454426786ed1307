"""The Dask task runner of ``runtime.runners`` (apart, so that only Dask runs import Dask)."""

from __future__ import annotations

from distributed import WorkerPlugin
from prefect_dask import DaskTaskRunner

from .workers import worker_process_setup


class OneThreadPerWorker(WorkerPlugin):
    """Limits every worker of the cluster (those joining later too) to one BLAS thread, and
    gives it the command's handling of a lost server and of Prefect's console lines."""

    def setup(self, worker) -> None:
        worker_process_setup()


class OneThreadDaskTaskRunner(DaskTaskRunner):
    """prefect-dask's runner, which registers ``OneThreadPerWorker`` when it first connects.

    The plugin is registered with the client, which is created on first use only: the copy of
    this runner that Prefect enters around each task inside a worker never connects.
    """

    @property
    def client(self):
        fresh = self._client is None
        client = DaskTaskRunner.client.fget(self)
        if fresh:
            client.register_plugin(OneThreadPerWorker(), name="aural-one-thread")
        return client
