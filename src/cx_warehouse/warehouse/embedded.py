"""The embedded PostgreSQL used when no warehouse is configured.

With ``CX_WAREHOUSE_URL`` unset the project runs a real PostgreSQL 16 from the ``pgserver``
wheel (which ships the server binaries) in ``<CX_HOME>/pgdata``, listening on
``127.0.0.1:<CX_EMBEDDED_PORT>`` only, with password authentication. The password is
generated on first start and kept in ``<CX_HOME>/warehouse.secret`` (mode 600, git-ignored):
no secret lives in the repository.

We drive ``initdb``/``pg_ctl`` ourselves rather than ``pgserver.get_server`` because that
helper listens on a Unix socket only and stops the server when the Python process exits,
while Airflow tasks, dbt and BI tools need one TCP server that outlives each process.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from cx_warehouse.config.settings import Settings, get_settings

if TYPE_CHECKING:
    pass

EMBEDDED_USER = "cx"
EMBEDDED_DB = "cx"
_SERVER_SETTINGS = {
    # A development warehouse on a laptop: modest memory, room for bulk loads.
    "shared_buffers": "256MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "4GB",
    "timezone": "UTC",
    "log_timezone": "UTC",
}


class WarehouseError(RuntimeError):
    """The warehouse could not be reached or started; the message says what to do."""


@dataclass(frozen=True)
class EmbeddedPostgres:
    """A project-local PostgreSQL server built from the ``pgserver`` binaries."""

    pgdata: Path
    port: int

    @property
    def secret_file(self) -> Path:
        return self.pgdata.parent / "warehouse.secret"

    @property
    def log_file(self) -> Path:
        return self.pgdata / "server.log"

    @property
    def bin_dir(self) -> Path:
        """The PostgreSQL binaries inside the installed ``pgserver`` wheel (found, not imported)."""
        spec = importlib.util.find_spec("pgserver")
        if spec is None or not spec.submodule_search_locations:
            raise WarehouseError("the pgserver package is not installed: run `make setup`")
        return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"

    # -- running the binaries -------------------------------------------------------
    def _system_user(self) -> str | None:
        """PostgreSQL refuses to run as root; pgserver's convention is a ``pgserver`` user."""
        if os.name != "nt" and os.geteuid() == 0:
            return "pgserver"
        return None

    def _prepare_root(self) -> None:
        import pwd
        import stat

        with warnings.catch_warnings():  # pgserver resolves a runtime dir at import; we do not use it
            warnings.simplefilter("ignore")
            from pgserver.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        user = self._system_user()
        assert user is not None
        ensure_user_exists(user)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(self.bin_dir)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(self.bin_dir, read | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(self.bin_dir.parent / "lib", read)
        pw = pwd.getpwnam(user)
        os.chown(self.pgdata, pw.pw_uid, pw.pw_gid)

    def _run(self, exe: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / exe), *args]
        user = self._system_user()
        try:
            return subprocess.run(
                cmd, check=True, capture_output=True, text=True, timeout=timeout, user=user,
                cwd="/" if user else None,
            )
        except subprocess.CalledProcessError as exc:
            log_tail = ""
            if self.log_file.exists():
                log_tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
            raise WarehouseError(
                f"embedded PostgreSQL: `{exe} {' '.join(args[:3])} ...` failed:\n"
                f"{exc.stderr.strip() or exc.stdout.strip()}\n{log_tail}\n"
                f"Data directory: {self.pgdata}. If it is damaged, stop any postgres using it and "
                f"remove it (`make clean-warehouse`) to start fresh."
            ) from None

    # -- lifecycle ------------------------------------------------------------------
    def password(self) -> str:
        try:
            return self.secret_file.read_text().strip()
        except FileNotFoundError:
            raise WarehouseError(
                f"the embedded warehouse's password file {self.secret_file} is missing while its data "
                f"directory {self.pgdata} exists: restore the file, or remove the warehouse "
                "(`make clean-warehouse`) to start fresh") from None

    def url(self, database: str = EMBEDDED_DB) -> str:
        return (
            f"postgresql://{EMBEDDED_USER}:{quote(self.password(), safe='')}"
            f"@127.0.0.1:{self.port}/{database}"
        )

    def is_initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not (self.pgdata / "postmaster.pid").exists():
            return False
        user = self._system_user()
        try:
            subprocess.run(
                [str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "status"],
                check=True, capture_output=True, timeout=30, user=user, cwd="/" if user else None,
            )
        except subprocess.CalledProcessError:
            return False
        return True

    def init(self) -> None:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if not self.secret_file.exists():
            self.secret_file.write_text(secrets.token_urlsafe(24) + "\n")
            self.secret_file.chmod(0o600)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        user = self._system_user()
        pwfile = self.pgdata.parent / ".initdb-pw"
        pwfile.write_text(self.password() + "\n")
        try:
            if user:
                self._prepare_root()
                import pwd

                pw = pwd.getpwnam(user)
                os.chown(pwfile, pw.pw_uid, pw.pw_gid)
            pwfile.chmod(0o600)
            self._run(
                "initdb", "-D", str(self.pgdata), "-U", EMBEDDED_USER, f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
                "--encoding=UTF8", "--locale=C.UTF-8",
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self, timeout: float = 60) -> None:
        """Initialise on first use, then start the server unless it already runs."""
        if not self.is_initialised():
            if self.pgdata.exists() and any(self.pgdata.iterdir()):
                raise WarehouseError(
                    f"{self.pgdata} exists but is not a PostgreSQL data directory; move it away "
                    "or set CX_HOME to another folder."
                )
            self.init()
        if self.is_running():
            return
        if _port_in_use(self.port):
            raise WarehouseError(
                f"port {self.port} on 127.0.0.1 is taken by another program, so the embedded "
                f"warehouse cannot start. Set CX_EMBEDDED_PORT to a free port, or point "
                f"CX_WAREHOUSE_URL at an existing PostgreSQL."
            )
        if self._system_user():
            self._prepare_root()
        opts = " ".join(
            ["-c listen_addresses=127.0.0.1", f"-p {self.port}", "-c unix_socket_directories=''"]
            + [f"-c {k}={v}" for k, v in _SERVER_SETTINGS.items()]
        )
        self._run(
            "pg_ctl", "-D", str(self.pgdata), "-l", str(self.log_file), "-o", opts,
            "-w", "-t", str(int(timeout)), "start", timeout=timeout + 10,
        )
        self._ensure_database()

    def stop(self) -> bool:
        """Stop the server (fast shutdown: sessions are rolled back, data is safe)."""
        if not self.is_running():
            return False
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")
        return True

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (EMBEDDED_DB,)
            ).fetchone()
            if not exists:
                conn.execute(f'create database "{EMBEDDED_DB}" encoding UTF8 template template0')

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.pgdata, ignore_errors=True)


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def embedded(settings: Settings | None = None) -> EmbeddedPostgres:
    s = settings or get_settings()
    return EmbeddedPostgres(pgdata=s.pgdata, port=s.embedded_port)

