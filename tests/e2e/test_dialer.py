"""End-to-end tests of dialing through the real binary on the built-in
simulator: run, stop, crash and resume, simulate, demo. Each checks the
results CSV the way an operator would: one row per attempt, no phone dialled
twice for the same attempt, no abandons in power mode."""

import csv
import json
import os
import signal
import subprocess
import time
import unittest
from collections import Counter
from datetime import datetime, timezone

from binary_case import BIN, BinaryCase
OUTCOMES = {"connected", "no_answer", "busy", "invalid_number", "failed", "abandoned",
            "interrupted", "suppressed"}
# Quick calls, so real-time runs finish in seconds.
FAST_CALLS = ["--talk-mean", "2s", "--acw-mean", "1s", "--ring-timeout", "3s"]


def write_list(path, customers, phones_per_customer=1):
    with open(path, "w") as f:
        f.write("custID,phone,name\n")
        for i in range(customers):
            for p in range(phones_per_customer):
                f.write(f"C{i:05d},+1202{2000000 + i * 10 + p:07d},Customer {i}\n")


class DialerTest(BinaryCase):
    PREFIX = "pd-e2e-dial-"

    def init_any_hour(self, *args):
        """`init`, and calls at any hour: this test is not about calling
        windows (test_compliance.py is), so it must pass whenever it runs."""
        self.pd(*args, "init")
        self.pd(*args, "config", "set", "calling-hours", "00:00-24:00")

    def start_run(self, *args):
        p = subprocess.Popen([BIN, "--db", self.db, "run", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=self.dir)
        self.procs.append(p)
        return p

    def status(self):
        return json.loads(self.pd("status", "--json").stdout)

    def results(self):
        out = self.pd("results").stdout
        return list(csv.DictReader(out.splitlines()))

    def wait_for(self, predicate, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        self.fail("timed out waiting")

    def check_results(self, rows, customers, max_attempts=1):
        """The operator's checks on a results file."""
        self.assertTrue(all(r["outcome"] in OUTCOMES for r in rows), rows[:3])
        # Every attempt is its own row: (customer, phone, attempt) never repeats.
        keys = Counter((r["cust_id"], r["phone"], r["attempt"]) for r in rows)
        self.assertEqual([k for k, n in keys.items() if n > 1], [])
        # A phone is never tried more often than the rules allow.
        per_phone = Counter((r["cust_id"], r["phone"]) for r in rows)
        self.assertLessEqual(max(per_phone.values()), max_attempts)
        # Contact ids are unique: each placed call appears once.
        ids = [r["contact_id"] for r in rows if r["contact_id"]]
        self.assertEqual(len(ids), len(set(ids)))
        # After a connect, that customer is not called again.
        by_customer = {}
        for r in rows:
            by_customer.setdefault(r["cust_id"], []).append(r)
        for attempts in by_customer.values():
            reached = [i for i, a in enumerate(attempts) if a["outcome"] in ("connected", "abandoned")]
            if reached:
                self.assertEqual(reached[0], len(attempts) - 1, attempts)
        self.assertEqual(len(by_customer), customers)

    def test_run_dials_the_whole_list_once(self):
        write_list(os.path.join(self.dir, "list.csv"), 60, phones_per_customer=2)
        self.init_any_hour()
        self.pd("load", "list.csv")
        p = self.pd("run", "--speed", "500", "--agents", "6", "--seed", "3")
        self.assertIn("is done", p.stdout)
        st = self.status()
        self.assertEqual(st["state"], "done")
        self.assertEqual(st["customers_by_state"]["pending"], 0)
        self.assertEqual(st["attempts_in_flight"], 0)
        self.assertEqual(st["attempts_by_outcome"]["abandoned"], 0)
        rows = self.results()
        self.assertEqual(len(rows), st["attempts"])
        self.check_results(rows, customers=60)
        # Not reached on the first phone: the second phone was tried.
        firsts = {r["cust_id"]: r for r in rows if r["phone"].endswith("0")}
        seconds = {r["cust_id"] for r in rows if r["phone"].endswith("1")}
        for cust, r in firsts.items():
            if r["outcome"] in ("no_answer", "busy", "invalid_number", "failed"):
                self.assertIn(cust, seconds)
            else:
                self.assertNotIn(cust, seconds)

    def test_outputfile_receives_the_results_when_done(self):
        write_list(os.path.join(self.dir, "list.csv"), 10)
        self.init_any_hour()
        self.pd("load", "list.csv")
        self.pd("config", "set", "outputfile", "out/results.csv", ok=True)
        os.makedirs(os.path.join(self.dir, "out"))
        self.pd("run", "--speed", "1000", "--agents", "3")
        with open(os.path.join(self.dir, "out", "results.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 10)

    def test_stop_from_another_process_then_resume(self):
        write_list(os.path.join(self.dir, "list.csv"), 400)
        self.init_any_hour()
        self.pd("load", "list.csv")
        run = self.start_run("--speed", "1", "--agents", "4", *FAST_CALLS)
        self.wait_for(lambda: self.status()["attempts"] >= 8)
        stop_at = datetime.now(timezone.utc)
        p = self.pd("stop")
        self.assertIn("stop requested", p.stdout)
        _, err = run.communicate(timeout=60)
        self.assertEqual(run.returncode, 0, err)
        st = self.status()
        self.assertEqual(st["state"], "stopped")
        self.assertEqual(st["attempts_in_flight"], 0)
        self.assertGreater(st["customers_by_state"]["pending"], 0)
        rows = self.results()
        latest = max(datetime.fromisoformat(r["started_at"].replace("Z", "+00:00")) for r in rows)
        self.assertLess((latest - stop_at).total_seconds(), 1.0, "dialled after the stop")
        # Stopping twice, or a stopped campaign, is reported clearly.
        self.assertIn("not running", self.pd("stop", ok=False).stderr)
        # Resume: finishes the rest without calling anyone finished again.
        self.pd("run", "--speed", "1000", "--agents", "4")
        st = self.status()
        self.assertEqual(st["state"], "done")
        self.check_results(self.results(), customers=400)

    def test_kill_at_any_moment_loses_nobody_and_dials_nobody_twice(self):
        write_list(os.path.join(self.dir, "list.csv"), 300)
        self.init_any_hour()
        self.pd("load", "list.csv")
        for delay in (0.3, 0.7, 1.1):
            run = self.start_run("--speed", "30", "--agents", "8")
            time.sleep(delay)
            run.send_signal(signal.SIGKILL)
            run.wait()
        st = self.status()
        self.assertEqual(st["state"], "running")  # as the dead process left it
        # Stopping a campaign whose dialer is dead stops it at once.
        self.assertIn("no dialer is running", self.pd("stop").stdout)
        self.assertEqual(self.status()["state"], "stopped")
        self.pd("run", "--speed", "2000", "--agents", "8")
        st = self.status()
        self.assertEqual(st["state"], "done")
        self.assertEqual(st["attempts_in_flight"], 0)
        self.assertEqual(st["customers_by_state"]["pending"], 0)
        self.assertEqual(st["customers_by_state"]["dialing"], 0)
        rows = self.results()
        self.check_results(rows, customers=300)
        # Calls the dead runs left in flight were resolved, not redialled.
        self.assertGreater(st["attempts_by_outcome"]["interrupted"], 0)

    def test_kill_9_restarts_at_speed_keep_times_in_order_and_never_redial_the_reached(self):
        # Calls long enough that customers are talking to agents at each kill.
        calls = ["--talk-mean", "40s", "--acw-mean", "5s", "--ring-timeout", "10s",
                 "--answer-rate", "0.6"]
        write_list(os.path.join(self.dir, "list.csv"), 120)
        self.init_any_hour()
        self.pd("load", "list.csv")
        for k in range(4):
            run = self.start_run("--speed", "20", "--agents", "8", "--seed", str(k + 1), *calls)
            # Kill once someone is talking to an agent (or after 5 s anyway).
            deadline = time.time() + 5
            while time.time() < deadline and not any(
                    r["answered_at"] and not r["ended_at"] for r in self.results()):
                time.sleep(0.1)
            time.sleep(0.3)
            run.send_signal(signal.SIGKILL)
            run.wait()
        self.pd("run", "--speed", "200", "--agents", "8", *calls, timeout=180)
        st = self.status()
        self.assertEqual(st["state"], "done")
        rows = self.results()
        self.check_results(rows, customers=120)

        def at(value):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))

        # Times never go backwards within an attempt, across the restarts.
        for r in rows:
            self.assertTrue(r["ended_at"], r)
            answered = at(r["answered_at"]) if r["answered_at"] else at(r["started_at"])
            self.assertLessEqual(at(r["started_at"]), answered, r)
            self.assertLessEqual(answered, at(r["ended_at"]), r)
        # A customer who answered and reached an agent is never dialled again,
        # whatever became of the dialer.
        by_customer = {}
        for r in sorted(rows, key=lambda r: at(r["started_at"])):
            by_customer.setdefault(r["cust_id"], []).append(r)
        reached_in_flight = 0
        for attempts in by_customer.values():
            for i, a in enumerate(attempts):
                if a["answered_at"] and a["agent_id"]:
                    self.assertEqual(i, len(attempts) - 1, attempts)
                    self.assertEqual(a["outcome"], "connected", a)
                    reached_in_flight += a["disconnect_reason"] == "DIALER_RESTARTED"
        self.assertGreater(reached_in_flight, 0, "no kill caught a customer with an agent")
        # Every call placed kept its contact id, unique across the runs.
        for r in rows:
            if r["outcome"] != "interrupted":
                self.assertTrue(r["contact_id"], r)

    def test_a_second_run_is_refused_while_one_is_running(self):
        write_list(os.path.join(self.dir, "list.csv"), 200)
        self.init_any_hour()
        self.pd("load", "list.csv")
        self.start_run("--speed", "1", "--agents", "2", *FAST_CALLS)
        self.wait_for(lambda: self.status()["attempts"] >= 1)
        p = self.pd("run", "--speed", "1", ok=False)
        self.assertIn("another powerdialer process", p.stderr)
        p = self.pd("load", "list.csv", ok=False)
        self.assertIn("stop it before loading", p.stderr)

    def test_bad_run_flags_are_refused(self):
        self.init_any_hour()
        self.assertIn("no dialing list", self.pd("run", ok=False).stderr)
        write_list(os.path.join(self.dir, "list.csv"), 3)
        self.pd("load", "list.csv")
        self.assertIn("--talk-mean", self.pd("run", "--talk-mean", "soon", ok=False).stderr)
        self.assertIn("speed", self.pd("run", "--speed", "0", ok=False).stderr)

    def test_simulate_is_deterministic_and_abandons_nothing(self):
        target = os.path.join(self.dir, "sim.csv")
        args = ["simulate", "--agents", "25", "--customers", "1500", "--seed", "42",
                "--results", target]
        a = json.loads(self.pd(*args).stdout)
        b = json.loads(self.pd(*args).stdout)
        for key in ("agents", "customers", "dials", "connects", "abandons", "agent_occupancy",
                    "sim_seconds", "attempts_by_outcome", "dialer_idle_seconds"):
            self.assertEqual(a[key], b[key], key)
        self.assertEqual(a["agents"], 25)
        self.assertEqual(a["customers"], 1500)
        self.assertEqual(a["abandons"], 0)
        self.assertEqual(a["state"], "done")
        self.assertGreater(a["agent_occupancy"], 0.5)
        self.assertLessEqual(a["dialer_idle_seconds"], 0.001 * a["logged_in_agent_seconds"])
        with open(target, newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), a["dials"])
        self.assertEqual(sum(r["outcome"] == "abandoned" for r in rows), 0)
        self.check_results(rows, customers=1500)
        c = json.loads(self.pd("simulate", "--agents", "25", "--customers", "1500",
                               "--seed", "43").stdout)
        self.assertNotEqual(a["sim_seconds"], c["sim_seconds"])

    def test_simulate_with_the_realism_flags_repeats_and_bad_values_name_the_flag(self):
        args = ["simulate", "--agents", "20", "--customers", "4000", "--seed", "5",
                "--shift", "2h", "--days", "2", "--login-spread", "10m",
                "--break-every", "1h", "--break-length", "10m",
                "--amd-delay", "3s", "--machine-rate", "0.2",
                "--answer-drift", "0h=0.3,2h=15%", "--patience", "20s",
                "--patience-dist", "exponential", "--talk-dist", "exponential",
                "--acw-dist", "fixed", "--no-two-second-rule"]
        a = json.loads(self.pd(*args).stdout)
        b = json.loads(self.pd(*args).stdout)
        for key in ("dials", "connects", "abandons", "sim_seconds", "attempts_by_outcome",
                    "logged_in_agent_seconds"):
            self.assertEqual(a[key], b[key], key)
        self.assertEqual(a["state"], "done")
        self.assertEqual(a["dials"], 4000)
        self.assertGreater(a["connects"], 0)
        self.assertEqual(a["abandons"], 0)  # power mode: an agent waits for every call
        self.assertGreater(a["sim_seconds"], 24 * 3600)  # the second day was dialled
        # More than one day of 20 agents' 2 h shifts less a 10 m break.
        self.assertGreater(a["logged_in_agent_seconds"], 20 * (7200 - 600))
        for bad, flag in ((["--amd-delay", "soon"], "--amd-delay"),
                          (["--days", "2"], "--days"),
                          (["--talk-dist", "weibull"], "--talk-dist"),
                          (["--answer-drift", "0h=2"], "--answer-drift"),
                          (["--break-every", "1h"], "--break-length"),
                          (["--acw-dist", "fixed", "--acw-sigma", "1"], "--acw-sigma")):
            p = self.pd("simulate", "--customers", "10", *bad, ok=False)
            self.assertNotEqual(p.returncode, 0, bad)
            self.assertIn(flag, p.stderr, bad)

    def test_simulate_pacing_progressive_dials_ahead_and_reports_its_figures(self):
        target = os.path.join(self.dir, "prog.csv")
        common = ["simulate", "--agents", "20", "--customers", "4000", "--seed", "7",
                  "--answer-rate", "0.2", "--talk-mean", "120s", "--acw-mean", "15s",
                  "--shift", "1h"]
        power = json.loads(self.pd(*common).stdout)
        prog = json.loads(self.pd(*common, "--pacing", "progressive", "--lines-per-agent", "2",
                                  "--results", target).stdout)
        self.assertEqual(power["pacing"], "power")
        self.assertEqual(prog["pacing"], "progressive")
        # Power mode never has more calls up than agents; progressive does.
        self.assertLessEqual(power["lines_per_agent"], 1.0)
        self.assertEqual(power["abandon_rate"], 0)
        self.assertGreater(prog["lines_per_agent"], 1.1)
        self.assertGreater(prog["talk_minutes_per_agent_hour"],
                           power["talk_minutes_per_agent_hour"] + 3)
        self.assertLessEqual(prog["lines_per_agent"], 3.0)  # max-lines-per-agent
        # The figures are the results CSV's: answered = connected + abandoned.
        with open(target, newline="") as f:
            rows = list(csv.DictReader(f))
        connected = [r for r in rows if r["outcome"] == "connected"]
        abandoned = sum(r["outcome"] == "abandoned" for r in rows)
        self.assertEqual(prog["answered"], len(connected) + abandoned)
        self.assertGreater(abandoned, 0)
        self.assertAlmostEqual(prog["abandon_rate"], abandoned / prog["answered"])
        self.assertEqual(len(prog["abandon_rate_by_day"]), 1)
        self.assertAlmostEqual(prog["abandon_rate_by_day"][0], prog["abandon_rate"])
        self.assertAlmostEqual(prog["dials_per_connect"], prog["dials"] / prog["connects"])

        def seconds(t):
            return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
        talk = sum(seconds(r["ended_at"]) - seconds(r["answered_at"]) for r in connected)
        self.assertAlmostEqual(prog["talk_seconds"], talk, delta=1 + 0.001 * len(connected))
        self.assertAlmostEqual(prog["talk_minutes_per_agent_hour"],
                               talk / 60 / (prog["logged_in_agent_seconds"] / 3600), delta=0.05)
        # The shift ended before the list: every customer dialled is in the file once.
        self.check_results(rows, customers=len({r["cust_id"] for r in rows}))
        self.assertEqual(len(rows), prog["dials"])

    def test_simulate_predictive_beats_power_within_the_target_abandon_rate(self):
        # The 20-agent scenario, one 8-hour day (a campaign's first:
        # the pacer learns as power mode before it dials ahead).
        common = ["simulate", "--agents", "20", "--customers", "30000", "--seed", "1",
                  "--answer-rate", "0.2", "--busy-rate", "0.05", "--talk-mean", "120s",
                  "--acw-mean", "15s", "--shift", "8h"]
        power = json.loads(self.pd(*common).stdout)
        pred = json.loads(self.pd(*common, "--pacing", "predictive").stdout)
        self.assertEqual(pred["pacing"], "predictive")
        # Never paused by the store for crossing max-abandon-rate (3%), and
        # at or under target-abandon-rate (2.5%) for the day.
        self.assertEqual(pred["state"], "running", pred["stop_reason"])
        self.assertEqual(pred["target_abandon_rate"], 0.025)
        self.assertGreater(pred["abandon_rate"], 0)  # it dialled ahead
        self.assertLessEqual(pred["abandon_rate"], pred["target_abandon_rate"])
        self.assertEqual(len(pred["abandon_rate_by_day"]), 1)
        self.assertLessEqual(pred["abandon_rate_by_day"][0], 0.025)
        # Talk time: power mode ~30 talk-min per agent-hour; predictive within
        # reach of the bound, 60 x talk / (talk + after-call work).
        bound = 60 * 120 / (120 + 15)
        self.assertLess(power["talk_minutes_per_agent_hour"], 32)
        self.assertGreater(pred["talk_minutes_per_agent_hour"],
                           power["talk_minutes_per_agent_hour"] + 12)
        self.assertGreater(pred["talk_minutes_per_agent_hour"], 0.8 * bound)
        self.assertLessEqual(pred["talk_minutes_per_agent_hour"], bound)

    def test_simulate_gives_the_same_run_in_memory_as_in_a_kept_sqlite_store(self):
        # Without --store a simulation's store is in memory (fast); with it,
        # an SQLite file. Same seed, same run: every figure and every row of
        # the results, through predictive pacing, retries, second phones,
        # calling windows that hold customers overnight, and caps.
        write_list(os.path.join(self.dir, "two.csv"), 3000, phones_per_customer=2)
        common = ["simulate", "--agents", "12", "--list", "two.csv", "--seed", "3",
                  "--answer-rate", "0.3", "--talk-mean", "60s", "--acw-mean", "10s",
                  "--shift", "8h", "--days", "2", "--pacing", "predictive",
                  "--max-attempts", "2", "--retry-delay", "20m",
                  "--config", "calling-hours=09:00-13:00",
                  "--config", "max-calls-per-24h=1"]
        memory = json.loads(self.pd(*common, "--results", "memory.csv").stdout)
        kept = json.loads(self.pd(*common, "--results", "kept.csv",
                                  "--store", "kept.db").stdout)
        self.assertEqual((memory.pop("store"), kept.pop("store")), ("memory", "sqlite"))
        for timing in ("wall_seconds", "dial_latency_us"):  # real time, not the run's
            memory.pop(timing)
            kept.pop(timing)
        self.assertEqual(memory, kept)
        with open(os.path.join(self.dir, "memory.csv"), "rb") as a, \
                open(os.path.join(self.dir, "kept.csv"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        # The run did what this test means to compare.
        self.assertGreater(memory["abandons"], 0)
        self.assertGreater(memory["attempts_by_outcome"]["no_answer"], 0)
        self.assertGreater(memory["sim_seconds"], 24 * 3600)
        self.assertIn("calling-window",
                      self.pd_on("kept.db", "--campaign", "simulate", "compliance").stdout)

    def test_simulate_refuses_a_bad_pacing_flag_naming_it(self):
        p = self.pd("simulate", "--agents", "2", "--customers", "10", "--pacing", "turbo",
                    ok=False)
        self.assertIn("--pacing", p.stderr)
        self.assertIn("power, progressive, predictive, vicidial-adapt", p.stderr)
        p = self.pd("simulate", "--agents", "2", "--customers", "10", "--pacing", "progressive",
                    "--lines-per-agent", "4", ok=False)
        self.assertIn("lines-per-agent", p.stderr)

    def test_connect_refuses_the_baseline_and_over_dialling_without_a_queue(self):
        self.init_any_hour()
        write_list(os.path.join(self.dir, "list.csv"), 3)
        self.pd("load", "list.csv")
        self.pd("config", "set", "pacing", "vicidial-adapt")
        p = self.pd("run", "--backend", "connect", ok=False)
        self.assertIn("vicidial-adapt is a benchmark baseline", p.stderr)
        self.pd("config", "set", "pacing", "progressive")
        p = self.pd("run", "--backend", "connect", ok=False)
        self.assertIn("no `queue` is configured", p.stderr)
        self.assertIn("config set queue", p.stderr)
        # The simulator takes either.
        self.pd("config", "set", "pacing", "vicidial-adapt")
        self.pd("run", "--speed", "1000", *FAST_CALLS)

    def test_demo_runs_end_to_end(self):
        p = subprocess.run([BIN, "demo", "--dir", "demo", "--speed", "3000"], capture_output=True,
                           text=True, cwd=self.dir, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("line 58", p.stderr)  # the bad rows are reported
        results = os.path.join(self.dir, "demo", "results.csv")
        self.assertIn(results.split(os.sep)[-1], p.stdout)
        with open(results, newline="") as f:
            rows = list(csv.DictReader(f))
        self.check_results(rows, customers=200)


if __name__ == "__main__":
    unittest.main()
