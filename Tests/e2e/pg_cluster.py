"""A throwaway PostgreSQL cluster for the records tests.

initdb into a temporary directory owned by the ``postgres`` OS user
(PostgreSQL refuses to run as root), then ``postgres`` on 127.0.0.1 with a
free port and its unix socket in that directory; ``pg_ctl -w`` waits for it
to accept connections, so nothing sleeps. Inside the e2e tests' network
namespace 127.0.0.1 is the namespace's own loopback.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile

PASSWORD = "pg-secret-Xy7"


def _bindir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run Scripts/bootstrap.sh --e2e (apt-get install postgresql)")
    return os.path.dirname(found[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """``with PostgresCluster() as pg:`` a running server; ``pg.url`` for Cohort."""

    def __init__(self) -> None:
        self.bin = _bindir()
        self.dir = tempfile.mkdtemp(prefix="cohort-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self.as_root else list(args)

    def _run(self, *args: str, timeout: float = 60) -> None:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {proc.stdout}{proc.stderr}")

    def __enter__(self) -> "PostgresCluster":
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(PASSWORD + "\n")
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chmod(self.dir, 0o700)
            for path in (self.dir, pwfile):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        self._run(os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres", "--auth=scram-sha-256",
                  f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync")
        self.start()
        self.psql("CREATE DATABASE cohort")
        return self

    def start(self) -> None:
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"), "-o", opts,
                  "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop")

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "cohort", password: str = PASSWORD) -> str:
        return f"postgres://postgres:{password}@127.0.0.1:{self.port}/{database}?sslmode=disable"

    def psql(self, sql: str, database: str = "postgres") -> list[list[str]]:
        """Rows of ``sql`` (unaligned, one list of cells per row)."""
        proc = subprocess.run([os.path.join(self.bin, "psql"), "-h", self.dir, "-p", str(self.port), "-U", "postgres",
                               "-d", database, "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", sql],
                              capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, PGPASSWORD=PASSWORD))
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed: {proc.stderr}")
        return [line.split("|") for line in proc.stdout.splitlines()]
