"""A throw-away PostgreSQL 15 server for end-to-end tests: initdb into a
temporary folder, a free loopback port, trust authentication, durability
against an OS crash off (fsync, full_page_writes) for speed. The Python twin
of src/store/postgres/testing/pg_test_server.h.

    with PgServer() as pg:
        url = pg.create_database("run1")   # postgresql://postgres@127.0.0.1:PORT/run1
        ...
        pg.restart()                       # a failover: clients are cut off
        pg.stop(immediate=True)            # a crash

When we are root (CI), the server runs as the `postgres` user, which
PostgreSQL insists on. It dies with the test process (PR_SET_PDEATHSIG), so a
crashed test leaves no server behind. Queries go through psql from the same
folder, so no Python driver is needed."""

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BINDIR = os.environ.get("POWERDIALER_PG_BINDIR", "/usr/lib/postgresql/15/bin")
PACKAGE = "postgresql-15"
_PR_SET_PDEATHSIG = 1


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    """In the child, before exec: SIGQUIT (immediate shutdown) when the
    test process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT, 0, 0, 0)


def _env():
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("PG") or k.startswith("LC_") or k == "LANG")}
    env["LC_ALL"] = "C"
    return env


class PgServer:
    """A PostgreSQL 15 server on a free loopback port, until close()."""

    def __init__(self, startup_timeout=60, durable=False):
        for tool in ("initdb", "postgres", "psql"):
            path = os.path.join(BINDIR, tool)
            if not os.access(path, os.X_OK):
                raise RuntimeError(
                    f"the PostgreSQL 15 program {path} is missing; install the Debian package "
                    f"{PACKAGE} (scripts/install-deps does) or set POWERDIALER_PG_BINDIR")
        self.startup_timeout = startup_timeout
        # durable: fsync and full_page_writes on, as a production server
        # (for benchmarks); off by default, tests need speed, not crash safety.
        self.durable = durable
        self.user = None  # run as ourselves
        if os.geteuid() == 0:
            # PostgreSQL refuses root: run it as the package's user. The
            # user change happens in the child, before the death signal is
            # set (a user change clears it).
            import pwd
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(f"we run as root and PostgreSQL refuses root, but there is no "
                                   f"`postgres` user (the package {PACKAGE} creates it)")
            self.user = (pw.pw_uid, pw.pw_gid)
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="pd-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "postgres.log")
        self.proc = None
        self._next_db = 0
        try:
            if self.user:
                os.chown(self.dir, *self.user)
            with open(self.log_path, "ab") as log:
                r = subprocess.run(
                    [os.path.join(BINDIR, "initdb"), "-D", self.data, "-U", "postgres",
                     "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
                    stdout=log, stderr=subprocess.STDOUT, cwd=self.dir, env=_env(),
                    preexec_fn=self._preexec, timeout=startup_timeout)
            if r.returncode != 0:
                raise RuntimeError(f"initdb into {self.data} failed: {self._log_tail()}")
            self._launch()
        except BaseException:
            self.close()
            raise

    # -- what tests use --------------------------------------------------

    def url(self, db="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def create_database(self, name=None):
        """Creates database `name` (letters, digits, '_'; a fresh one when
        None) and returns its URL."""
        if name is None:
            self._next_db += 1
            name = f"t_{self._next_db}"
        if not re.fullmatch(r"[A-Za-z0-9_]{1,63}", name):
            raise ValueError(f"database name {name!r}: use 1 to 63 letters, digits or '_'")
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def psql(self, sql, db="postgres"):
        """Runs `sql` and returns psql's unaligned, tuples-only output."""
        r = subprocess.run(
            [os.path.join(BINDIR, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-d", self.url(db), "-c", sql],
            capture_output=True, text=True, env=_env(), timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r} on {db}: {r.stderr.strip()}")
        return r.stdout.strip()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, immediate=False):
        """immediate: a crash (SIGQUIT, recovery at next start); else a fast
        shutdown (SIGINT: clients cut off, then a checkpoint)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT if immediate else signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self._log.close()

    def restart(self):
        """Stops it (fast) if running and starts it again on the same port
        and data; returns once it accepts connections."""
        self.stop(immediate=False)
        self._launch()

    def close(self):
        self.stop(immediate=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- inside ---------------------------------------------------------

    def _preexec(self):
        if self.user:
            os.setgroups([])
            os.setgid(self.user[1])
            os.setuid(self.user[0])
        _die_with_parent()

    def _launch(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(BINDIR, "postgres"), "-D", self.data, "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.dir}",
             *([] if self.durable else ["-c", "fsync=off", "-c", "full_page_writes=off"]),
             "-c", "max_connections=200", "-c", "logging_collector=off"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            cwd=self.dir, env=_env(), preexec_fn=self._preexec)
        # The postmaster has no readiness signal for a plain parent: poll
        # with pg_isready, as its docs suggest.
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.proc.poll() is not None:
                self.proc = None
                self._log.close()
                raise RuntimeError(f"postgres exited at startup on port {self.port}: "
                                   f"{self._log_tail()}")
            r = subprocess.run([os.path.join(BINDIR, "pg_isready"), "-q", "-h", "127.0.0.1",
                                "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                                "-t", "2"], env=_env())
            if r.returncode == 0:
                return
            if time.monotonic() > deadline:
                self.stop(immediate=True)
                raise RuntimeError(f"postgres did not accept connections on port {self.port} "
                                   f"within {self.startup_timeout} s; see {self.log_path}")
            time.sleep(0.02)

    def _log_tail(self, n=2000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return "(no log)"


class ServerPerClass:
    """A unittest.TestCase mixin: one PgServer for the whole class, as
    `cls.pg` (each test makes its own database with create_database())."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pg = PgServer()

    @classmethod
    def tearDownClass(cls):
        cls.pg.close()
        super().tearDownClass()


if __name__ == "__main__":
    # A server for a benchmark or a look by hand: prints a database's URL,
    # then serves until interrupted (Ctrl-C, SIGTERM).
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--durable", action="store_true",
                        help="fsync and full_page_writes on, as in production")
    parser.add_argument("--database", default="bench", help="the database to create")
    args = parser.parse_args()

    def _interrupt(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    with PgServer(durable=args.durable) as server:
        print(server.create_database(args.database), flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
