#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "compliance/policy.h"
#include "core/strings.h"
#include "store/sqlite/sqlite_db.h"

namespace pd {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-store-", ::getpid(), "-", ::testing::UnitTest::GetInstance()->random_seed(), "-",
               reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "test.db").string();
    store_ = open(true);
    auto c = store_->init_campaign("c1");
    ASSERT_TRUE(c.ok()) << c.status();
    campaign_ = c->id;
    // Most tests here are not about calling windows: every hour is inside.
    ASSERT_TRUE(store_->set_config(campaign_, "calling-hours", "00:00-24:00").ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<SqliteStore> open(bool create) {
    auto s = SqliteStore::open(path_, create);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Loads customers "C0".."C<n-1>", each with `phones` numbers.
  void load(int n, int phones = 1, LoadMode mode = LoadMode::kReplace) {
    auto w = store_->begin_list(campaign_, mode);
    ASSERT_TRUE(w.ok()) << w.status();
    for (int i = 0; i < n; ++i) {
      for (int p = 0; p < phones; ++p) {
        auto added = (*w)->add(cat("C", i), fmt::format("+1202555{:04d}", i * 10 + p), "{}", i + 2);
        ASSERT_TRUE(added.ok()) << added.status();
        EXPECT_TRUE(*added);
      }
    }
    ASSERT_TRUE((*w)->commit().ok());
  }

  WallTime t(int seconds) { return WallTime{Millis{1'800'000'000'000LL + seconds * 1000LL}}; }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
  CampaignId campaign_ = 0;
};

TEST_F(SqliteStoreTest, OpeningWithoutCreateNeedsAnInitialisedFile) {
  auto missing = SqliteStore::open((dir_ / "nope.db").string(), false);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("powerdialer init"), std::string::npos);
  {
    std::ofstream((dir_ / "junk.db").string()) << "this is not sqlite at all, just some text.....";
  }
  auto junk = SqliteStore::open((dir_ / "junk.db").string(), false);
  ASSERT_FALSE(junk.ok());
}

TEST_F(SqliteStoreTest, SchemaVersion1UpgradesWithInitAndKeepsItsData) {
  load(3);
  store_.reset();
  {
    // What a version-1 file looks like: no token table.
    sqlite::Db db;
    ASSERT_TRUE(db.open(path_, false).ok());
    ASSERT_TRUE(db.exec("DROP TABLE api_tokens").ok());
    ASSERT_TRUE(db.exec("UPDATE meta SET value = '1' WHERE key = 'schema_version'").ok());
  }
  auto refused = SqliteStore::open(path_, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("run 'powerdialer init' to upgrade"),
            absl::string_view::npos)
      << refused.status();
  store_ = open(true);  // what `init` does
  ASSERT_TRUE(store_->add_api_token({"t", std::string(64, 'd'), "1234", WallTime{}}).ok());
  EXPECT_EQ(store_->status(campaign_)->customers, 3);
}

TEST_F(SqliteStoreTest, AFullDiskFailsTheLoadWholeNamingTheFileNotTheSql) {
  load(3);
  ASSERT_TRUE(store_->limit_pages_for_testing(40).ok());
  auto w = store_->begin_list(campaign_, LoadMode::kReplace);
  ASSERT_TRUE(w.ok()) << w.status();
  absl::Status failed;
  for (int i = 0; i < 100000 && failed.ok(); ++i) {
    failed = (*w)->add(cat("customer-with-a-long-id-", i), fmt::format("+1202{:07d}", i),
                       R"({"note":"some attributes to fill the pages a little faster"})", i + 2)
                 .status();
  }
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.code(), absl::StatusCode::kResourceExhausted) << failed;
  const std::string m(sv(failed.message()));
  EXPECT_NE(m.find(path_ + ": the disk is full"), std::string::npos) << m;
  EXPECT_EQ(m.find("INSERT"), std::string::npos) << m;
  w->reset();  // rolled back
  store_ = open(false);
  EXPECT_EQ(store_->status(campaign_)->customers, 3);
}

