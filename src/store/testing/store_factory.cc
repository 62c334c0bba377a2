#include "store/testing/store_factory.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "core/strings.h"
#include "store/memory/memory_store.h"
#include "store/postgres/pg_db.h"
#include "store/postgres/pg_store.h"
#include "store/postgres/testing/pg_test_server.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_store.h"

namespace pd::store_testing {
namespace {

class SqliteFactory final : public StoreFactory {
 public:
  absl::Status set_up() override {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-store-", ::getpid(), "-", ++counter, "-",
               ::testing::UnitTest::GetInstance()->random_seed());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (!std::filesystem::create_directories(dir_, ec)) {
      return absl::InternalError(cat("cannot create ", dir_.string(), ": ", ec.message()));
    }
    path_ = (dir_ / "test.db").string();
    return absl::OkStatus();
  }
  void tear_down() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  absl::StatusOr<std::unique_ptr<Store>> open(bool create) override {
    auto s = SqliteStore::open(path_, create);
    if (!s.ok()) return s.status();
    return std::unique_ptr<Store>(std::move(*s));
  }
  absl::StatusOr<int64_t> query_int(const std::string& sql) override {
    int64_t out = 0;
    absl::Status st = first_row(sql, [&](const sqlite::Stmt& s) { out = s.int64(0); });
    if (!st.ok()) return st;
    return out;
  }
  absl::StatusOr<std::string> query_text(const std::string& sql) override {
    std::string out;
    absl::Status st = first_row(sql, [&](const sqlite::Stmt& s) { out = std::string(s.text(0)); });
    if (!st.ok()) return st;
    return out;
  }

 private:
  absl::Status first_row(const std::string& sql,
                         const std::function<void(const sqlite::Stmt&)>& read) {
    sqlite::Db db;
    absl::Status st = db.open(path_, false);
    if (!st.ok()) return st;
    auto s = db.prepare(sql);
    if (!s.ok()) return s.status();
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError(cat("no row: ", sql));
    read(*s);
    return absl::OkStatus();
  }

  std::filesystem::path dir_;
  std::string path_;
};

}  // namespace

// PostgreSQL: a fresh database per test on the process's shared server
// (postgres/testing/pg_test_server.h).
class PgFactory final : public StoreFactory {
 public:
  absl::Status set_up() override {
    std::string error;
    postgres::testing::PgTestServer* server = postgres::testing::shared_pg_server(&error);
    if (server == nullptr) return absl::UnavailableError(cat("no PostgreSQL server: ", error));
    auto url = server->create_unique_database("pd");
    if (!url.ok()) return url.status();
    url_ = *url;
    return absl::OkStatus();
  }
  // The server drops every database when it stops (a temporary folder).
  void tear_down() override {}
  absl::StatusOr<std::unique_ptr<Store>> open(bool create) override {
    auto s = PgStore::open(url_, create);
    if (!s.ok()) return s.status();
    return std::unique_ptr<Store>(std::move(*s));
  }
  absl::StatusOr<int64_t> query_int(const std::string& sql) override {
    auto r = first_row(sql);
    if (!r.ok()) return r.status();
    return r->int64(0, 0);
  }
  absl::StatusOr<std::string> query_text(const std::string& sql) override {
    auto r = first_row(sql);
    if (!r.ok()) return r.status();
    return r->str(0, 0);
  }

 private:
  absl::StatusOr<pg::Result> first_row(const std::string& sql) {
    pg::Db db;
    absl::Status st = db.open(url_);
    if (!st.ok()) return st;
    auto r = db.query_dynamic(sql, {});
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return absl::NotFoundError(cat("no row: ", sql));
    return r;
  }
  std::string url_;
};

// In memory: the first Store made is the database; every open() is
// another Store object on it.
class MemoryFactory final : public StoreFactory {
 public:
  absl::Status set_up() override {
    origin_ = MemoryStore::create();
    return absl::OkStatus();
  }
  void tear_down() override { origin_.reset(); }
  absl::StatusOr<std::unique_ptr<Store>> open(bool /*create*/) override {
    return std::unique_ptr<Store>(origin_->open_another());
  }
  absl::StatusOr<int64_t> query_int(const std::string& sql) override { return no_sql(sql); }
  absl::StatusOr<std::string> query_text(const std::string& sql) override { return no_sql(sql); }

 private:
  static absl::Status no_sql(const std::string& sql) {
    return absl::UnimplementedError(cat("the in-memory store answers no SQL: ", sql));
  }
  std::unique_ptr<MemoryStore> origin_;
};

StoreKind memory_store_kind() {
  StoreKind kind{"Memory", [] { return std::unique_ptr<StoreFactory>(new MemoryFactory()); }};
  kind.shared_by_processes = false;
  kind.answers_sql = false;
  return kind;
}

StoreKind pg_store_kind() {
  return {"Pg", [] { return std::unique_ptr<StoreFactory>(new PgFactory()); }};
}

StoreKind sqlite_store_kind() {
  return {"Sqlite", [] { return std::unique_ptr<StoreFactory>(new SqliteFactory()); }};
}

void StoreContractBase::SetUp() {
  factory_ = GetParam().make();
  ASSERT_NE(factory_, nullptr);
  absl::Status st = factory_->set_up();
  ASSERT_TRUE(st.ok()) << GetParam().name << ": " << st;
  set_up_ = true;
}

void StoreContractBase::TearDown() {
  if (set_up_) factory_->tear_down();
}

std::unique_ptr<Store> StoreContractBase::open(bool create) {
  auto s = factory_->open(create);
  EXPECT_TRUE(s.ok()) << GetParam().name << ": " << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

int64_t StoreContractBase::count(const std::string& sql) {
  auto n = factory_->query_int(sql);
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *n : -1;
}

std::string StoreContractBase::text(const std::string& sql) {
  auto s = factory_->query_text(sql);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : "<error>";
}

}  // namespace pd::store_testing
