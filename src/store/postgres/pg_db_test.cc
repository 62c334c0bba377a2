#include "store/postgres/pg_db.h"

#include <gtest/gtest.h>

#include "store/postgres/testing/pg_test_server.h"

namespace pd::pg {
namespace {

using postgres::testing::PgTestServer;

// A server restart (or an RDS failover) drops every connection; libpq finds
// out only when the next statement fails. A statement that cannot have
// changed anything is run again on a new connection; a write on its own is
// not, since whether it committed is unknown.
TEST(PgDbTest, AfterAServerRestartReadsAndTransactionsReconnectAndALoneWriteIsReported) {
  auto server = PgTestServer::start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto url = (*server)->create_database("db");
  ASSERT_TRUE(url.ok()) << url.status();
  Db db;
  ASSERT_TRUE(db.open(*url).ok());
  ASSERT_TRUE(db.exec("CREATE TABLE t(x INT)").ok());
  auto count = [&]() -> int64_t {
    auto r = db.query("SELECT count(*) FROM t");
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->int64(0, 0) : -1;
  };

  ASSERT_TRUE((*server)->restart().ok());
  EXPECT_EQ(count(), 0);  // a read: answered on a new connection

  ASSERT_TRUE((*server)->restart().ok());
  {
    Transaction tx(db);  // its BEGIN meets the lost connection, and is sent again
    ASSERT_TRUE(tx.begin().ok());
    ASSERT_TRUE(db.query("INSERT INTO t VALUES (1)").ok());
    ASSERT_TRUE(tx.commit().ok());
  }
  EXPECT_EQ(count(), 1);

  ASSERT_TRUE((*server)->restart().ok());
  auto write = db.query("INSERT INTO t VALUES (2)");
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.status().code(), absl::StatusCode::kUnavailable) << write.status();
  EXPECT_EQ(count(), 1);  // the next statement reconnects

  // Lost inside a transaction: the transaction is failed whole, not resumed.
  {
    Transaction tx(db);
    ASSERT_TRUE(tx.begin().ok());
    ASSERT_TRUE(db.query("INSERT INTO t VALUES (3)").ok());
    ASSERT_TRUE((*server)->restart().ok());
    EXPECT_FALSE(db.query("INSERT INTO t VALUES (4)").ok());
    EXPECT_FALSE(tx.commit().ok());
  }
  EXPECT_EQ(count(), 1);
}

}  // namespace
}  // namespace pd::pg