// Inside a batch an operation opens no savepoint (sqlite_db.h): one that
// failed before changing a row leaves the batch to commit; one that failed
// after changing rows leaves it only to roll back, whole.
TEST_F(SqliteStoreTest, ABatchCommitsPastAFailureThatChangedNothingAndNotPastAPartWayOne) {
  load(400);
  ASSERT_TRUE(store_->begin_batch().ok());
  auto first = store_->claim(campaign_, 2, t(0), "n");
  ASSERT_TRUE(first.ok()) << first.status();
  auto unknown = store_->finish(999999, AttemptEnd{Outcome::kNoAnswer, t(1)}, RetryRules{});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
  ASSERT_TRUE(store_->commit_batch().ok());
  EXPECT_EQ(open(false)->status(campaign_)->attempts, 2);

  // A claim of many, on a disk that fills after the first few of them.
  ASSERT_TRUE(store_->begin_batch().ok());
  ASSERT_TRUE(store_->claim(campaign_, 1, t(0), "n").ok());
  auto pages = store_->page_count_for_testing();
  ASSERT_TRUE(pages.ok()) << pages.status();
  ASSERT_TRUE(store_->limit_pages_for_testing(*pages + 1).ok());
  auto full = store_->claim(campaign_, 390, t(0), "n");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted) << full.status();
  const absl::Status committed = store_->commit_batch();
  EXPECT_EQ(committed.code(), absl::StatusCode::kAborted) << committed;
  store_->abort_batch();
  ASSERT_TRUE(store_->limit_pages_for_testing(1 << 30).ok());
  // Nothing of the batch is kept, not even the claim before the failure,
  // and the store is whole: the next batch commits.
  EXPECT_EQ(open(false)->status(campaign_)->attempts, 2);
  ASSERT_TRUE(store_->begin_batch().ok());
  auto again = store_->claim(campaign_, 3, t(0), "n");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->size(), 3u);
  ASSERT_TRUE(store_->commit_batch().ok());
  EXPECT_EQ(open(false)->status(campaign_)->attempts, 5);
}

TEST_F(SqliteStoreTest, InitReplacesTheCallableIndexOfEveryCustomerWithOneOfThePending) {
  load(3);
  store_.reset();
  auto callable_sql = [&] {
    sqlite::Db db;
    EXPECT_TRUE(db.open(path_, false).ok());
    auto s = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'customers_callable'");
    EXPECT_TRUE(s.ok() && *s->step());
    return s.ok() ? std::string(s->text(0)) : std::string();
  };
  {
    sqlite::Db db;
    ASSERT_TRUE(db.open(path_, false).ok());
    ASSERT_TRUE(db.exec("DROP INDEX customers_callable; CREATE INDEX customers_callable ON "
                        "customers(campaign_id, state, next_at, id)")
                    .ok());
  }
  EXPECT_EQ(callable_sql().find("WHERE"), std::string::npos);
  store_ = open(false);  // works as it is, only slower
  ASSERT_EQ(store_->claim(campaign_, 1, t(0), "n")->size(), 1u);
  store_ = open(true);  // `init`
  EXPECT_NE(callable_sql().find("WHERE state = 'pending'"), std::string::npos) << callable_sql();
  auto rest = store_->claim(campaign_, 5, t(0), "n");
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(rest->size(), 2u);
}

TEST_F(SqliteStoreTest, AFileThatIsNoSqliteDatabaseIsNamedAsSuch) {
  const std::string other = (dir_ / "notes.txt").string();
  {
    std::ofstream f(other, std::ios::binary);
    for (int i = 0; i < 200; ++i) f << "not a database, just some text that someone wrote\n";
  }
  for (bool create : {false, true}) {
    auto s = SqliteStore::open(other, create);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition) << s.status();
    EXPECT_EQ(std::string(sv(s.status().message())),
              other +
                  " is not a powerdialer store (it is not an SQLite database); check the "
                  "--db path");
  }
}

