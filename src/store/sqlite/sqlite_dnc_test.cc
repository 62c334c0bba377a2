// The do-not-call list in the SQLite store: entries, bulk loads, and the
// claim's check (a listed number is never dialled, from the moment the
// change that listed it commits).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
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

TEST_F(SqliteDncTest, EntriesAreAddedFoundListedAndRemoved) {
  DncLoadResult r = add(*store_, {"+12025550123", "+442079460958"}, "fcc", t(100));
  EXPECT_EQ(r.written, 2);
  EXPECT_EQ(r.total, 2);
  auto e = store_->find_dnc("+12025550123");
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_TRUE(e->has_value());
  EXPECT_EQ((*e)->source, "fcc");
  EXPECT_EQ((*e)->added_at, t(0));
  EXPECT_EQ((*e)->expires_at, t(100));
  EXPECT_TRUE((*e)->active_at(t(99)));
  EXPECT_FALSE((*e)->active_at(t(100)));
  auto none = store_->find_dnc("+12025550199");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  std::vector<DncEntry> listed = all();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].number, "+12025550123");  // number order
  EXPECT_EQ(listed[1].number, "+442079460958");

  auto removed = store_->remove_dnc({"+12025550123", "+12025550199"});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  EXPECT_EQ(all().size(), 1u);
  EXPECT_FALSE(store_->remove_dnc({"2025550123"}).ok());  // not E.164
}

TEST_F(SqliteDncTest, ALaterAddReplacesTheEntryAndReplaceSourceDropsTheOldCopy) {
  add(*store_, {"+12025550001", "+12025550002", "+12025550003"}, "fcc");
  add(*store_, {"+12025550003"}, "internal");
  EXPECT_EQ((*store_->find_dnc("+12025550003"))->source, "internal");
  // A new copy of fcc's list: 0001 is gone from it, 0004 is new.
  DncLoadResult r = add(*store_, {"+12025550002", "+12025550004"}, "fcc", {}, "fcc");
  EXPECT_EQ(r.replaced, 2);  // 0001 and 0002 (0003 had become internal's)
  EXPECT_EQ(r.total, 3);
  std::vector<std::string> numbers;
  for (const DncEntry& e : all()) numbers.push_back(e.number);
  EXPECT_EQ(numbers, (std::vector<std::string>{"+12025550002", "+12025550003", "+12025550004"}));
  EXPECT_EQ(all({.source = "fcc"}).size(), 2u);
  auto counts = store_->dnc_counts(t(0));
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->total, 3);
  EXPECT_EQ(counts->by_source["fcc"], 2);
  EXPECT_EQ(counts->by_source["internal"], 1);
}

TEST_F(SqliteDncTest, PagesFollowNumberOrder) {
  std::vector<std::string> numbers;
  for (int i = 0; i < 10; ++i) numbers.push_back(cat("+1202555", 1000 + i));
  add(*store_, numbers, "fcc");
  auto page1 = all({.limit = 4});
  ASSERT_EQ(page1.size(), 4u);
  auto page2 = all({.after = page1.back().number, .limit = 4});
  ASSERT_EQ(page2.size(), 4u);
  EXPECT_EQ(page2[0].number, "+12025551004");
  EXPECT_EQ(all({.after = "+12025551007"}).size(), 2u);
}

TEST_F(SqliteDncTest, AnUncommittedLoadChangesNothing) {
  add(*store_, {"+12025550001"}, "fcc");
  {
    auto w = store_->begin_dnc({t(0), "fcc"});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->add("+12025550002", "fcc", {}).ok());
    EXPECT_FALSE((*w)->add("12025550002", "fcc", {}).ok());
    EXPECT_FALSE((*w)->add("+12025550002", "bad label", {}).ok());
  }
  std::vector<DncEntry> listed = all();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].number, "+12025550001");
}

// More than one chunk: staged in a file beside the store, merged at commit;
// the later of two entries for a number wins, in file order.
TEST_F(SqliteDncTest, ABulkLoadIsStagedAndMergedInOrder) {
  constexpr int kNumbers = 60'000;
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
