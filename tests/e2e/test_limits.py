"""End-to-end tests of the compliance limits and dispositions: the real
binary, two campaigns in one store (caps count calls across campaigns), and
an agent's wrap-up code posted through the HTTP API."""

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
from datetime import datetime, timedelta, timezone

from test_serve import Server, ServeTestBase

BIN = os.environ.get("POWERDIALER_BIN", "build/powerdialer")
# Every call answered and put through at once (enough agents), fast talk.
ANSWER_ALL = ["--agents", "5", "--answer-rate", "1", "--busy-rate", "0", "--invalid-rate", "0",
              "--talk-mean", "2s", "--acw-mean", "1s"]


def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class CapsAcrossCampaignsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pd-e2e-limits-")
        self.db = os.path.join(self.dir, "test.db")
        self.pd("init")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def pd(self, *args, ok=True, campaign=None):
        cmd = [BIN, "--db", self.db] + (["--campaign", campaign] if campaign else [])
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, cwd=self.dir,
                           timeout=180)
        if ok:
            self.assertEqual(p.returncode, 0, f"{args}: {p.stderr}")
        return p

    def campaign(self, name, rows, **config):
        self.pd("init", campaign=name)
        # Not a test of calling windows: any hour will do.
        if "calling-hours" in self.pd("config", "list", "--json", campaign=name).stdout:
            self.pd("config", "set", "calling-hours", "00:00-24:00", campaign=name)
        for key, value in config.items():
            self.pd("config", "set", key, value, campaign=name)
        path = os.path.join(self.dir, f"{name}.csv")
        with open(path, "w") as f:
            f.write("custID,phone\n" + "".join(f"{c},{p}\n" for c, p in rows))
        self.pd("load", path, campaign=name)

    def results(self, name):
        out = self.pd("results", campaign=name).stdout
        return list(csv.DictReader(io.StringIO(out)))

    def test_caps_count_calls_to_a_phone_and_a_customer_across_campaigns(self):
        caps = {"max-calls-per-24h": "1", "max-customer-calls-per-24h": "1"}
        self.campaign("spring", [("C1", "+12025550101"), ("C2", "+12025550102")], **caps)
        # Campaign "autumn" calls the same phone (another customer id) and the
        # same customer id (on another phone), and one number nobody called.
        self.campaign("autumn", [("X1", "+12025550101"), ("C2", "+12025550199"),
                                 ("X3", "+12025550103")], **caps)
        self.pd("run", "--speed", "100", *ANSWER_ALL, campaign="spring")
        spring = self.results("spring")
        self.assertEqual(len(spring), 2)
        # At 10000x a held day passes in about 9 s of real time.
        self.pd("run", "--speed", "10000", *ANSWER_ALL, campaign="autumn")
        autumn = {r["cust_id"]: r for r in self.results("autumn")}
        self.assertEqual(set(autumn), {"X1", "C2", "X3"})
        first = {r["phone"]: when(r["started_at"]) for r in spring}
        by_cust = {r["cust_id"]: when(r["started_at"]) for r in spring}
        day = timedelta(hours=24)
        # The capped phone waits until spring's call to it leaves the window.
        self.assertGreaterEqual(when(autumn["X1"]["started_at"]), first["+12025550101"] + day)
        # So does the capped customer, on a phone never called before.
        self.assertGreaterEqual(when(autumn["C2"]["started_at"]), by_cust["C2"] + day)
        # The uncapped one is called at once.
        self.assertLess(when(autumn["X3"]["started_at"]), first["+12025550101"] + day)
        st = json.loads(self.pd("status", "--json", campaign="autumn").stdout)
        self.assertEqual(st["customers_by_state"]["reached"], 3)
        rates = json.loads(self.pd("status", "--json", campaign="spring").stdout)["abandon_rate"]
        self.assertEqual((rates["answered_30d"], rates["abandoned_30d"]), (2, 0))

    def test_simulated_wrap_up_codes_reach_the_results_and_act(self):
        self.campaign("codes", [("K1", "+12025550121"), ("K2", "+12025550122")],
                      dispositions="SALE=done,CALLBACK=callback:2h")
        self.pd("run", "--speed", "100", *ANSWER_ALL, "--dispositions", "SALE=1",
                campaign="codes")
        rows = self.results("codes")
        self.assertEqual([r["disposition"] for r in rows], ["SALE", "SALE"])
        st = json.loads(self.pd("status", "--json", campaign="codes").stdout)
        self.assertEqual(st["customers_by_state"]["reached"], 2)
        bad = self.pd("run", "--dispositions", "SALE=2", campaign="codes", ok=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("--dispositions", bad.stderr)

    def test_a_campaign_at_max_abandon_rate_stops_and_status_says_why(self):
        self.campaign("ledger", [(f"C{i}", f"+1202555{i:04d}") for i in range(5)])
        # The ledger as a month of dialing left it: 5 abandoned of 100
        # answered today (UTC: the campaign has no default-timezone).
        db = sqlite3.connect(self.db)
        with db:
            (cid,) = db.execute("SELECT id FROM campaigns WHERE name = 'ledger'").fetchone()
            today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
            db.execute("INSERT INTO abandon_ledger(campaign_id, day, answered, abandoned) "
                       "VALUES(?, ?, 100, 5)", (cid, today))
        db.close()
        rates = json.loads(self.pd("status", "--json", campaign="ledger").stdout)["abandon_rate"]
        self.assertEqual((rates["answered_30d"], rates["abandoned_30d"]), (100, 5))
        self.assertEqual(rates["rate_30d"], "5.0%")
        self.assertEqual(rates["max"], "3%")
        self.assertTrue(rates["paused"])

        run = self.pd("run", "--speed", "100", *ANSWER_ALL, campaign="ledger", ok=False)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("30-day abandon rate 5.0% reached max-abandon-rate 3%", run.stderr)
        st = json.loads(self.pd("status", "--json", campaign="ledger").stdout)
        self.assertEqual(st["state"], "stopped")
        self.assertEqual(st["attempts"], 0)     # nothing was dialled
        text = self.pd("status", campaign="ledger").stdout
        self.assertIn("paused: 30-day abandon rate 5.0% reached max-abandon-rate 3%", text)

        # Raised, the limit lets it dial; its own calls join the ledger.
        self.pd("config", "set", "max-abandon-rate", "0.06", campaign="ledger")
        self.pd("run", "--speed", "100", *ANSWER_ALL, campaign="ledger")
        rates = json.loads(self.pd("status", "--json", campaign="ledger").stdout)["abandon_rate"]
        self.assertEqual(rates["answered_30d"], 105)
        self.assertFalse(rates["paused"])


class DispositionApiTest(ServeTestBase):
    @classmethod
    def setUpClass(cls):
        cls.start_server("--speed", "20", *ANSWER_ALL)

    def test_a_callback_code_posted_for_an_attempt_calls_the_customer_again(self):
        self.create("wrapup")
        config = {"dispositions": "SALE=done,CALLBACK=callback:2h,DNC=dnc"}
        if "calling-hours" in self.api("GET", "/api/campaigns/wrapup/config")["config"]:
            config["calling-hours"] = "00:00-24:00"
        self.api("PATCH", "/api/campaigns/wrapup/config", config)
        rows = "custID,phone\nW1,+12025550111\nW2,+12025550112\n"
        self.api("PUT", "/api/campaigns/wrapup/list", rows.encode(),
                 headers={"Content-Type": "text/csv"})
        self.api("POST", "/api/campaigns/wrapup/start", expect=202)
        self.wait_for(lambda: self.campaign("wrapup")["state"] == "done", timeout=120,
                      what="the campaign to finish")
        rows = list(csv.DictReader(io.StringIO(
            self.api("GET", "/api/campaigns/wrapup/results").decode())))
        self.assertEqual({r["outcome"] for r in rows}, {"connected"})
        w1 = next(r for r in rows if r["cust_id"] == "W1")

        at = "2031-05-01T15:00:00Z"
        done = self.api("POST", f"/api/campaigns/wrapup/attempts/{w1['contact_id']}/disposition",
                        {"disposition": "CALLBACK", "callback_at": at})
        self.assertEqual(done["action"], "callback")
        self.assertTrue(done["applied"])
        self.assertEqual(done["callable_at"], "2031-05-01T15:00:00.000Z")
        st = self.campaign("wrapup")
        self.assertEqual(st["customers_by_state"]["pending"], 1)
        self.assertEqual(st["next_callable_at"], "2031-05-01T15:00:00.000Z")
        rows = list(csv.DictReader(io.StringIO(
            self.api("GET", "/api/campaigns/wrapup/results").decode())))
        self.assertEqual(next(r for r in rows if r["cust_id"] == "W1")["disposition"],
                         "CALLBACK")

        # Bad requests name what is wrong.
        base = f"/api/campaigns/wrapup/attempts/{w1['contact_id']}/disposition"
        err = self.api("POST", base, {"disposition": "SALE", "callback_at": "tomorrow"},
                       expect=400)
        self.assertIn("callback_at", err["error"])
        err = self.api("POST", base, {"code": "SALE"}, expect=400)
        self.assertIn("'code'", err["error"])
        self.api("POST", "/api/campaigns/wrapup/attempts/999999/disposition",
                 {"disposition": "SALE"}, expect=404)
        self.api("POST", "/api/campaigns/other/attempts/1/disposition",
                 {"disposition": "SALE"}, expect=404)


if __name__ == "__main__":
    unittest.main()