TEST_F(SqliteStoreTest, AnotherProgramsSqliteDatabaseIsNotTakenOver) {
  const std::string other = (dir_ / "other.db").string();
  {
    sqlite::Db db;
    ASSERT_TRUE(db.open(other, true).ok());
    ASSERT_TRUE(db.exec("CREATE TABLE invoices(id INTEGER PRIMARY KEY)").ok());
  }
  for (bool create : {false, true}) {
    auto s = SqliteStore::open(other, create);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("is not a powerdialer store"), absl::string_view::npos)
        << s.status();
  }
  sqlite::Db db;
  ASSERT_TRUE(db.open(other, false).ok());
  auto tables = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'");
  ASSERT_TRUE(tables.ok());
  ASSERT_TRUE(*tables->step());
  EXPECT_EQ(tables->int64(0), 1);  // nothing of ours was added
}

TEST_F(SqliteStoreTest, ADamagedFileSaysSoAndWhatToDo) {
  load(3);
  store_.reset();
  {
    // Overwrite the schema page's contents, keeping the file header.
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    const std::string junk(3000, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  std::filesystem::remove(path_ + "-wal");
  auto s = SqliteStore::open(path_, false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << s.status();
  const std::string m(sv(s.status().message()));
  EXPECT_EQ(m.rfind(path_ + " is damaged", 0), 0u) << m;
  EXPECT_NE(m.find("restore it from a backup"), std::string::npos) << m;
  EXPECT_EQ(m.find("PRAGMA"), std::string::npos) << m;
}

TEST_F(SqliteStoreTest, AnEmptyOrInMemoryPathIsRefusedForItWouldKeepNothing) {
  for (const std::string path : {"", ":memory:"}) {
    auto s = SqliteStore::open(path, true);
    ASSERT_FALSE(s.ok()) << path;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find("--db"), absl::string_view::npos) << s.status();
  }
}

TEST_F(SqliteStoreTest, SchemaVersion2UpgradesCountingTheRejectsItKept) {
  load(1);
  store_.reset();
  {
    // A version-2 file: rejects kept, no counts.
    sqlite::Db db;
    ASSERT_TRUE(db.open(path_, false).ok());
    ASSERT_TRUE(db.exec("DROP TABLE reject_counts").ok());
    ASSERT_TRUE(db.exec(cat("INSERT INTO rejects(campaign_id, line, reason) VALUES(", campaign_,
                            ", 3, 'blank line'), (", campaign_, ", 4, 'missing phone')"))
                    .ok());
    ASSERT_TRUE(db.exec("UPDATE meta SET value = '2' WHERE key = 'schema_version'").ok());
  }
  EXPECT_FALSE(SqliteStore::open(path_, false).ok());
  store_ = open(true);  // what `init` does
  auto counts = store_->reject_counts(campaign_);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->rows, 2);
  EXPECT_EQ(counts->listed, 2);
  EXPECT_EQ(counts->by_reason, (std::map<std::string, int64_t>{{"unclassified", 2}}));
}

TEST(SqliteErrorTest, ResultCodesBecomeAUsersWordsNamingTheFile) {
  struct Case {
    int rc;
    absl::StatusCode code;
    const char* says;
  };
  const Case cases[] = {
      {SQLITE_FULL, absl::StatusCode::kResourceExhausted, "s.db: the disk is full"},
      {SQLITE_READONLY, absl::StatusCode::kPermissionDenied, "s.db is read-only here"},
      {SQLITE_READONLY_DIRECTORY, absl::StatusCode::kPermissionDenied, "s.db is read-only here"},
      {SQLITE_PERM, absl::StatusCode::kPermissionDenied, "s.db is read-only here"},
      {SQLITE_NOTADB, absl::StatusCode::kFailedPrecondition, "s.db is not a powerdialer store"},
      {SQLITE_CORRUPT, absl::StatusCode::kDataLoss, "s.db is damaged"},
      {SQLITE_BUSY, absl::StatusCode::kUnavailable, "s.db is busy"},
      {SQLITE_IOERR_WRITE, absl::StatusCode::kInternal, "s.db: the disk reported an error"},
      {SQLITE_CANTOPEN, absl::StatusCode::kFailedPrecondition, "cannot open the store s.db"},
  };
  for (const Case& c : cases) {
    const absl::Status s = sqlite::to_status("s.db", nullptr, c.rc, "INSERT INTO customers(x)");
    EXPECT_EQ(s.code(), c.code) << c.rc;
    const std::string m(sv(s.message()));
    EXPECT_NE(m.find(c.says), std::string::npos) << m;
    EXPECT_EQ(m.find("INSERT"), std::string::npos) << m;
  }
  EXPECT_TRUE(sqlite::to_status("s.db", nullptr, SQLITE_DONE, "x").ok());
}

TEST_F(SqliteStoreTest, SchemaVersion3UpgradesKeepingTheListAndItsAttempts) {
  load(2);
  ASSERT_EQ(store_->claim(campaign_, 1, t(0), "me")->size(), 1u);
  store_.reset();
  {
    // A version-3 file: no compliance columns or tables.
    sqlite::Db db;
    ASSERT_TRUE(db.open(path_, false).ok());
    for (const char* sql :
         {"DROP INDEX attempts_phone_time", "DROP INDEX customers_cust_id",
          "ALTER TABLE phones DROP COLUMN zones", "ALTER TABLE phones DROP COLUMN region",
          "ALTER TABLE customers DROP COLUMN held",
          "ALTER TABLE attempts DROP COLUMN callee_timezone", "ALTER TABLE attempts DROP COLUMN rule",
          "DROP TABLE dnc", "DROP TABLE dnc_sources", "DROP TABLE abandon_ledger",
          "DROP TABLE compliance_counts", "DROP TABLE settings", "DROP TABLE call_history",
          "UPDATE meta SET value = '3' WHERE key = 'schema_version'"}) {
      ASSERT_TRUE(db.exec(sql).ok()) << sql;
    }
  }
  EXPECT_FALSE(SqliteStore::open(path_, false).ok());
  store_ = open(true);  // what `init` does
  ASSERT_NE(store_, nullptr);
  auto st = store_->status(campaign_);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->customers, 2);
  EXPECT_EQ(st->attempts_in_flight, 1);
  auto next = store_->claim(campaign_, 5, t(1), "me");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->size(), 1u);
  ASSERT_TRUE(store_->migrate().ok());  // again: nothing to do
}

