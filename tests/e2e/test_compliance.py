"""End-to-end proof that the calling windows hold, checked independently of
the dialer: a list spread over every US time zone (Eastern, Central,
Mountain, Arizona, Pacific, Alaska, Hawaii) is dialled from 06:00 US-Eastern
on the days the clocks change, and every attempt's `started_at` is checked
with Python's zoneinfo against the zones python3-phonenumbers gives its
number: 08:00-21:00 local in every one of them. The campaign must wait for
the western windows by itself, say so in `status`, end `done`, and
`powerdialer compliance --json` must report no violation. The same through
the Amazon Connect stand-in."""

import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

try:
    import phonenumbers
except ImportError:  # Debian's python3-phonenumbers, under another interpreter
    sys.path.append("/usr/lib/python3/dist-packages")
    import phonenumbers
from phonenumbers import timezone as pn_timezone

from binary_case import BinaryCase
from local_aws import BIN, MotoServer, Standin, aws_env

# Area codes, one or more per US zone; libphonenumber accepts 555-01xx
# subscriber numbers in them as valid.
AREA_CODES = {
    "Eastern": ["212", "617"],
    "Central": ["312", "713"],
    "Mountain": ["303"],
    "Arizona": ["602"],  # America/Phoenix and America/Denver: both must hold
    "Pacific": ["415", "206"],
    "Alaska": ["907"],  # America/Anchorage and America/Adak
    "Hawaii": ["808"],
}
OPENS, CLOSES = 8, 21  # the default calling-hours, 08:00-21:00 callee-local
SPRING_FORWARD = "2026-03-08 06:00 America/New_York"
FALL_BACK = "2026-11-01 06:00 America/New_York"


def zones_of(phone):
    return pn_timezone.time_zones_for_number(phonenumbers.parse(phone))


def write_list(path, per_area_code=6, area_codes=None):
    """Customers over the given area codes (default: every US zone); returns
    {phone: zone group}."""
    groups = {}
    with open(path, "w") as f:
        f.write("custID,phone,name\n")
        i = 0
        for group, codes in (area_codes or AREA_CODES).items():
            for code in codes:
                for n in range(per_area_code):
                    phone = f"+1{code}55501{n:02d}"
                    number = phonenumbers.parse(phone)
                    assert phonenumbers.is_valid_number(number), phone
                    f.write(f"C{i:04d},{phone},Customer {i}\n")
                    groups[phone] = group
                    i += 1
    return groups


