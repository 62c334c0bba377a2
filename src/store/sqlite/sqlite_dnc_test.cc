// The do-not-call list in the SQLite store: its staged bulk load. What every
// store does (entries, loads, the claim's check) is in
// store/dnc_contract_test.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <filesystem>
#include <set>
#include <thread>

#include "core/strings.h"
#include "core/time_format.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

class SqliteDncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-dnc-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "test.db").string();
    store_ = open(true);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<SqliteStore> open(bool create) {
    auto s = SqliteStore::open(path_, create);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  WallTime t(int seconds) { return WallTime{Millis{1'800'000'000'000LL + seconds * 1000LL}}; }

  DncLoadResult add(Store& store, const std::vector<std::string>& numbers, std::string source,
                    std::optional<WallTime> expires = std::nullopt, std::string replace = "") {
    auto w = store.begin_dnc({t(0), replace});
    EXPECT_TRUE(w.ok()) << w.status();
    for (const std::string& n : numbers) {
      absl::Status s = (*w)->add(n, source, expires);
      EXPECT_TRUE(s.ok()) << s;
    }
    auto done = (*w)->commit();
    EXPECT_TRUE(done.ok()) << done.status();
    return done.ok() ? *done : DncLoadResult{};
  }

  std::vector<DncEntry> all(DncQuery q = {}) {
    std::vector<DncEntry> out;
    absl::Status s = store_->for_each_dnc(q, [&](const DncEntry& e) { out.push_back(e); });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

// More than one chunk: staged in a file beside the store, merged at commit;
// the later of two entries for a number wins, in file order.
TEST_F(SqliteDncTest, ABulkLoadIsStagedAndMergedInOrder) {
  constexpr int kNumbers = 60'000;
  store_ = open(false);  // as the commands open it: the store exists
  store_->set_dnc_chunk_for_testing(7'000);  // 9 runs
  auto w = store_->begin_dnc({t(0), ""});
  ASSERT_TRUE(w.ok());
  // Descending, so sorting matters; every 1000th number comes again later
  // with another source.
  for (int i = kNumbers - 1; i >= 0; --i) {
    ASSERT_TRUE((*w)->add(cat("+1", 2'000'000'000LL + i), "fcc", {}).ok());
  }
  for (int i = 0; i < kNumbers; i += 1000) {
    ASSERT_TRUE((*w)->add(cat("+1", 2'000'000'000LL + i), "again", t(5)).ok());
  }
  // The staging file exists while the load runs...
  bool staged = false;
  for (const auto& f : std::filesystem::directory_iterator(dir_)) {
    if (f.path().filename().string().find("dncload") != std::string::npos) staged = true;
  }
  EXPECT_TRUE(staged);
  auto done = (*w)->commit();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->total, kNumbers);
  w->reset();
  // ... and is gone after.
  for (const auto& f : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(f.path().filename().string().find("dncload"), std::string::npos) << f.path();
  }
  auto counts = store_->dnc_counts(t(10));
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->by_source["again"], kNumbers / 1000);
  EXPECT_EQ(counts->expired, kNumbers / 1000);
  EXPECT_EQ((*store_->find_dnc("+12000001000"))->source, "again");
  EXPECT_EQ((*store_->find_dnc("+12000001001"))->source, "fcc");
}

}  // namespace
}  // namespace pd