TEST_F(SqliteStoreTest, NodeRecordsAreNotFencedAndLongDeadOnesAreForgotten) {
  auto token = store_->acquire_lease(campaign_, "a", t(0), t(30));
  ASSERT_TRUE(token.ok() && token->has_value());
  store_->fence(campaign_, "a", **token);
  ASSERT_TRUE(store_->acquire_lease(campaign_, "b", t(31), t(60)).ok());
  // The node record is the process's, not the campaign's: a dialer that
  // lost a lease still heartbeats as a node.
  EXPECT_TRUE(store_->heartbeat_node("a", t(32), t(42), false).ok());
  store_->unfence();
  ASSERT_TRUE(store_->heartbeat_node("gone", t(0), t(1), false).ok());
  // A day after it lapsed, the next heartbeat forgets it; `a` stays.
  ASSERT_TRUE(store_->heartbeat_node("c", t(2 + 24 * 3600), t(3 + 24 * 3600), false).ok());
  sqlite::Db db;
  ASSERT_TRUE(db.open(path_, false).ok());
  auto n = db.prepare("SELECT group_concat(id, ',') FROM (SELECT id FROM nodes ORDER BY id)");
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE(*n->step());
  EXPECT_EQ(n->text(0), "a,c");
}

TEST_F(SqliteStoreTest, SchemaVersion5UpgradesWithANodesTable) {
  store_.reset();
  {
    sqlite::Db db;
    ASSERT_TRUE(db.open(path_, false).ok());
    for (const char* sql :
         {"DROP TABLE nodes", "UPDATE meta SET value = '5' WHERE key = 'schema_version'"}) {
      ASSERT_TRUE(db.exec(sql).ok()) << sql;
    }
  }
  auto refused = SqliteStore::open(path_, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message()).find("schema version 5"), std::string::npos);
  store_ = open(true);  // what `init` does
  ASSERT_NE(store_, nullptr);
  ASSERT_TRUE(store_->heartbeat_node("n1", t(0), t(10), false).ok());
  EXPECT_EQ(store_->live_nodes(t(1))->size(), 1u);
}

}  // namespace
}  // namespace pd