def parse_utc(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def outside_window(started_at, phone):
    """The zones (with local time) where `started_at` is outside the window;
    empty when it is inside in every zone of the number."""
    bad = []
    for zone in zones_of(phone):
        local = started_at.astimezone(ZoneInfo(zone))
        minutes = local.hour * 60 + local.minute
        if not (OPENS * 60 <= minutes < CLOSES * 60):
            bad.append(f"{zone} {local.isoformat()}")
    return bad


def first_opening(day_start_utc, phone):
    """When the window first holds in every zone of `phone`, at or after
    `day_start_utc` (minute by minute: independent of the dialer's math)."""
    t = day_start_utc
    while outside_window(t, phone):
        t += timedelta(minutes=1)
    return t


class ComplianceTest(BinaryCase):
    PREFIX = "pd-e2e-compliance-"
    DB = "c.db"
    TIMEOUT = 180

    def results(self):
        out = os.path.join(self.dir, f"results-{time.monotonic_ns()}.csv")
        self.pd("results", "-o", out)
        with open(out) as f:
            return list(csv.DictReader(f))

    def check_windows(self, rows, groups, start_text):
        """Every placed attempt inside the window in every zone of its number;
        the western zones dialled only once their windows opened."""
        placed = [r for r in rows if r["outcome"] != "suppressed"]
        self.assertTrue(placed)
        self.assertEqual({r["phone"] for r in placed}, set(groups),
                         "every number of every zone is dialled")
        violations = [(r["phone"], r["started_at"], outside_window(parse_utc(r["started_at"]),
                                                                    r["phone"]))
                      for r in placed if outside_window(parse_utc(r["started_at"]), r["phone"])]
        self.assertEqual(violations, [])
        # The zones the dialer checked are the number's, as phonenumbers
        # (the same 8.12.57 data) gives them.
        for r in placed:
            self.assertEqual(set(r["callee_timezone"].split()), set(zones_of(r["phone"])), r)
        # Nobody was called before their window opened that day: the first
        # call to each zone group is at or after its opening, and Hawaii's
        # at or after 08:00 HST.
        date, hhmm, zone = start_text.split()
        day_start = datetime.fromisoformat(f"{date}T{hhmm}").replace(
            tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)
        first = defaultdict(lambda: None)
        for r in placed:
            t = parse_utc(r["started_at"])
            g = groups[r["phone"]]
            if first[g] is None or t < first[g]:
                first[g] = t
        for phone, group in groups.items():
            self.assertGreaterEqual(first[group], first_opening(day_start, phone), group)
        hawaii = first["Hawaii"].astimezone(ZoneInfo("Pacific/Honolulu"))
        self.assertGreaterEqual((hawaii.hour, hawaii.minute), (OPENS, 0), hawaii)
        self.assertEqual(hawaii.date().isoformat(), date, "Hawaii is called the same day")
        # The campaign waited: the first call anywhere is at or after 08:00
        # in New York, two hours after the clock started.
        self.assertGreaterEqual(min(first.values()), day_start + timedelta(hours=2))

    def check_report(self, campaign):
        p = self.pd("--campaign", campaign, "compliance", "--json", ok=None)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        report = json.loads(p.stdout)
        self.assertEqual(report["violations"], 0, report)
        rules = {r["rule"]: r for r in report["rules"]}
        self.assertEqual(set(rules), {"calling-window", "dnc", "cap", "abandon-lockout",
                                      "abandon-rate"})
        for name, rule in rules.items():
            self.assertEqual(rule["violations"], 0, name)
        self.assertGreater(rules["calling-window"]["checked"], 0)
        self.assertGreater(rules["calling-window"]["held"], 0, "the windows held calls back")
        text = self.pd("--campaign", campaign, "compliance").stdout
        self.assertIn("no violations", text)
        return report

    def simulate(self, start_text):
        lst = os.path.join(self.dir, "zones.csv")
        groups = write_list(lst)
        out = os.path.join(self.dir, "sim-results.csv")
        p = subprocess.run(
            [BIN, "simulate", "--list", lst, "--start", start_text, "--store", self.db,
             "--results", out, "--agents", "4", "--max-attempts", "3", "--retry-delay", "10h",
             "--answer-rate", "0.3", "--seed", "7"],
            capture_output=True, text=True, cwd=self.dir, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        summary = json.loads(p.stdout)
        self.assertEqual(summary["state"], "done", summary)
        with open(out) as f:
            rows = list(csv.DictReader(f))
        self.check_windows(rows, groups, start_text)
        # A third try ten hours after the second falls in the night: it waits
        # for the next morning, and the window still holds.
        days = {parse_utc(r["started_at"]).astimezone(ZoneInfo("America/New_York")).date()
                for r in rows}
        self.assertGreater(len(days), 1, "some retries waited for the next day")
        self.check_report("simulate")

    def test_spring_forward_every_us_zone_simulated(self):
        self.simulate(SPRING_FORWARD)

    def test_fall_back_every_us_zone_simulated(self):
        self.simulate(FALL_BACK)

    def test_a_call_recorded_outside_its_window_fails_the_report(self):
        """The report is an audit of the record, not an echo of the claim: a
        call written around the claim (here, by hand) is a violation, named,
        and the command exits 2 so a CI job or a cron check fails on it."""
        lst = os.path.join(self.dir, "zones.csv")
        write_list(lst, per_area_code=1, area_codes={"Hawaii": ["808"], "Eastern": ["212"]})
        p = subprocess.run([BIN, "simulate", "--list", lst, "--start", SPRING_FORWARD,
                            "--store", self.db, "--agents", "2"],
                           capture_output=True, text=True, cwd=self.dir, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_report("simulate")
        # Move Hawaii's call to 05:00 HST (15:00 UTC).
        db = sqlite3.connect(self.db)
        db.execute("UPDATE attempts SET started_at = ? WHERE phone = '+18085550100'",
                   (int(datetime(2026, 3, 8, 15, 0, tzinfo=timezone.utc).timestamp() * 1000),))
        db.commit()
        db.close()
        p = self.pd("--campaign", "simulate", "compliance", "--json", ok=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        report = json.loads(p.stdout)
        self.assertEqual(report["violations"], 1)
        window = next(r for r in report["rules"] if r["rule"] == "calling-window")
        self.assertEqual(window["violations"], 1)
        self.assertIn("+18085550100", window["examples"][0])
        self.assertIn("Pacific/Honolulu", window["examples"][0])
        p = self.pd("--campaign", "simulate", "compliance", ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("VIOLATIONS: 1", p.stdout)
        p = self.pd("compliance", "--all", "--json", ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(json.loads(p.stdout)["violations"], 1)

    def test_run_waits_for_the_windows_says_so_and_ends_done(self):
        lst = os.path.join(self.dir, "zones.csv")
        groups = write_list(lst, per_area_code=2)
        self.pd("init")
        self.pd("load", lst)
        run = subprocess.Popen(
            [BIN, "--db", self.db, "run", "--start", SPRING_FORWARD, "--speed", "2000",
             "--agents", "3"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=self.dir)
        self.procs.append(run)
        waiting = []
        deadline = time.time() + 120
        while run.poll() is None and time.time() < deadline:
            st = json.loads(self.pd("status", "--json").stdout)
            if st.get("waiting"):
                waiting.append(st["waiting"])
            time.sleep(0.05)
        out, err = run.communicate(timeout=60)
        self.assertEqual(run.returncode, 0, err)
        self.assertIn("campaign 'default' is done", out)
        self.assertTrue(waiting, "status said the campaign was waiting for a window")
        # First New York's window (08:00, two hours after the clock started),
        # at the end the last one to open: Hawaii's, or Alaska's Adak.
        self.assertEqual(waiting[0]["text"], "the next window opens 08:00 America/New_York",
                         waiting[0])
        self.assertEqual(waiting[0]["until"], "2026-03-08T12:00:00.000Z")
        # (Not always at 08:00: the region rules shipped with the dialer keep
        # Texas numbers until noon on a Sunday, as Texas law does.)
        for w in waiting:
            self.assertRegex(w["text"], r"^the next window opens \d\d:\d\d [A-Za-z_/]+$")
        self.assertIn(waiting[-1]["text"].split()[-1], {"Pacific/Honolulu", "America/Adak"})
        self.check_windows(self.results(), groups, SPRING_FORWARD)
        self.check_report("default")

    def test_start_is_refused_before_the_stores_latest_time_and_when_malformed(self):
        lst = os.path.join(self.dir, "zones.csv")
        write_list(lst, per_area_code=1, area_codes={"Eastern": ["212"]})
        self.pd("init")
        self.pd("load", lst)
        bad = self.pd("run", "--start", "2026-03-08 02:30 America/New_York", ok=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("--start", bad.stderr)
        self.assertIn("does not exist in America/New_York", bad.stderr)
        bad = self.pd("run", "--start", "2026-03-08 10:00 Mars/Olympus", ok=False)
        self.assertIn("unknown time zone 'Mars/Olympus'", bad.stderr)
        self.pd("run", "--start", "2026-03-09 10:00 America/New_York", "--speed", "1000")
        earlier = self.pd("run", "--start", "2026-03-09T13:00:00Z", ok=False)
        self.assertNotEqual(earlier.returncode, 0)
        self.assertIn("is not after the latest time this store recorded", earlier.stderr)


INSTANCE = "11111111-2222-3333-4444-555555555555"
QUEUE = "aaaaaaaa-1111-2222-3333-444444444444"
FLOW = "22222222-3333-4444-5555-666666666666"


class ComplianceConnectTest(unittest.TestCase):
    """The windows hold through Amazon Connect too (the stand-in). A smaller
    run: the clock starts at 07:59:30 in Los Angeles on spring-forward day,
    when New York, Chicago and Denver are open and Los Angeles and Phoenix
    open 30 s later (Arizona keeps standard time: 07:59 there too)."""

    START = "2026-03-08 07:59:30 America/Los_Angeles"

    @classmethod
    def setUpClass(cls):
        cls.moto = MotoServer()

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pd-e2e-compliance-connect-")
        self.db = os.path.join(self.dir, "c.db")
        self.env = aws_env(self.dir, self.moto.endpoint)
        self.streams = (f"agents-{self._testMethodName[:30]}", f"ctrs-{self._testMethodName[:30]}")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def pd(self, *args, ok=True, timeout=180):
        p = subprocess.run([BIN, "--db", self.db, *args], capture_output=True, text=True,
                           cwd=self.dir, env=self.env, timeout=timeout)
        if ok:
            self.assertEqual(p.returncode, 0, f"{args}: {p.stderr}")
        return p

    def test_windows_hold_through_the_connect_standin(self):
        standin = Standin(self.dir, self.env, "--agents", "4", "--talk-mean", "1s", "--acw-mean",
                          "1s", "--ring-timeout", "3s", "--heartbeat", "2", "--start", self.START,
                          streams=self.streams)
        try:
            # Not Texas: its region rule keeps Sunday calls until noon there.
            codes = {"Eastern": ["212", "617"], "Central": ["312"], "Mountain": ["303"],
                     "Arizona": ["602"], "Pacific": ["415", "206"]}
            lst = os.path.join(self.dir, "zones.csv")
            groups = write_list(lst, per_area_code=2, area_codes=codes)
            self.pd("init")
            for key, value in [("connectid", INSTANCE), ("contactflow", FLOW), ("queue", QUEUE),
                               ("agent-stream", self.streams[0]),
                               ("ctr-stream", self.streams[1]),
                               ("connect-endpoint", standin.endpoint)]:
                self.pd("config", "set", key, value)
            self.pd("load", lst)
            run = self.pd("run", "--backend", "connect", "--start", self.START, timeout=240)
            self.assertIn("campaign 'default' is done", run.stdout)
            out = os.path.join(self.dir, "results.csv")
            self.pd("results", "-o", out)
            with open(out) as f:
                rows = list(csv.DictReader(f))
            placed = [r for r in rows if r["outcome"] != "suppressed"]
            self.assertEqual({r["phone"] for r in placed}, set(groups))
            self.assertEqual([(r["phone"], r["started_at"]) for r in placed
                              if outside_window(parse_utc(r["started_at"]), r["phone"])], [])
            opens = datetime(2026, 3, 8, 15, 0, tzinfo=timezone.utc)  # 08:00 PDT and MST
            for r in placed:
                if groups[r["phone"]] in ("Pacific", "Arizona"):
                    self.assertGreaterEqual(parse_utc(r["started_at"]), opens, r)
            # The eastern numbers did not wait for the western windows.
            eastern = [parse_utc(r["started_at"]) for r in placed
                       if groups[r["phone"]] == "Eastern"]
            self.assertLess(min(eastern), opens)
            # Every call the stand-in placed is one of the placed attempts.
            self.assertEqual(len(standin.contacts()), len([r for r in placed if r["contact_id"]]))
            report = json.loads(self.pd("compliance", "--json").stdout)
            self.assertEqual(report["violations"], 0, report)
        finally:
            standin.stop()


if __name__ == "__main__":
    unittest.main()
