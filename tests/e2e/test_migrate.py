"""End-to-end tests of `powerdialer migrate`: a campaign cut off in the middle
(its dialer killed) moves to a new store with everything it had, and the new
store dials the rest without calling anyone twice; SQLite to SQLite, and
SQLite to PostgreSQL and back (a throw-away server, pgserver.py)."""

import csv
import json
import os
import signal
import subprocess
import time
import unittest

from pgserver import ServerPerClass
import test_dialer  # not `from ... import DialerTest`: unittest would run its tests here too
from binary_case import BIN, BinaryCase
from test_dialer import write_list

# What `status --json` shows that a move must keep.
STATUS_KEYS = ("customers", "phones", "customers_by_state", "attempts", "attempts_by_outcome",
               "attempts_in_flight", "state")


class MigrateBase(BinaryCase):
    """A folder for the stores, the binary, and a half-dialled store."""
    PREFIX = "pd-e2e-migrate-"
    DB = "old.db"
    CUSTOMERS = 400

    def setUp(self):
        super().setUp()
        self.old = self.db

    def migrate(self, src, dst, ok=True):
        p = subprocess.run([BIN, "migrate", "--from", src, "--to", dst], capture_output=True,
                           text=True, cwd=self.dir, timeout=300)
        if ok:
            self.assertEqual(p.returncode, 0, p.stderr)
        else:
            self.assertNotEqual(p.returncode, 0, p.stdout)
        return p

    def status(self, db):
        return json.loads(self.pd_on(db, "status", "--json").stdout)

    def results(self, db):
        return list(csv.DictReader(self.pd_on(db, "results").stdout.splitlines()))

    def half_dialled_store(self):
        """A campaign whose dialer was killed part way through its list."""
        self.pd_on(self.old, "init")
        self.pd_on(self.old, "config", "set", "calling-hours", "00:00-24:00")
        self.pd_on(self.old, "config", "set", "max-attempts", "2")
        self.pd_on(self.old, "config", "set", "retry-delay", "1s")
        write_list(os.path.join(self.dir, "list.csv"), self.CUSTOMERS)
        self.pd_on(self.old, "load", "list.csv")
        self.pd_on(self.old, "dnc", "add", "+12022000030")
        run = subprocess.Popen([BIN, "--db", self.old, "run", "--speed", "40", "--agents", "6",
                                "--seed", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=self.dir)
        self.procs.append(run)
        deadline = time.time() + 60
        while time.time() < deadline and len(self.results(self.old)) < 60:
            time.sleep(0.1)
        run.send_signal(signal.SIGKILL)
        run.communicate()
        self.assertGreaterEqual(len(self.results(self.old)), 60)


class MigrateTest(MigrateBase):
    def test_a_half_dialled_campaign_moves_and_finishes_on_the_new_store(self):
        self.half_dialled_store()
        new = os.path.join(self.dir, "new.db")
        # Its dialer died with the campaign running: migrate says to stop it.
        p = self.migrate(self.old, new, ok=False)
        self.assertIn("'default' is running", p.stderr)
        self.pd_on(self.old, "stop")
        before = self.status(self.old)
        rows_before = self.results(self.old)

        p = self.migrate(self.old, new)
        self.assertIn("attempts", p.stdout)
        self.assertRegex(p.stdout, r"copied \d+ rows from .*old\.db to .*new\.db")
        after = self.status(new)
        for key in STATUS_KEYS:
            self.assertEqual(before.get(key), after.get(key), key)
        self.assertEqual(rows_before, self.results(new))
        # The copy's own tokens and do-not-call list came along.
        self.assertIn("+12022000030",
                      self.pd_on(new, "dnc", "check", "+12022000030").stdout)
        # The old store is as it was.
        self.assertEqual(rows_before, self.results(self.old))

        # The new store dials the rest: nobody twice, nobody lost.
        self.pd_on(new, "run", "--speed", "2000", "--agents", "6", timeout=300)
        rows = self.results(new)
        self.assertGreater(len(rows), len(rows_before))
        test_dialer.DialerTest.check_results(self, rows, self.CUSTOMERS, max_attempts=2)
        self.assertEqual(self.status(new)["state"], "done")
        # The number put on the do-not-call list before the move was never called.
        self.assertFalse([r for r in rows if r["phone"] == "+12022000030"
                          and r["outcome"] not in ("suppressed",)])

    def test_refuses_a_store_that_is_not_empty_and_changes_nothing(self):
        self.pd_on(self.old, "init")
        other = os.path.join(self.dir, "other.db")
        self.pd_on(other, "--campaign", "mine", "init")
        p = self.migrate(self.old, other, ok=False)
        self.assertIn("already holds rows in table 'campaigns'", p.stderr)
        self.assertIn("nothing was copied", p.stderr)
        names = [c["campaign"] for c in json.loads(self.pd_on(other, "campaigns", "--json").stdout)]
        self.assertEqual(names, ["mine"])

    def test_a_missing_source_is_named(self):
        p = self.migrate(os.path.join(self.dir, "nope.db"), os.path.join(self.dir, "x.db"),
                         ok=False)
        self.assertIn("nope.db", p.stderr)
        p = self.migrate(self.old, self.old, ok=False)
        self.assertIn("same store", p.stderr)


class MigratePostgresTest(ServerPerClass, MigrateBase):
    """The same moves through PostgreSQL: SQLite -> PostgreSQL -> SQLite."""

    def psql(self, url, sql):
        return self.pg.psql(sql, db=url.rsplit("/", 1)[1])

    def test_a_half_dialled_campaign_moves_to_postgresql_finishes_there_and_moves_back(self):
        self.half_dialled_store()
        self.pd_on(self.old, "stop")
        before = self.status(self.old)
        rows_before = self.results(self.old)
        tokens_before = self.pd_on(self.old, "token", "list").stdout

        pg = self.pg.create_database()
        p = self.migrate(self.old, pg)
        self.assertRegex(p.stdout, r"customers +%d rows" % self.CUSTOMERS)
        self.assertRegex(p.stdout, r"copied \d+ rows from .*old\.db to postgresql://")
        after = self.status(pg)
        for key in STATUS_KEYS:
            self.assertEqual(before.get(key), after.get(key), key)
        self.assertEqual(rows_before, self.results(pg))
        self.assertEqual(tokens_before, self.pd_on(pg, "token", "list").stdout)
        # The server's own counts agree with its rows (kept by triggers,
        # recounted after the copy), and no lease or node came along.
        self.assertEqual(self.psql(pg, "SELECT n FROM campaign_counts WHERE what = 'customers'"),
                         str(self.CUSTOMERS))
        self.assertEqual(self.psql(pg, "SELECT count(*) FROM leases"), "0")
        self.assertEqual(self.psql(pg, "SELECT count(*) FROM nodes"), "0")
        self.assertEqual(rows_before, self.results(self.old))

        # A second copy into the same database is refused, and changes nothing.
        p = self.migrate(self.old, pg, ok=False)
        self.assertIn("already holds rows in table 'campaigns'", p.stderr)
        self.assertEqual(rows_before, self.results(pg))

        # PostgreSQL dials the rest: nobody twice, nobody lost.
        self.pd_on(pg, "run", "--speed", "2000", "--agents", "6", timeout=300)
        rows = self.results(pg)
        self.assertGreater(len(rows), len(rows_before))
        test_dialer.DialerTest.check_results(self, rows, self.CUSTOMERS, max_attempts=2)
        done = self.status(pg)
        self.assertEqual(done["state"], "done")
        self.assertFalse([r for r in rows if r["phone"] == "+12022000030"
                          and r["outcome"] not in ("suppressed",)])

        # And back to a new SQLite file, where it reads the same.
        back = os.path.join(self.dir, "back.db")
        self.migrate(pg, back)
        again = self.status(back)
        for key in STATUS_KEYS:
            self.assertEqual(done.get(key), again.get(key), key)
        self.assertEqual(rows, self.results(back))
        self.assertIn("+12022000030", self.pd_on(back, "dnc", "check", "+12022000030").stdout)

    def test_a_running_campaign_on_postgresql_is_refused_and_nothing_changes(self):
        pg = self.pg.create_database()
        self.pd_on(pg, "init")
        write_list(os.path.join(self.dir, "list.csv"), 20)
        self.pd_on(pg, "load", "list.csv")
        self.psql(pg, "UPDATE campaigns SET state = 'running'")
        dump = self.psql(pg, "SELECT string_agg(cust_id || state, ',' ORDER BY id) FROM customers")
        p = self.migrate(pg, os.path.join(self.dir, "new.db"), ok=False)
        self.assertIn("'default' is running", p.stderr)
        self.assertIn("nothing was copied", p.stderr)
        self.assertEqual(dump, self.psql(
            pg, "SELECT string_agg(cust_id || state, ',' ORDER BY id) FROM customers"))
        self.assertEqual(self.psql(pg, "SELECT state FROM campaigns"), "running")

    def test_an_unreachable_or_uninitialised_database_is_named_without_its_password(self):
        self.pd_on(self.old, "init")
        closed = f"postgresql://dialer:s3cret@127.0.0.1:{self.pg.port + 1}/nowhere"
        for args in ((self.old, closed), (closed, os.path.join(self.dir, "x.db"))):
            p = self.migrate(*args, ok=False)
            self.assertIn("127.0.0.1", p.stderr)
            self.assertNotIn("s3cret", p.stderr + p.stdout)
        empty = self.pg.create_database()
        p = self.migrate(empty, os.path.join(self.dir, "y.db"), ok=False)
        self.assertIn("not initialised", p.stderr)


if __name__ == "__main__":
    unittest.main()
