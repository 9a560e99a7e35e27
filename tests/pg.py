"""A throwaway PostgreSQL cluster for the tests: one per session, one database per test.

Loaded as a pytest plugin by ``tests/conftest.py``. The cluster is started with the
server's own tools (``initdb``, ``pg_ctl``) in a temporary directory, listens on
127.0.0.1 on a free port only, runs with ``fsync=off`` (its data is thrown away),
and is stopped and deleted when the session ends.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres``
user (created by Debian's ``postgresql`` package) in a directory that user owns.

Where the server binaries are missing the tests that need them skip with one
reason; with ``REQUIRE_POSTGRES=1`` (CI) that is a failure instead: a CI run that
skipped them would prove nothing about the PostgreSQL backend.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

REQUIRE_ENV = "REQUIRE_POSTGRES"
BIN_DIR_ENV = "POSTGRES_BIN_DIR"
SERVER_USER = "postgres"  # the cluster's superuser, and the OS user when running as root
DEBIAN_BIN_DIRS = "/usr/lib/postgresql/*/bin"
_START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it


class PostgresUnavailable(Exception):
    """No PostgreSQL server can be started on this machine (the reason says why)."""


def postgres_required() -> bool:
    """Whether a missing PostgreSQL server fails the run (CI) instead of skipping."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in ("1", "true", "yes")


