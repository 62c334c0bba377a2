"""The real binary on a PostgreSQL store (--db postgresql://...), against a
throw-away server (pgserver.py): init, load, run a campaign on the simulator
to the end, then status and results as an operator reads them. Every
customer is reached or exhausted, and no (customer, phone, attempt) repeats."""

import csv
import json
import os
import subprocess
import unittest
from collections import Counter

from pgserver import ServerPerClass

from binary_case import BIN, BinaryCase


def write_list(path, customers, phones_per_customer=1):
    with open(path, "w") as f:
        f.write("custID,phone,name\n")
        for i in range(customers):
            for p in range(phones_per_customer):
                f.write(f"C{i:05d},+1202{2000000 + i * 10 + p:07d},Customer {i}\n")


class PostgresStoreTest(ServerPerClass, BinaryCase):
    PREFIX = "pd-e2e-pg-"
    TIMEOUT = 180

    def setUp(self):
        super().setUp()
        self.db = self.pg.create_database()

    def test_a_campaign_runs_to_the_end_on_postgresql(self):
        write_list(os.path.join(self.dir, "list.csv"), 80, phones_per_customer=2)
        self.pd("init")
        self.pd("config", "set", "calling-hours", "00:00-24:00")  # not a calling-window test
        self.pd("load", "list.csv")
        # Nothing was written beside us: the store is the server's.
        self.assertEqual(os.listdir(self.dir), ["list.csv"])
        name = self.db.rsplit("/", 1)[1]
        self.assertEqual(self.pg.psql("SELECT count(DISTINCT cust_id) FROM customers", db=name),
                         "80")
        p = self.pd("run", "--backend", "sim", "--speed", "500", "--agents", "6", "--seed", "5")
        self.assertIn("is done", p.stdout)

        st = json.loads(self.pd("status", "--json").stdout)
        self.assertEqual(st["state"], "done")
        self.assertEqual(st["customers"], 80)
        self.assertEqual(st["attempts_in_flight"], 0)
        by_state = st["customers_by_state"]
        self.assertEqual(by_state.get("pending", 0), 0)
        self.assertEqual(by_state.get("dialing", 0), 0)
        self.assertEqual(by_state.get("reached", 0) + by_state.get("exhausted", 0), 80, by_state)

        rows = list(csv.DictReader(self.pd("results").stdout.splitlines()))
        self.assertEqual(len(rows), st["attempts"])
        keys = Counter((r["cust_id"], r["phone"], r["attempt"]) for r in rows)
        self.assertEqual([k for k, n in keys.items() if n > 1], [])
        self.assertEqual(len({r["cust_id"] for r in rows}), 80)
        ids = [r["contact_id"] for r in rows if r["contact_id"]]
        self.assertEqual(len(ids), len(set(ids)))
        # The server's own tables say the same.
        self.assertEqual(self.pg.psql("SELECT count(*) FROM attempts", db=name), str(len(rows)))
        self.assertEqual(self.pg.psql("SELECT count(*) FROM attempts WHERE ended_at IS NULL",
                                      db=name), "0")

    def test_the_url_can_come_from_the_environment(self):
        env = dict(os.environ, POWERDIALER_DB=self.db)
        p = subprocess.run([BIN, "init"], capture_output=True, text=True, cwd=self.dir,
                           timeout=60, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run([BIN, "status", "--json"], capture_output=True, text=True,
                           cwd=self.dir, timeout=60, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["customers"], 0)
        self.assertEqual(os.listdir(self.dir), [])

    def test_an_unreachable_server_is_named_without_a_password(self):
        url = f"postgresql://postgres:s3cret@127.0.0.1:{self.pg.port}/no_such_db"
        p = subprocess.run([BIN, "--db", url, "status"], capture_output=True, text=True,
                           cwd=self.dir, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn("s3cret", p.stderr + p.stdout)
        self.assertIn("no_such_db", p.stderr)


if __name__ == "__main__":
    unittest.main()
