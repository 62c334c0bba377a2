"""The base of the end-to-end tests that run the powerdialer binary as a
user would: a folder of their own (the store's file in it), the processes
they start killed at the end, and `pd(...)` to run one command."""

import os
import shutil
import subprocess
import tempfile
import unittest

BIN = os.environ.get("POWERDIALER_BIN", "build/powerdialer")


class BinaryCase(unittest.TestCase):
    PREFIX = "pd-e2e-"  # the folder's name starts so
    DB = "d.db"  # the store's file in the folder (setUp of a subclass may point self.db elsewhere)
    TIMEOUT = 120  # seconds a command may take

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix=self.PREFIX)
        self.db = os.path.join(self.dir, self.DB)
        self.procs = []  # started with Popen: killed at tearDown if still running

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.communicate()
        shutil.rmtree(self.dir, ignore_errors=True)

    def pd_on(self, db, *args, ok=True, timeout=None, env=None):
        """`powerdialer --db DB ARGS` in the folder. ok=True: it must
        succeed; ok=False: it must fail; ok=None: the caller checks."""
        p = subprocess.run([BIN, "--db", db, *args], capture_output=True, text=True,
                           cwd=self.dir, timeout=timeout or self.TIMEOUT, env=env)
        if ok:
            self.assertEqual(p.returncode, 0, f"{args}: {p.stderr}")
        elif ok is not None:
            self.assertNotEqual(p.returncode, 0, f"{args} should fail: {p.stdout}")
        return p

    def pd(self, *args, **kw):
        """pd_on() this test's store."""
        return self.pd_on(self.db, *args, **kw)
