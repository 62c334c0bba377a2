"""End-to-end tests of the powerdialer command line: they run the real
binary, as a user would, in a scratch directory."""

import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
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
                          "abandoned", "interrupted"})

    def test_load_bad_rows_reports_each_with_its_line(self):
        self.pd("init")
        p = self.pd("load", self.fixture("bad.csv"))
        err = p.stderr
        self.assertIn("line 3:", err)     # too short
        self.assertIn("line 4: blank line", err)
        self.assertIn("line 5: missing custID", err)
        self.assertIn("line 6: missing phone", err)
        self.assertIn("line 7:", err)     # unterminated quote
        self.assertNotIn("line 2:", err)
        self.assertIn("5 row(s) rejected", p.stdout)
        st = self.status()
        self.assertEqual(st["customers"], 1)
        self.assertEqual(st["rejected_rows"], 5)
        # They are kept with the list, for whoever looks later.
        kept = json.loads(self.pd("rejects", "--json").stdout)
        self.assertEqual([r["line"] for r in kept], [3, 4, 5, 6, 7])
        self.assertEqual(kept[1]["reason"], "blank line")
        self.assertIn("line 5: missing custID", self.pd("rejects").stdout)

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
                         "outcome,disconnect_reason,contact_id,agent_id,disposition")
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


if __name__ == "__main__":
    unittest.main()
