"""A PostgreSQL server of a test's own (initdb into a temp folder, its own socket folder and
port), for tests that take the database away: the shared test cluster is never stopped.

Run as OS user ``postgres`` when the tests run as root (PostgreSQL refuses root), like
``tests/harness/cluster.sh``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg


def _bin_dir() -> Path:
    majors = sorted(
        (int(p.name) for p in Path("/usr/lib/postgresql").iterdir() if p.name.isdigit()),
        reverse=True,
    )
    for major in majors:
        if (Path(f"/usr/lib/postgresql/{major}/bin/initdb")).exists():
            return Path(f"/usr/lib/postgresql/{major}/bin")
    raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateServer:
    """``start()`` initialises (once) and starts the server; ``stop(mode)`` stops it
    (``immediate``: no shutdown checkpoint, every session cut, like a crash); ``destroy()``
    stops it and removes its files. ``dsn`` reaches its ``postgres`` database as superuser."""

    def __init__(self, max_connections: int = 200) -> None:
        self.bin = _bin_dir()
        self.base = Path(tempfile.mkdtemp(prefix="concord-private-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = _free_port()
        self.max_connections = max_connections
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.base, "postgres", "postgres")
        os.chmod(self.base, 0o755)
        self._initdb()

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = (["runuser", "-u", "postgres", "--"] if self._as_root else []) + list(args)
        return subprocess.run(cmd, cwd=self.base, check=check, capture_output=True, text=True)

    def _initdb(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres",
            "--encoding=UTF8", "--locale=C",
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nlisten_addresses = ''\nunix_socket_directories = '{self.base}'\n"
                f"port = {self.port}\nfsync = off\nfull_page_writes = off\n"
                # an immediate stop must not lose what was committed (as a real server's)
                f"synchronous_commit = on\nmax_connections = {self.max_connections}\n"
            )

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.base}&port={self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self._run(str(self.bin / "pg_ctl"), "start", "-D", str(self.data), "-l", str(self.log),
                  "-w", "-t", str(int(timeout)))
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.dsn, connect_timeout=2).close()
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    log = self.log.read_text()
                    raise RuntimeError(f"private server not ready:\n{log}") from exc
                time.sleep(0.1)

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", mode, "-w",
                  check=False)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)
