"""End-to-end test of over-dialling on Amazon Connect, against moto_server
(Kinesis) and `powerdialer connect-standin` (Connect, driven by the
simulator), as tests/e2e/test_connect.py runs a power campaign.

An over-dialling campaign (more calls in flight than free agents; the
contact flow puts answered calls into the queue) runs with `--backend
connect`. Then:
- its abandon rate, as the dialer's ledger counts it from the contact
  records, stays under target-abandon-rate;
- no customer is called twice;
- `status` in another process shows the pacing live while it dials.
(test_pacing_connect_ctrs.py checks that the abandons counted from the CTRs
are the stand-in's own, call by call.)

PACING is the mode under test: predictive (POWERDIALER_E2E_PACING=progressive
runs it with a fixed over-dial instead)."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from collections import Counter

from local_aws import BIN, MotoServer, Standin, aws_env

PACING = os.environ.get("POWERDIALER_E2E_PACING", "predictive")
INSTANCE = "11111111-2222-3333-4444-555555555555"
QUEUE = "aaaaaaaa-1111-2222-3333-444444444444"
FLOW = "22222222-3333-4444-5555-666666666666"
CUSTOMERS = 120
TARGET = 0.025
# Short calls and a low answer rate: where dialling ahead pays, and where an
# over-dialler that ignored the abandon target would show it.
CONTACT_CENTRE = ["--agents", "6", "--talk-mean", "2s", "--acw-mean", "1s",
                  "--ring-timeout", "3s", "--answer-rate", "0.3", "--heartbeat", "2"]


class PacingOnConnectCase(unittest.TestCase):
    """A Connect stand-in (on moto_server) and a dialer store per test; no
    tests of its own (test_pacing_connect_ctrs.py shares it, so ctest runs
    the two modules side by side)."""

    @classmethod
    def setUpClass(cls):
        cls.moto = MotoServer()

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pd-e2e-pacing-")
        self.db = os.path.join(self.dir, "p.db")
        self.env = aws_env(self.dir, self.moto.endpoint)
        self.streams = (f"agents-{self._testMethodName[:30]}", f"ctrs-{self._testMethodName[:30]}")
        self.standin = None
        self.procs = []

    def start_standin(self, *extra):
        # FLAG VALUE pairs given here replace CONTACT_CENTRE's of the same name.
        given = set(extra[0::2])
        base = [x for flag, value in zip(CONTACT_CENTRE[0::2], CONTACT_CENTRE[1::2])
                if flag not in given for x in (flag, value)]
        self.standin = Standin(self.dir, self.env, *base, *extra, streams=self.streams)

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.communicate()
        if self.standin:
            self.standin.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def pd(self, *args, ok=True, timeout=300):
        p = subprocess.run([BIN, "--db", self.db, *args], capture_output=True, text=True,
                           cwd=self.dir, env=self.env, timeout=timeout)
        if ok:
            self.assertEqual(p.returncode, 0, f"{args}: {p.stderr}")
        return p

    def status(self):
        return json.loads(self.pd("status", "--json").stdout)

    def configure(self, pacing, customers=CUSTOMERS, lines="1.3"):
        path = os.path.join(self.dir, "list.csv")
        with open(path, "w") as f:
            f.write("custID,phone\n")
            for i in range(customers):
                f.write(f"C{i:04d},+1202{5000000 + i:07d}\n")
        self.pd("init")
        for key, value in [("connectid", INSTANCE), ("contactflow", FLOW), ("queue", QUEUE),
                           ("agent-stream", self.streams[0]), ("ctr-stream", self.streams[1]),
                           ("connect-endpoint", self.standin.endpoint),
                           ("max-attempts", "1"),
                           ("calling-hours", "00:00-24:00"),  # not a calling-window test
                           ("pacing", pacing), ("lines-per-agent", lines),
                           ("target-abandon-rate", f"{TARGET * 100:g}%")]:
            self.pd("config", "set", key, value)
        self.pd("load", path)



class PacingOnConnectTest(PacingOnConnectCase):
    def test_an_over_dialling_campaign_stays_under_the_abandon_target(self):
        self.start_standin()
        self.configure(PACING)
        run = subprocess.Popen([BIN, "--db", self.db, "run", "--backend", "connect"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=self.dir, env=self.env)
        self.procs.append(run)
        # While it dials, `status` here (another process) shows the pacing:
        # the mode from the configuration, the level from the engine's
        # heartbeat.
        live = None
        deadline = time.time() + 60
        while time.time() < deadline and run.poll() is None:
            pacing = self.status()["pacing"]
            if pacing["lines_per_agent"] is not None:
                live = pacing
                break
            time.sleep(0.2)
        self.assertIsNotNone(live, "status never showed the live lines per agent")
        self.assertEqual(live["mode"], PACING)
        self.assertGreater(live["lines_per_agent"], 0)
        self.assertLessEqual(live["lines_per_agent"], 3)  # max-lines-per-agent
        self.assertAlmostEqual(live["target_abandon_rate"], TARGET)
        text = self.pd("status").stdout
        self.assertIn(f"pacing     {PACING}", text)
        # What the pacer did, sampled until the end (shown with -v): how long
        # it learnt (predictive dials as power mode until it has seen enough
        # outcomes) and the highest level it dialled at.
        samples = []
        while run.poll() is None:
            p = self.status()["pacing"]
            if p["lines_per_agent"] is not None:
                samples.append((p["warming_up"], p["lines_per_agent"]))
            time.sleep(0.5)
        learning = sum(1 for w, _ in samples if w)
        print(f"\n{PACING}: {len(samples)} samples, {learning} warming up, highest "
              f"{max((x for _, x in samples), default=0):.2f} lines per agent", file=sys.stderr)
        out, err = run.communicate(timeout=400)
        self.assertEqual(run.returncode, 0, err)
        self.assertIn("campaign 'default' is done", out)

        ledger = self.standin.contacts()
        results = self.pd("results").stdout
        rows = list(csv.DictReader(io.StringIO(results)))
        by_contact = {c["contact_id"]: c for c in ledger}

        # Every customer once, and no customer called twice.
        self.assertEqual(len(rows), CUSTOMERS)
        self.assertEqual(len({r["cust_id"] for r in rows}), CUSTOMERS)
        phones = Counter(c["phone"] for c in ledger)
        self.assertEqual([p for p, n in phones.items() if n > 1], [], "a customer was called twice")
        self.assertEqual(len(ledger), CUSTOMERS)

        # Abandons read from the contact records are the stand-in's own, call
        # by call (its CTRs carry ConnectedToSystemTimestamp, the queue's
        # times and the agent's, as Connect's do).
        for r in rows:
            self.assertIn(r["contact_id"], by_contact, r)
            truth = by_contact[r["contact_id"]]
            self.assertEqual(r["outcome"], truth["outcome"], r)
            if r["outcome"] in ("connected", "abandoned"):
                self.assertTrue(truth["answered_at"], truth)
            if r["outcome"] == "connected":
                self.assertTrue(r["answered_at"], r)
        abandoned = sum(1 for c in ledger if c["outcome"] == "abandoned")
        connected = sum(1 for c in ledger if c["outcome"] == "connected")
        self.assertGreater(connected, 0)

        # The dialer's abandon ledger (what pacing and the max-abandon-rate
        # pause steer by) counts the same, and stays under the target.
        st = self.status()
        a = st["abandon_rate"]
        self.assertEqual(a["abandoned_today"], abandoned, a)
        self.assertEqual(a["answered_today"], abandoned + connected, a)
        rate = abandoned / (abandoned + connected)
        self.assertLessEqual(rate, TARGET, f"{abandoned} abandoned of {abandoned + connected}")
        self.assertAlmostEqual(st["pacing"]["abandon_rate_today"], round(rate, 4))
        self.assertEqual(st["pacing"]["over_target"], False)
        # Finished: no live level any more.
        self.assertIsNone(st["pacing"]["lines_per_agent"])


if __name__ == "__main__":
    unittest.main()
