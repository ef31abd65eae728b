"""A PostgreSQL cluster of the test's own, to stop and start at will.

The machine's shared PostgreSQL serves every other test; a fault test that restarts the
database uses this instead: `initdb` into a temporary directory, `pg_ctl start` on a free
port of 127.0.0.1, its unix socket inside that directory. PostgreSQL refuses to run as
root, so under root the cluster belongs to the `postgres` user and every command runs as
that user (`runuser`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.servers import free_port

COMMAND_TIMEOUT = 60


def _bindir() -> Path | None:
    """The directory of `initdb` and `pg_ctl` (Debian keeps them out of PATH), newest version first."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivateCluster:
    """`initdb` + `pg_ctl` on a temporary directory; `dsn` reaches its `postgres` database."""

    def __init__(self) -> None:
        bindir = _bindir()
        if bindir is None:
            raise RuntimeError("initdb not found (install the postgresql server package)")
        self._bin = bindir
        self._owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError("running as root and there is no 'postgres' user to own the cluster") from exc
        self.dir = Path(tempfile.mkdtemp(prefix="osis-private-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if self._owner is not None:
            os.chown(self.dir, self._owner.pw_uid, self._owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")

    def _run(self, program: str, *args: str) -> None:
        argv = [str(self._bin / program), *args]
        if self._owner is not None:
            argv = ["runuser", "-u", self._owner.pw_name, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}\n{log}")

    def start(self) -> None:
        # fsync off: a stopped or killed server loses nothing without it (the OS keeps the
        # pages); only a machine crash would, and this cluster lives for one test.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} -c fsync=off"
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.log), "-o", options)

    def stop(self) -> None:
        """A fast shutdown: sessions are terminated, as in a restart by an operator."""
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))

    def destroy(self) -> None:
        try:
            self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data))
        except RuntimeError:
            pass  # not running
        shutil.rmtree(self.dir, ignore_errors=True)
