"""A throwaway PostgreSQL server for the end-to-end test: initdb in a temp dir, a free port on
127.0.0.1, its unix socket in the temp dir (not /var/run/postgresql), stopped and removed after.

PostgreSQL refuses to run as root: as root, the cluster belongs to Debian's ``postgres`` user,
or to a system user ``aural-pg`` created for it when that is missing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..prefect_server import free_port

FALLBACK_USER = "aural-pg"


def pg_bindir() -> Path:
    """The folder holding initdb, pg_ctl and createdb (Debian keeps them off PATH)."""
    candidates = []
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "createdb")):
            return folder
    raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl, createdb) not found: "
                            "apt-get install postgresql (.ci/run does)")


def _unprivileged_user() -> str | None:
    """The user to run the cluster as: None when not root, else postgres or aural-pg."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
                   check=True, capture_output=True)
    return FALLBACK_USER


class Postgres:
    """``start()`` a cluster with one database; ``url`` is its SQLAlchemy asyncpg URL; ``stop()``."""

    def __init__(self, *, user: str = "aural", password: str = "aural-e2e", database: str = "prefect"):
        self.user, self.password, self.database = user, password, database
        self.bindir = pg_bindir()
        self.os_user = _unprivileged_user()
        self.port = free_port()
        self.root: Path | None = None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def _run(self, tool: str, *args: str) -> None:
        prefix = ["runuser", "-u", self.os_user, "--"] if self.os_user else []
        done = subprocess.run([*prefix, str(self.bindir / tool), *args], cwd=self.root, capture_output=True,
                              text=True, timeout=120)
        if done.returncode:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stdout}{done.stderr}{log}")

    def start(self) -> Postgres:
        # /tmp, not pytest's tmp_path: that one is private to root, so the cluster's user could not enter it.
        self.root = Path(tempfile.mkdtemp(prefix="aural-e2e-pg-"))
        (self.root / "pwfile").write_text(self.password + "\n")
        if self.os_user:
            shutil.chown(self.root, self.os_user)
            shutil.chown(self.root / "pwfile", self.os_user)
        # Password auth over TCP (what the Prefect server uses), trust on the private socket (createdb).
        self._run("initdb", "-D", "data", "-U", self.user, "--pwfile=pwfile", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync")
        # A throwaway cluster: no fsync, so a slow shared disk does not slow the test down.
        self._start_server()
        self._run("createdb", "-h", str(self.root), "-p", str(self.port), "-U", self.user, self.database)
        return self

    def _start_server(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", "data", "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def restart(self, down_seconds: float) -> None:
        """Stop the server as a crash would (``-m immediate``: no checkpoint, every connection
        cut), leave it down ``down_seconds``, then start it again on the same data and port."""
        import time

        self._run("pg_ctl", "-D", "data", "-m", "immediate", "-w", "stop")
        time.sleep(down_seconds)
        self._start_server()

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            if (self.root / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", "data", "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
