"""The end-to-end tests' PostgreSQL server (pgserver.py) itself: it starts,
gives each test its own database, survives a restart and a crash with its
committed data, and leaves nothing behind."""

import os
import unittest

from pgserver import PgServer


class PgServerTest(unittest.TestCase):
    def test_databases_are_separate_and_data_survives_restart_and_crash(self):
        with PgServer() as pg:
            self.assertEqual(pg.url(), f"postgresql://postgres@127.0.0.1:{pg.port}/postgres")
            self.assertTrue(pg.psql("SHOW server_version_num").startswith("15"))
            self.assertEqual(pg.psql("SHOW fsync"), "off")
            a = pg.create_database("alpha")
            b = pg.create_database()
            self.assertEqual(a, pg.url("alpha"))
            self.assertNotEqual(a, b)
            pg.psql("CREATE TABLE t(x INT); INSERT INTO t VALUES (41), (1)", db="alpha")
            self.assertEqual(pg.psql("SELECT sum(x) FROM t", db="alpha"), "42")
            b_name = b.rsplit("/", 1)[1]
            self.assertEqual(
                pg.psql("SELECT count(*) FROM pg_tables WHERE tablename = 't'", db=b_name), "0")
            with self.assertRaises(RuntimeError):
                pg.create_database("alpha")  # exists
            with self.assertRaises(ValueError):
                pg.create_database("no; DROP")

            port = pg.port
            pg.restart()
            self.assertEqual(pg.port, port)
            self.assertEqual(pg.psql("SELECT sum(x) FROM t", db="alpha"), "42")

            pg.psql("INSERT INTO t VALUES (8)", db="alpha")
            pg.stop(immediate=True)  # a crash: committed rows survive it
            self.assertFalse(pg.running())
            with self.assertRaises(RuntimeError):
                pg.psql("SELECT 1")
            pg.restart()
            self.assertTrue(pg.running())
            self.assertEqual(pg.psql("SELECT sum(x) FROM t", db="alpha"), "50")
            folder = pg.dir
            self.assertTrue(os.path.exists(os.path.join(folder, "data", "PG_VERSION")))
        self.assertFalse(os.path.exists(folder))


if __name__ == "__main__":
    unittest.main()
