"""End-to-end tests of calling windows from the command line: the list's
timezone/zip columns, `rules show|load`, and simulate honouring the window."""

import csv
import json
import os
import shutil
import subprocess
import tempfile
import unittest

BIN = os.environ.get("POWERDIALER_BIN", "build/powerdialer")


class WindowsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pd-e2e-win-")
        self.db = os.path.join(self.dir, "w.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def pd(self, *args, ok=True):
        p = subprocess.run([BIN, "--db", self.db] + list(args), capture_output=True, text=True,
                           cwd=self.dir, timeout=120)
        if ok:
            self.assertEqual(p.returncode, 0, f"{args}: {p.stderr}")
        else:
            self.assertNotEqual(p.returncode, 0, f"{args} should fail: {p.stdout}")
        return p

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)
        return name

    def test_rules_show_the_defaults_and_load_only_a_valid_file(self):
        self.pd("init")
        shown = self.pd("rules", "show").stdout
        self.assertIn("No region rules stored", shown)
        self.assertIn("[US-FL]", shown)
        bad = self.write("bad.conf", "[US-TX]\nhours = 09:00-21:00\nhours-sunday = closed\n")
        err = self.pd("rules", "load", bad, ok=False).stderr
        self.assertIn("bad.conf:3: key 'hours-sunday': unknown day", err)
        self.assertIn("[US-FL]", self.pd("rules", "show").stdout)  # unchanged
        good = self.write("good.conf", "[US-TX]\nhours = 10:00-19:00\n")
        self.pd("rules", "load", good)
        self.assertEqual(self.pd("rules", "show").stdout, "[US-TX]\nhours = 10:00-19:00\n")

    def test_a_bad_timezone_rejects_its_row_naming_line_and_column(self):
        self.pd("init")
        lst = self.write("l.csv", "custID,phone,timezone\na,+13125550100,America/Chicago\n"
                                  "b,+13125550101,Central\n")
        p = self.pd("load", lst)
        self.assertIn("l.csv: line 3: column 3 (timezone): 'Central' is not an IANA time zone",
                      p.stderr)
        st = json.loads(self.pd("status", "--json").stdout)
        self.assertEqual(st["customers"], 1)
        self.assertEqual(st["rejects_by_reason"].get("invalid_timezone"), 1, st)

    def test_simulate_calls_each_callee_inside_their_window(self):
        # The virtual clock starts at 2026-01-01T00:00Z (19:00 in New York).
        start = ["--start", "2026-01-01T00:00:00Z"]
        lst = self.write("l.csv", "custID,phone,timezone,zip\n"
                                  "ny,+12125550100,,\n"          # New York by its prefix
                                  "tk,+12125550101,Asia/Tokyo,\n"  # 09:00 in Tokyo
                                  "la,+12125550102,,90001\n"      # Los Angeles by ZIP
                                  "ld,+442071234567,,\n"         # 00:00 in London: waits
                                  "tf,+18005550100,,\n")          # toll-free: no zone
        out = os.path.join(self.dir, "r.csv")
        self.pd("simulate", "--list", lst, "--results", out, "--answer-rate", "0.8", *start)
        with open(out, newline="") as f:
            rows = {r["cust_id"]: r for r in csv.DictReader(f)}
        self.assertEqual(rows["ny"]["callee_timezone"], "America/New_York")
        self.assertEqual(rows["tk"]["callee_timezone"], "Asia/Tokyo")
        self.assertEqual(rows["la"]["callee_timezone"], "America/Los_Angeles")
        self.assertEqual(rows["tf"]["outcome"], "suppressed")
        self.assertIn("calling-window", rows["tf"]["rule"])
        # London's window opens at 08:00 GMT: the engine waited for it.
        self.assertEqual(rows["ld"]["callee_timezone"], "Europe/London")
        self.assertGreaterEqual(rows["ld"]["started_at"], "2026-01-01T08:00:00")
        self.assertLess(rows["ld"]["started_at"], "2026-01-01T08:05:00")
        # 16:00 in Los Angeles is inside; New York at 19:00 too.
        self.assertLess(rows["ny"]["started_at"], "2026-01-01T02:00:00")
        self.assertLess(rows["la"]["started_at"], "2026-01-01T05:00:00")


if __name__ == "__main__":
    unittest.main()
