// Test-only: how the Store contract tests (src/store/*_contract_test.cc) get
// a store, so one suite runs against every implementation. Each test asks
// its factory for a fresh, empty database (set_up), opens as many Store
// objects on it as it needs (one per thread or process, as store.h asks),
// and may read a number straight from the tables, through SQL both
// databases understand (their schemas share table and column names).
//
// Thread-safety: set_up/tear_down on the test's thread; open() from any
// thread once set_up() returned.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/store.h"

namespace pd::store_testing {

class StoreFactory {
 public:
  virtual ~StoreFactory() = default;
  // Makes a fresh, empty database for one test.
  virtual absl::Status set_up() = 0;
  // Throws the database away.
  virtual void tear_down() = 0;
  // A new Store on the test's database: `create` makes the schema (what
  // `powerdialer init` does); without it the schema must exist.
  virtual absl::StatusOr<std::unique_ptr<Store>> open(bool create) = 0;
  // The first column of the first row of `sql`, read through a connection
  // of its own (what another process sees): an integer, or text.
  virtual absl::StatusOr<int64_t> query_int(const std::string& sql) = 0;
  virtual absl::StatusOr<std::string> query_text(const std::string& sql) = 0;
};

// One implementation under test: its name (the instantiation's suffix) and
// how to make its factory.
struct StoreKind {
  std::string name;
  std::function<std::unique_ptr<StoreFactory>()> make;
  // What a test may ask beyond the Store seam: another process opening
  // the database (and a process killed mid-change), and SQL through
  // query_int/query_text. The in-memory store has neither; the tests that
  // need them skip it.
  bool shared_by_processes = true;
  bool answers_sql = true;
};
inline std::string store_kind_name(const ::testing::TestParamInfo<StoreKind>& info) {
  return info.param.name;
}
// What gtest prints for the parameter (its name, not the struct's bytes).
inline void PrintTo(const StoreKind& kind, std::ostream* os) { *os << kind.name; }

// In a contract test: skips it for a store no other process can open.
#define PD_SKIP_UNLESS_SHARED_BY_PROCESSES() \
  if (!GetParam().shared_by_processes)       \
  GTEST_SKIP() << GetParam().name << ": no other process sees this store"

// SQLite: a file in a temporary folder of its own.
StoreKind sqlite_store_kind();
// PostgreSQL: a fresh database on the test process's shared server.
StoreKind pg_store_kind();
// The in-memory store (store/memory/memory_store.h): Store objects of one
// database share it through MemoryStore::open_another().
StoreKind memory_store_kind();

// The base of the contract fixtures: a factory set up for each test, and
// open() for the Store objects the test needs.
class StoreContractBase : public ::testing::TestWithParam<StoreKind> {
 protected:
  // REQUIRES: derived SetUp() calls this first (and returns on failure:
  // check HasFatalFailure()).
  void SetUp() override;
  void TearDown() override;
  // A new Store on this test's database; nullptr (with a test failure)
  // when it cannot be opened.
  std::unique_ptr<Store> open(bool create);
  StoreFactory& factory() { return *factory_; }
  // A number or text from another connection (see StoreFactory).
  int64_t count(const std::string& sql);
  std::string text(const std::string& sql);

 private:
  std::unique_ptr<StoreFactory> factory_;
  bool set_up_ = false;
};

}  // namespace pd::store_testing
