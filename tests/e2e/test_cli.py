"""End-to-end tests of the powerdialer command line: they run the real
binary, as a user would, in a scratch directory."""

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("POWERDIALER_BIN", "build/powerdialer")
FIXTURES = os.environ.get("POWERDIALER_FIXTURES", "tests/fixtures")


class CliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pd-e2e-")
        self.db = os.path.join(self.dir, "test.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def pd(self, *args, ok=True, campaign=None):
        cmd = [BIN, "--db", self.db]
        if campaign:
            cmd += ["--campaign", campaign]
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, cwd=self.dir,
                           timeout=120)
        if ok:
            self.assertEqual(p.returncode, 0, f"{args}: {p.stderr}")
        else:
            self.assertNotEqual(p.returncode, 0, f"{args} should fail: {p.stdout}")
        return p

    def fixture(self, name):
        return os.path.join(FIXTURES, name)

    def status(self, campaign=None):
        return json.loads(self.pd("status", "--json", campaign=campaign).stdout)

    def test_help_on_every_subcommand(self):
        for sub in ["init", "config", "load", "status", "results", "campaigns", "rejects", "run",
                    "stop", "simulate", "demo"]:
            p = subprocess.run([BIN, sub, "--help"], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, sub)
            self.assertIn("Usage", p.stdout)

    def test_commands_before_init_say_what_to_do(self):
        p = self.pd("status", ok=False)
        self.assertIn("powerdialer init", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)

    def test_init_twice_is_safe_and_keeps_configuration(self):
        self.pd("init")
        self.pd("config", "set", "max-attempts", "3")
        self.pd("init")
        self.assertEqual(self.pd("config", "get", "max-attempts").stdout.strip(), "3")

    def test_config_validation_names_the_key(self):
        self.pd("init")
        p = self.pd("config", "set", "max-attempts", "lots", ok=False)
        self.assertIn("max-attempts", p.stderr)
        self.assertIn("1 to 20", p.stderr)
        p = self.pd("config", "set", "colour", "blue", ok=False)
        self.assertIn("unknown config key 'colour'", p.stderr)
        p = self.pd("config", "get", "colour", ok=False)
        self.assertIn("colour", p.stderr)
        self.pd("config", "set", "retry-delay", "600")
        self.pd("config", "set", "queue",
                "arn:aws:connect:us-east-1:123456789012:instance/"
                "11111111-1111-1111-1111-111111111111/queue/"
                "33333333-3333-3333-3333-333333333333")
        listed = json.loads(self.pd("config", "list", "--json").stdout)
        self.assertEqual(listed["retry-delay"], "10m")
        self.assertEqual(listed["queue"], "33333333-3333-3333-3333-333333333333")
        self.assertEqual(listed["default-region"], "US")
        self.assertIsNone(listed["connectid"])
        self.pd("config", "unset", "retry-delay")
        self.assertEqual(self.pd("config", "get", "retry-delay").stdout.strip(), "5m")

    def test_load_good_list_normalises_and_groups_phones(self):
        self.pd("init")
        p = self.pd("load", self.fixture("good.csv"))
        self.assertIn("loaded 5 phone(s)", p.stdout)
        st = self.status()
        self.assertEqual(st["campaign"], "default")
        self.assertEqual(st["state"], "idle")
        self.assertEqual(st["customers"], 4)
        self.assertEqual(st["phones"], 5)
        self.assertEqual(st["rejected_rows"], 0)
        self.assertEqual(st["customers_by_state"]["pending"], 4)
        self.assertEqual(st["attempts"], 0)
        self.assertEqual(set(st["attempts_by_outcome"]),
                         {"connected", "no_answer", "busy", "invalid_number", "failed",
                          "abandoned", "interrupted", "suppressed"})

    def test_load_bad_rows_reports_each_with_its_line(self):
        self.pd("init")
        p = self.pd("load", self.fixture("bad.csv"))
        err = p.stderr
        self.assertIn("line 3:", err)     # too short
        self.assertNotIn("line 4:", err)  # a blank line is skipped, as CSV tools do
        self.assertIn("line 5: missing custID", err)
        self.assertIn("line 6: missing phone", err)
        self.assertIn("line 7:", err)     # unterminated quote
        self.assertNotIn("line 2:", err)
        self.assertIn("4 row(s) rejected", p.stdout)
        st = self.status()
        self.assertEqual(st["customers"], 1)
        self.assertEqual(st["rejected_rows"], 4)
        self.assertEqual(st["rejects_by_reason"],
                         {"invalid_phone": 1, "missing_custid": 1, "missing_phone": 1,
                          "unreadable_row": 1})
        self.assertEqual(st["rejects_not_listed"], 0)
        # They are kept with the list, for whoever looks later.
        kept = json.loads(self.pd("rejects", "--json").stdout)
        self.assertEqual([r["line"] for r in kept["rejects"]], [3, 5, 6, 7])
        self.assertEqual(kept["rejects"][1]["reason"], "missing custID")
        self.assertEqual(kept["rejected_rows"], 4)
        self.assertIn("line 5: missing custID", self.pd("rejects").stdout)
        self.assertIn("rejected   4 row(s) at the last load: ", self.pd("status").stdout)

    def test_file_errors_leave_the_list_untouched(self):
        self.pd("init")
        self.pd("load", self.fixture("good.csv"))
        for name, needle in [("no-columns.csv", "custID"), ("empty.csv", "empty"),
                             ("missing.csv", "missing.csv")]:
            p = self.pd("load", self.fixture(name), ok=False)
            self.assertIn(needle, p.stderr, name)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertEqual(self.status()["customers"], 4, name)

    def test_all_rows_rejected_keeps_the_previous_list(self):
        self.pd("init")
        self.pd("load", self.fixture("good.csv"))
        bad = os.path.join(self.dir, "allbad.csv")
        with open(bad, "w") as f:
            f.write("custID,phone\nX1,12\nX2,not a number\n")
        p = self.pd("load", bad, ok=False)
        self.assertIn("no valid rows", p.stderr)
        self.assertEqual(self.status()["customers"], 4)

    def test_append_adds_and_replace_resets(self):
        self.pd("init")
        self.pd("load", self.fixture("good.csv"))
        self.pd("load", "--append", self.fixture("injection.csv"))
        self.assertEqual(self.status()["customers"], 5)
        self.pd("load", self.fixture("injection.csv"))
        self.assertEqual(self.status()["customers"], 1)

    def test_inputfile_config_is_used_when_no_file_is_given(self):
        self.pd("init")
        self.pd("load", ok=False)
        self.pd("config", "set", "inputfile", self.fixture("good.csv"))
        self.pd("load")
        self.assertEqual(self.status()["customers"], 4)

    def test_default_region_applies_to_numbers_without_plus(self):
        self.pd("init")
        self.pd("config", "set", "default-region", "GB")
        path = os.path.join(self.dir, "gb.csv")
        with open(path, "w") as f:
            f.write("custID,phone\nG1,020 7946 0958\nG2,(202) 555-0102\n")
        p = self.pd("load", path)
        self.assertIn("line 3:", p.stderr)  # a US-style number is not valid in GB
        self.assertEqual(self.status()["phones"], 1)

    def test_results_have_the_documented_header(self):
        self.pd("init")
        self.pd("load", self.fixture("good.csv"))
        out = self.pd("results").stdout
        self.assertEqual(out.splitlines()[0],
                         "campaign,cust_id,phone,attempt,started_at,answered_at,ended_at,"
                         "outcome,disconnect_reason,contact_id,agent_id,disposition,"
                         "callee_timezone,rule")
        target = os.path.join(self.dir, "out.csv")
        self.pd("results", "-o", target)
        with open(target, newline="") as f:
            self.assertEqual(next(csv.reader(f))[0], "campaign")
        p = self.pd("results", "-o", os.path.join(self.dir, "no/such/dir/out.csv"), ok=False)
        self.assertIn("no/such/dir", p.stderr)

    def test_campaigns_are_separate(self):
        self.pd("init")
        self.pd("init", campaign="spring")
        self.pd("load", self.fixture("good.csv"), campaign="spring")
        self.assertEqual(self.status()["customers"], 0)
        self.assertEqual(self.status(campaign="spring")["customers"], 4)
        names = [c["campaign"] for c in json.loads(self.pd("campaigns", "--json").stdout)]
        self.assertEqual(names, ["default", "spring"])
        p = self.pd("status", campaign="nope", ok=False)
        self.assertIn("no campaign 'nope'", p.stderr)
        p = self.pd("init", campaign="bad name!", ok=False)
        self.assertIn("invalid campaign name", p.stderr)

    def test_environment_selects_the_database(self):
        env = dict(os.environ, POWERDIALER_DB=self.db)
        subprocess.run([BIN, "init"], env=env, check=True, capture_output=True, cwd=self.dir)
        self.assertTrue(os.path.exists(self.db))


    # --- hostile and literal-minded input --------------------------------------

    def test_blank_lines_and_bad_rows_cannot_flood_the_store(self):
        self.pd("init")
        path = os.path.join(self.dir, "flood.csv")
        with open(path, "w") as f:
            f.write("custID,phone\nC1,+12025550100\n")
            f.write("\n" * 1_000_000)
            for i in range(5000):
                f.write(f"X{i},12\n")
        started = time.monotonic()
        p = self.pd("load", path)
        self.assertLess(time.monotonic() - started, 30)
        self.assertIn("1 phone(s)", p.stdout)
        self.assertIn("5000 row(s) rejected", p.stdout)
        # stderr lists as many as are kept, then the counts.
        self.assertEqual(p.stderr.count(": line "), 1000)
        self.assertIn("4000 more rejected row(s) not listed", p.stderr)
        st = self.status()
        self.assertEqual(st["rejected_rows"], 5000)
        self.assertEqual(st["rejects_by_reason"], {"invalid_phone": 5000})
        self.assertEqual(st["rejects_not_listed"], 4000)
        kept = json.loads(self.pd("rejects", "--json").stdout)
        self.assertEqual(len(kept["rejects"]), 1000)
        self.assertEqual(kept["rejects_not_listed"], 4000)
        self.assertIn("4000 more rejected row(s) not listed", self.pd("rejects").stdout)
        # A million line feeds cost no store space.
        size = sum(os.path.getsize(self.db + s) for s in ("", "-wal")
                   if os.path.exists(self.db + s))
        self.assertLess(size, 2_000_000)

    def test_rejects_are_those_of_the_last_load_appends_included(self):
        self.pd("init")
        self.pd("load", self.fixture("bad.csv"))
        self.assertEqual(self.status()["rejected_rows"], 4)
        self.pd("load", "--append", self.fixture("good.csv"))
        st = self.status()
        self.assertEqual(st["rejected_rows"], 0)
        self.assertEqual(json.loads(self.pd("rejects", "--json").stdout)["rejects"], [])

    def test_append_of_rows_already_listed_succeeds_adding_nothing(self):
        self.pd("init")
        self.pd("load", self.fixture("good.csv"))
        p = self.pd("load", "--append", self.fixture("good.csv"))
        self.assertIn("appended 0 new phone(s)", p.stdout)
        self.assertEqual(self.status()["phones"], 5)

    def test_next_callable_at_is_never_the_epoch(self):
        self.pd("init")
        self.pd("load", self.fixture("good.csv"))
        st = self.status()
        self.assertNotIn("next_callable_at", st)
        self.assertNotIn("1970", self.pd("status", "--json").stdout)

    def test_a_dead_dialer_shows_in_status_and_does_not_block_a_load(self):
        self.pd("init")
        self.pd("config", "set", "calling-hours", "00:00-24:00")  # any hour: not about windows
        self.pd("load", self.fixture("good.csv"))
        run = subprocess.Popen([BIN, "--db", self.db, "run", "--speed", "1", "--agents", "1",
                                "--talk-mean", "600s"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.dir)
        try:
            deadline = time.monotonic() + 30
            while self.status()["state"] != "running":
                self.assertLess(time.monotonic(), deadline, "the dialer never started")
                time.sleep(0.05)
            self.assertTrue(self.status()["dialer"]["responding"])
            run.send_signal(signal.SIGKILL)
            run.wait()
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        st = self.status()
        self.assertEqual(st["state"], "running")  # as the store says...
        self.assertFalse(st["dialer"]["responding"])  # ...but nobody is dialing
        self.assertIn(f"dialer process {run.pid} on this machine has exited",
                      st["dialer"]["problem"])
        self.assertIn("(running; dialer process", self.pd("status").stdout)
        self.assertIn("running (dialer process", self.pd("campaigns").stdout)
        self.assertEqual(json.loads(self.pd("campaigns", "--json").stdout)[0]["dialer_responding"],
                         False)
        p = self.pd("load", self.fixture("good.csv"))
        self.assertIn("loaded 5 phone(s)", p.stdout)
        st = self.status()
        self.assertEqual(st["state"], "idle")
        self.assertIsNone(st["dialer"])

    def test_store_errors_name_the_file_and_say_what_is_wrong(self):
        text = os.path.join(self.dir, "notes.txt")
        with open(text, "w") as f:
            f.write("shopping list\n" * 500)
        for args in (["status"], ["init"]):
            p = subprocess.run([BIN, "--db", text, *args], capture_output=True, text=True)
            self.assertEqual(p.returncode, 1)
            self.assertIn(f"{text} is not a powerdialer store", p.stderr)
            self.assertNotIn("PRAGMA", p.stderr)
        with open(text) as f:
            self.assertEqual(f.read(), "shopping list\n" * 500)  # untouched
        # A damaged store.
        self.pd("init")
        self.pd("load", self.fixture("good.csv"))
        self.pd("status")  # checkpoints the WAL on close
        with open(self.db, "r+b") as f:
            f.seek(100)
            f.write(b"\x5a" * 3000)
        p = self.pd("status", ok=False)
        self.assertIn(f"{self.db} is damaged", p.stderr)
        self.assertIn("backup", p.stderr)
        self.assertNotIn("PRAGMA", p.stderr)
        # No file at all: refused rather than a store that keeps nothing.
        for empty in ("", ":memory:"):
            p = subprocess.run([BIN, "--db", empty, "init"], capture_output=True, text=True,
                               cwd=self.dir)
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertIn("--db", p.stderr)

    def test_a_read_only_store_says_so(self):
        self.pd("init")
        self.pd("load", self.fixture("good.csv"))
        # Root writes read-only files: run as nobody then.
        prefix = []
        if os.geteuid() == 0:
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        os.chmod(self.db, 0o444)
        os.chmod(self.dir, 0o555)
        try:
            p = subprocess.run(prefix + [BIN, "--db", self.db, "status"], capture_output=True,
                               text=True)
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertIn(f"{self.db} is read-only here", p.stderr)
            self.assertNotIn("PRAGMA", p.stderr)
        finally:
            os.chmod(self.dir, 0o755)
            os.chmod(self.db, 0o644)

    def test_an_unknown_command_is_named_with_the_commands(self):
        p = subprocess.run([BIN, "--db", self.db, "frobnicate"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown command 'frobnicate'", p.stderr)
        self.assertIn("init, config, load", p.stderr)
        self.assertNotIn("subcommand is required", p.stderr)
        p = subprocess.run([BIN, "config", "frob"], capture_output=True, text=True)
        self.assertIn("unknown command 'frob'", p.stderr)
        self.assertIn("set, unset, get, list", p.stderr)
        # No command at all still says one is needed.
        p = subprocess.run([BIN, "--db", self.db], capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn("unknown command", p.stderr)

    def test_control_characters_from_input_are_never_echoed_raw(self):
        self.pd("init")
        path = os.path.join(self.dir, "esc.csv")
        with open(path, "w") as f:
            f.write("custID,phone,na\x1b]0;pwned\x07me\n")
        p = self.pd("load", path, ok=False)
        self.assertNotIn("\x1b", p.stderr)
        self.assertNotIn("\x07", p.stderr)
        self.assertIn("na\\x1b]0;pwned\\x07me", p.stderr)
        with open(path, "w") as f:
            f.write("custID,phone\nC1,+12025550100\nC2,\x1b[2J\x9b31m\n")
        p = self.pd("load", path)
        self.assertNotIn("\x1b", p.stderr)
        self.assertNotIn("\x9b", p.stderr)
        shown = self.pd("rejects").stdout
        self.assertIn("\\x1b[2J\\u009b31m", shown)
        self.assertNotIn("\x1b", shown)

    def test_a_token_name_must_be_given_when_asked_for(self):
        self.pd("init")
        p = self.pd("token", "create", "--name", "", ok=False)
        self.assertIn("invalid token name ''", p.stderr)
        self.pd("token", "create", "--name", "ci")
        names = [t["name"] for t in json.loads(self.pd("token", "list", "--json").stdout)]
        self.assertEqual(names, ["default", "ci"])


if __name__ == "__main__":
    unittest.main()
