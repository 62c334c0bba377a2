"""End-to-end tests of s3:// dialing lists and results against a real
moto_server: the list is put with boto3, loaded with `powerdialer load
s3://...`, the campaign runs on the simulator, and the results written with
`powerdialer results -o s3://...` (and by the run itself, through
`outputfile`) are read back with boto3."""

import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import boto3

from local_aws import BIN, MotoServer, aws_env, free_port


class S3Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = MotoServer()
        cls.endpoint = cls.moto.endpoint
        cls.s3 = boto3.client("s3", endpoint_url=cls.endpoint, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pd-e2e-s3-")
        self.db = os.path.join(self.dir, "s3.db")
        # Nothing from the developer's own AWS setup leaks in.
        self.env = aws_env(self.dir, self.endpoint)
        self.bucket = f"pd-{self._testMethodName.replace('_', '-')[:40].strip('-')}"
        self.s3.create_bucket(Bucket=self.bucket)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def init_any_hour(self, *args):
        """`init`, and calls at any hour: this test is not about calling
        windows (test_compliance.py is), so it must pass whenever it runs."""
        self.pd(*args, "init")
        self.pd(*args, "config", "set", "calling-hours", "00:00-24:00")

    def pd(self, *args, ok=True):
        p = subprocess.run([BIN, "--db", self.db, *args], capture_output=True, text=True,
                           cwd=self.dir, env=self.env, timeout=120)
        if ok:
            self.assertEqual(p.returncode, 0, f"{args}: {p.stderr}")
        else:
            self.assertNotEqual(p.returncode, 0, f"{args} should fail: {p.stdout}")
        return p

    def put_list(self, key, customers):
        body = "custID,phone,name\n" + "".join(
            f"C{i:04d},+1202{3000000 + i:07d},Customer {i}\n" for i in range(customers))
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode())

    def read_rows(self, key):
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode()
        return list(csv.DictReader(io.StringIO(body)))

    def test_load_run_and_results_through_s3(self):
        self.put_list("lists/list.csv", 20)
        self.init_any_hour()
        p = self.pd("load", f"s3://{self.bucket}/lists/list.csv")
        self.assertIn("loaded 20 phone(s)", p.stdout)
        # The run itself exports to `outputfile` when the list is done.
        self.pd("config", "set", "outputfile", f"s3://{self.bucket}/auto/results.csv")
        self.pd("run", "--speed", "1000", "--agents", "4", "--seed", "7")
        st = json.loads(self.pd("status", "--json").stdout)
        self.assertEqual(st["state"], "done")

        p = self.pd("results", "-o", f"s3://{self.bucket}/out/results.csv")
        self.assertIn(f"to s3://{self.bucket}/out/results.csv", p.stderr)
        rows = self.read_rows("out/results.csv")
        self.assertEqual(len(rows), st["attempts"])
        self.assertEqual({r["cust_id"] for r in rows}, {f"C{i:04d}" for i in range(20)})
        self.assertEqual(self.read_rows("auto/results.csv"), rows)

    def test_campaign_config_names_the_endpoint(self):
        """`region` and `s3-endpoint` in the campaign config stand in for the
        environment."""
        self.put_list("list.csv", 3)
        del self.env["AWS_ENDPOINT_URL_S3"]
        del self.env["AWS_REGION"]
        self.init_any_hour()
        self.pd("config", "set", "s3-endpoint", self.endpoint)
        self.pd("config", "set", "region", "us-east-1")
        p = self.pd("load", f"s3://{self.bucket}/list.csv")
        self.assertIn("loaded 3 phone(s)", p.stdout)
        self.pd("results", "-o", f"s3://{self.bucket}/empty-results.csv")
        self.assertEqual(self.read_rows("empty-results.csv"), [])

    def test_errors_name_the_location_and_aws_error(self):
        self.init_any_hour()
        p = self.pd("load", f"s3://{self.bucket}/missing.csv", ok=False)
        self.assertIn(f"s3://{self.bucket}/missing.csv: NoSuchKey", p.stderr)
        p = self.pd("load", "s3://pd-no-such-bucket/list.csv", ok=False)
        self.assertIn("s3://pd-no-such-bucket/list.csv: NoSuchBucket", p.stderr)
        p = self.pd("results", "-o", "s3://pd-no-such-bucket/out.csv", ok=False)
        self.assertIn("NoSuchBucket", p.stderr)

    def test_failed_export_leaves_the_previous_object(self):
        self.s3.put_object(Bucket=self.bucket, Key="out.csv", Body=b"previous\n")
        self.init_any_hour()
        # (moto does not check signatures, so the failure is S3 out of reach.)
        self.env["AWS_ENDPOINT_URL_S3"] = f"http://127.0.0.1:{free_port()}"
        p = self.pd("results", "-o", f"s3://{self.bucket}/out.csv", ok=False)
        self.assertIn(f"s3://{self.bucket}/out.csv", p.stderr)
        body = self.s3.get_object(Bucket=self.bucket, Key="out.csv")["Body"].read()
        self.assertEqual(body, b"previous\n")


if __name__ == "__main__":
    unittest.main()
