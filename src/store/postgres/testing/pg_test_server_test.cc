#include "store/postgres/testing/pg_test_server.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace pd::postgres::testing {
namespace {

// A libpq connection closed at scope exit.
struct Conn {
  explicit Conn(const std::string& url) : c(PQconnectdb(url.c_str())) {}
  ~Conn() { PQfinish(c); }
  bool ok() const { return PQstatus(c) == CONNECTION_OK; }
  std::string error() const { return PQerrorMessage(c); }
  // Runs `sql`; returns the first column of the first row ("" when none),
  // or "ERROR: ..." when it fails.
  std::string query(const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    std::string out;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
      if (PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
    } else if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      out = std::string("ERROR: ") + PQresultErrorMessage(r);
    }
    PQclear(r);
    return out;
  }
  PGconn* c;
};

TEST(PgTestServerTest, StartsAndGivesEachTestItsOwnDatabase) {
  auto server = PgTestServer::start();
  ASSERT_TRUE(server.ok()) << server.status();
  PgTestServer& pg = **server;
  EXPECT_EQ(pg.url(), "postgresql://postgres@127.0.0.1:" + std::to_string(pg.port()) + "/postgres");

  Conn admin(pg.url());
  ASSERT_TRUE(admin.ok()) << admin.error();
  EXPECT_EQ(admin.query("SHOW server_version_num").substr(0, 2), "15");
  EXPECT_EQ(admin.query("SHOW fsync"), "off");
  EXPECT_EQ(admin.query("SHOW listen_addresses"), "127.0.0.1");
  // Not a superuser-by-accident check: the server itself runs as postgres
  // when we are root, never as root.
  EXPECT_EQ(admin.query("SELECT current_user"), "postgres");

  auto a = pg.create_database("alpha");
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = pg.create_database("beta");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a, pg.url_for("alpha"));

  Conn ca(*a), cb(*b);
  ASSERT_TRUE(ca.ok()) << ca.error();
  ASSERT_TRUE(cb.ok()) << cb.error();
  EXPECT_EQ(ca.query("SELECT current_database()"), "alpha");
  EXPECT_EQ(cb.query("SELECT current_database()"), "beta");
  EXPECT_EQ(ca.query("CREATE TABLE t(x INT); INSERT INTO t VALUES (41), (1)"), "");
  EXPECT_EQ(ca.query("SELECT sum(x) FROM t"), "42");
  // The other database does not see it.
  EXPECT_EQ(cb.query("SELECT count(*) FROM pg_tables WHERE tablename = 't'"), "0");
  EXPECT_EQ(cb.query("CREATE TABLE t(x INT); INSERT INTO t VALUES (7)"), "");
  EXPECT_EQ(cb.query("SELECT sum(x) FROM t"), "7");
  EXPECT_EQ(ca.query("SELECT sum(x) FROM t"), "42");

  EXPECT_EQ(pg.create_database("alpha").status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(pg.create_database("bad-name; DROP").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto u1 = pg.create_unique_database();
  auto u2 = pg.create_unique_database();
  ASSERT_TRUE(u1.ok() && u2.ok());
  EXPECT_NE(*u1, *u2);

  // Teardown removes the folder and the server.
  const std::string dir = pg.dir();
  ASSERT_TRUE(std::filesystem::exists(dir + "/data/PG_VERSION"));
  server->reset();
  EXPECT_FALSE(std::filesystem::exists(dir));
  Conn gone(*a);
  EXPECT_FALSE(gone.ok());
}

TEST(PgTestServerTest, RestartKeepsDataAndPortAndDropsClients) {
  auto server = PgTestServer::start();
  ASSERT_TRUE(server.ok()) << server.status();
  PgTestServer& pg = **server;
  auto url = pg.create_database("kept");
  ASSERT_TRUE(url.ok()) << url.status();
  {
    Conn c(*url);
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c.query("CREATE TABLE t(x INT); INSERT INTO t VALUES (1)"), "");
    const int port = pg.port();
    ASSERT_TRUE(pg.restart().ok());
    EXPECT_EQ(pg.port(), port);
    // The old connection was cut off, as at a failover.
    EXPECT_NE(c.query("SELECT 1").rfind("ERROR", 0), std::string::npos);
  }
  Conn c(*url);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c.query("SELECT sum(x) FROM t"), "1");

  // An immediate stop is a crash: committed rows survive it (recovery at
  // the next start), and nothing answers while it is down.
  EXPECT_EQ(c.query("INSERT INTO t VALUES (2)"), "");
  ASSERT_TRUE(pg.stop(/*immediate=*/true).ok());
  EXPECT_FALSE(pg.running());
  EXPECT_FALSE(Conn(*url).ok());
  EXPECT_EQ(pg.create_database("x").status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(pg.restart().ok());
  EXPECT_TRUE(pg.running());
  Conn again(*url);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(again.query("SELECT sum(x) FROM t"), "3");
}

TEST(PgTestServerTest, MissingBinariesNameThePackage) {
  ASSERT_EQ(::setenv("POWERDIALER_PG_BINDIR", "/nonexistent/pg/bin", 1), 0);
  auto server = PgTestServer::start();
  ::unsetenv("POWERDIALER_PG_BINDIR");
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(server.status().message().find("/nonexistent/pg/bin/initdb"), absl::string_view::npos)
      << server.status();
  EXPECT_NE(server.status().message().find("postgresql-15"), absl::string_view::npos)
      << server.status();
}

class PgSuiteTest : public PgSuite {};

TEST_F(PgSuiteTest, EachTestGetsAFreshDatabaseOnTheSharedServer) {
  Conn c(db_url());
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c.query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), "0");
  EXPECT_EQ(c.query("CREATE TABLE mine(x INT)"), "");
  EXPECT_EQ(db_url().rfind(pg().url_for(""), 0), 0u) << db_url();
}

TEST_F(PgSuiteTest, AnotherTestDoesNotSeeThePreviousTestsTables) {
  Conn c(db_url());
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c.query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), "0");
  EXPECT_EQ(c.query("CREATE TABLE mine(x INT)"), "");
}

}  // namespace
}  // namespace pd::postgres::testing