def find_bin_dir() -> Path:
    """The newest installed server's ``bin`` directory (``initdb``, ``pg_ctl``, ``psql``).

    ``POSTGRES_BIN_DIR`` wins; then Debian's versioned directories; then ``PATH``.
    """
    override = os.environ.get(BIN_DIR_ENV, "").strip()
    candidates: list[Path] = [Path(override)] if override else []
    versioned = [Path(p) for p in Path("/").glob(DEBIAN_BIN_DIRS.lstrip("/"))]
    candidates += sorted(versioned, key=_major_version, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for directory in candidates:
        if all((directory / tool).is_file() for tool in ("initdb", "pg_ctl", "psql")):
            return directory
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found (initdb, pg_ctl, psql in "
        f"{DEBIAN_BIN_DIRS}, ${BIN_DIR_ENV} or PATH); install the 'postgresql' package "
        "to run the PostgreSQL store tests"
    )


def _major_version(bin_dir: Path) -> int:
    match = re.search(r"/(\d+)/bin$", str(bin_dir))
    return int(match.group(1)) if match else 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env() -> dict[str, str]:
    # PG* variables (PGDATA, PGHOST, PGPORT, ...) of the caller's shell must not
    # redirect the tools to another cluster.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C.UTF-8"
    return env


class PgCluster:
    """A private PostgreSQL cluster in ``root`` (see the module docs)."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        """Describe a cluster; :meth:`start` creates and starts it."""
        self.bin_dir = bin_dir
        self.root = root
        self.data_dir = root / "data"
        self.socket_dir = root / "sockets"
        self.log_file = root / "server.log"
        self.port = 0
        self._run_as: list[str] = []
        self._names = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """``initdb`` and start the server; raises with the server log on failure."""
        if os.geteuid() == 0:
            self._run_as = self._drop_root()
        self.socket_dir.mkdir()
        self._own(self.root, self.socket_dir)
        self._initdb()
        last_error = ""
        for _ in range(_START_ATTEMPTS):
            self.port = _free_port()
            options = " ".join(
                (
                    f"-p {self.port}",
                    "-c listen_addresses=127.0.0.1",
                    f"-c unix_socket_directories={self.socket_dir}",
                    # Thrown away after the session: durability buys nothing.
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=200",
                    "-c shared_buffers=64MB",
                )
            )
            try:
                self._tool(
                    "pg_ctl",
                    "start",
                    "--wait",
                    "--timeout",
                    "60",
                    "--pgdata",
                    str(self.data_dir),
                    "--log",
                    str(self.log_file),
                    "-o",
                    options,
                )
                return
            except PostgresUnavailable as error:
                last_error = str(error)
        raise PostgresUnavailable(last_error)

    def _initdb(self) -> None:
        base = [
            "--pgdata",
            str(self.data_dir),
            "--username",
            SERVER_USER,
            "--auth",
            "trust",  # reachable only from 127.0.0.1 and a socket in a private dir
            "--encoding",
            "UTF8",
            "--no-sync",
        ]
        # A real-world collation (ICU en-US: "a" < "B" < "_x"), not byte order, so
        # the tests notice an ORDER BY on text that forgets the store's COLLATE "C".
        # A server built without ICU gets the C locale instead.
        icu = ["--locale", "C.UTF-8", "--locale-provider", "icu", "--icu-locale", "en-US"]
        try:
            self._tool("initdb", *base, *icu)
        except PostgresUnavailable:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self._tool("initdb", *base, "--no-locale")

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and delete its files."""
        if self.data_dir.joinpath("postmaster.pid").exists():
            # Already gone is fine: the files are removed below either way.
            with contextlib.suppress(PostgresUnavailable):
                self._tool("pg_ctl", "stop", "--pgdata", str(self.data_dir), "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases ---------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL of ``database`` on this cluster."""
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """Create an empty database with a new name; return its name."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self.sql(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting any client a test left behind."""
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement with ``psql`` as the superuser; return its output."""
        return self._run(
            [
                str(self.bin_dir / "psql"),
                "--no-psqlrc",
                "--quiet",
                "--tuples-only",
                "--no-align",
                "--set",
                "ON_ERROR_STOP=1",
                "--dbname",
                self.url(database),
                "--command",
                statement,
            ]
        )

    # -- helpers -----------------------------------------------------------------------

    def _drop_root(self) -> list[str]:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root, and there is no '{SERVER_USER}' user to run the "
                "PostgreSQL server as (initdb refuses root); install the 'postgresql' "
                "package, which creates it"
            ) from None
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", SERVER_USER, "--"]
        setpriv = shutil.which("setpriv")
        if setpriv:
            entry = pwd.getpwnam(SERVER_USER)
            return [
                setpriv,
                f"--reuid={entry.pw_uid}",
                f"--regid={entry.pw_gid}",
                "--init-groups",
                "--",
            ]
        raise PostgresUnavailable("running as root without runuser or setpriv to drop it")

    def _own(self, *paths: Path) -> None:
        if not self._run_as:
            return
        entry = pwd.getpwnam(SERVER_USER)
        for path in paths:
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _tool(self, name: str, *args: str) -> str:
        return self._run([*self._run_as, str(self.bin_dir / name), *args])

    def _run(self, argv: Sequence[str]) -> str:
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=_clean_env(),
            cwd=self.root,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            log = ""
            if self.log_file.is_file():
                log = "\n--- server log (tail) ---\n" + "\n".join(
                    self.log_file.read_text(errors="replace").splitlines()[-20:]
                )
            raise PostgresUnavailable(
                f"{Path(argv[len(self._run_as)]).name} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}{log}"
            )
        return result.stdout


def start_cluster() -> PgCluster:
    """Find the binaries and start a cluster in a fresh temporary directory."""
    bin_dir = find_bin_dir()
    # As root, under /tmp itself: pytest's own tmp dirs (and maybe $TMPDIR) are
    # private to root, and the server (running as 'postgres') must reach its files.
    root = Path(tempfile.mkdtemp(prefix="bot-tests-pg-", dir="/tmp" if os.geteuid() == 0 else None))
    cluster = PgCluster(bin_dir, root)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


# -- fixtures --------------------------------------------------------------------------


def start_or_skip() -> PgCluster:
    """:func:`start_cluster`, or the test's skip (a failure under ``REQUIRE_POSTGRES=1``)."""
    try:
        return start_cluster()
    except PostgresUnavailable as reason:
        if postgres_required():
            pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(str(reason))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """The session's PostgreSQL cluster (skips, or fails under ``REQUIRE_POSTGRES=1``)."""
    cluster = start_or_skip()
    # Also on an interpreter exit that skips fixture teardown: no server is left running.
    atexit.register(cluster.stop)
    try:
        yield cluster
    finally:
        cluster.stop()
        atexit.unregister(cluster.stop)


@pytest.fixture
def postgres_url(pg_cluster: PgCluster) -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    name = pg_cluster.create_database()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)
