#include "store/store_executor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "core/strings.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

class StoreExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-exec-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "x.db").string();
    auto s = SqliteStore::open(path_, true);
    ASSERT_TRUE(s.ok());
    campaign_ = (*s)->init_campaign("c")->id;
    // Not a calling-window test: every hour is inside the window.
    ASSERT_TRUE((*s)->set_config(campaign_, "calling-hours", "00:00-24:00").ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static void load(Store& s, int n) {
    auto c = s.find_campaign("c");
    ASSERT_TRUE(c.ok());
    auto w = s.begin_list(c->id, LoadMode::kReplace);
    ASSERT_TRUE(w.ok()) << w.status();
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE((*w)->add(cat("C", i), fmt::format("+1202555{:04d}", i), "{}", i + 2).ok());
    }
    ASSERT_TRUE((*w)->commit().ok());
  }
  // Fills the "disk" one page from now.
  static void fill_disk_soon(SqliteStore& s) {
    auto pages = s.page_count_for_testing();
    ASSERT_TRUE(pages.ok()) << pages.status();
    ASSERT_TRUE(s.limit_pages_for_testing(*pages + 1).ok());
  }

  std::filesystem::path dir_;
  std::string path_;
  CampaignId campaign_ = 0;
};

TEST_F(StoreExecutorTest, ThreadedCompletionsRunOnTheLoopInSubmissionOrderAfterCommit) {
  RealTimeLoop loop;
  auto store = SqliteStore::open(path_, false);
  ASSERT_TRUE(store.ok());
  std::vector<int> order;
  {
    ThreadedStoreExecutor executor(std::move(*store), loop);
    for (int i = 0; i < 200; ++i) {
      executor.submit([this, i, &order](Store& s) -> StoreExecutor::Completion {
        EXPECT_TRUE(s.set_config(campaign_, cat("k", i), cat(i)).ok());
        return [&order, i] { order.push_back(i); };
      });
    }
    executor.submit(
        [&loop](Store&) -> StoreExecutor::Completion { return [&loop] { loop.stop(); }; });
    loop.run();
    executor.drain();
  }
  ASSERT_EQ(order.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(order[i], i);
  // Everything the completions announced is durable and visible to others.
  auto other = SqliteStore::open(path_, false);
  auto cfg = (*other)->config(campaign_);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->at("k199"), "199");
}

TEST_F(StoreExecutorTest, AFailedOperationInABatchDoesNotUndoTheOthers) {
  RealTimeLoop loop;
  auto store = SqliteStore::open(path_, false);
  int failures = 0;
  {
    ThreadedStoreExecutor executor(std::move(*store), loop);
    for (int i = 0; i < 50; ++i) {
      executor.submit([this, i, &failures](Store& s) -> StoreExecutor::Completion {
        // Every tenth operation fails (no such attempt) inside the batch.
        absl::Status st =
            i % 10 == 0 ? s.set_contact_id(999999, "x") : s.set_config(campaign_, cat("k", i), "v");
        return [st, &failures] { failures += st.ok() ? 0 : 1; };
      });
    }
    executor.submit(
        [&loop](Store&) -> StoreExecutor::Completion { return [&loop] { loop.stop(); }; });
    loop.run();
    executor.drain();
  }
  EXPECT_EQ(failures, 5);
  auto other = SqliteStore::open(path_, false);
  EXPECT_EQ((*other)->config(campaign_)->count("k49"), 1u);
}

// An operation that fails after it changed rows (a claim of many, the disk
// full half way) cannot leave its batch to commit (SQLite opens no
// savepoint per operation): the batch rolls back and the executor runs each
// operation again in a transaction of its own, so the others still commit
// and nothing of the failed one stays.
TEST_F(StoreExecutorTest, AnOperationThatFailsPartWaySendsItsBatchToOneTransactionEach) {
  RealTimeLoop loop;
  auto opened = SqliteStore::open(path_, false);
  ASSERT_TRUE(opened.ok());
  load(**opened, 300);
  SqliteStore& sqlite = **opened;
  std::mutex mu;
  std::condition_variable cv;
  bool all_submitted = false;
  std::vector<absl::Status> claims;
  int claim_runs = 0;  // on the store thread; read after drain()
  {
    ThreadedStoreExecutor executor(std::move(*opened), loop);
    // Holds the store thread until the rest has queued up: one batch.
    executor.submit([&](Store&) -> StoreExecutor::Completion {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return all_submitted; });
      return {};
    });
    executor.submit([this](Store& s) -> StoreExecutor::Completion {
      EXPECT_TRUE(s.set_config(campaign_, "k1", "v").ok());
      return {};
    });
    executor.submit([&](Store& s) -> StoreExecutor::Completion {
      ++claim_runs;
      fill_disk_soon(sqlite);
      absl::Status st = s.claim(campaign_, 300, WallTime{Millis{1'800'000'000'000LL}}, "n").status();
      EXPECT_TRUE(sqlite.limit_pages_for_testing(1 << 30).ok());
      return [st, &claims] { claims.push_back(st); };
    });
    executor.submit([this](Store& s) -> StoreExecutor::Completion {
      EXPECT_TRUE(s.set_config(campaign_, "k2", "v").ok());
      return {};
    });
    executor.submit(
        [&loop](Store&) -> StoreExecutor::Completion { return [&loop] { loop.stop(); }; });
    {
      std::lock_guard lock(mu);
      all_submitted = true;
    }
    cv.notify_all();
    loop.run();
    executor.drain();
  }
  // Run in the batch, then alone; the completion is the second run's.
  EXPECT_EQ(claim_runs, 2);
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].code(), absl::StatusCode::kResourceExhausted) << claims[0];
  auto other = SqliteStore::open(path_, false);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->config(campaign_)->count("k1"), 1u);
  EXPECT_EQ((*other)->config(campaign_)->count("k2"), 1u);
  EXPECT_EQ((*other)->status(campaign_)->attempts, 0);
}

TEST_F(StoreExecutorTest, AnInlineBatchThatCannotCommitIsReported) {
  VirtualLoop loop;
  auto store = SqliteStore::open(path_, false);
  ASSERT_TRUE(store.ok());
  load(**store, 300);
  InlineStoreExecutor executor(**store, loop, /*ops_per_commit=*/1000);
  executor.submit([this](Store& s) -> StoreExecutor::Completion {
    EXPECT_TRUE(s.set_config(campaign_, "k1", "v").ok());
    return {};
  });
  executor.submit([&](Store& s) -> StoreExecutor::Completion {
    fill_disk_soon(**store);
    EXPECT_FALSE(s.claim(campaign_, 300, WallTime{Millis{1'800'000'000'000LL}}, "n").ok());
    EXPECT_TRUE((*store)->limit_pages_for_testing(1 << 30).ok());
    return {};
  });
  EXPECT_TRUE(executor.batch_failure().ok());
  executor.drain();
  EXPECT_EQ(executor.batch_failure().code(), absl::StatusCode::kAborted)
      << executor.batch_failure();
  auto other = SqliteStore::open(path_, false);
  EXPECT_EQ((*other)->config(campaign_)->count("k1"), 0u);
}

TEST_F(StoreExecutorTest, InlineBatchesAreCommittedByDrain) {
  VirtualLoop loop;
  auto store = SqliteStore::open(path_, false);
  ASSERT_TRUE(store.ok());
  InlineStoreExecutor executor(**store, loop, /*ops_per_commit=*/1000);
  executor.submit([this](Store& s) -> StoreExecutor::Completion {
    EXPECT_TRUE(s.set_config(campaign_, "max-attempts", "4").ok());
    return {};
  });
  executor.drain();
  auto other = SqliteStore::open(path_, false);
  EXPECT_EQ((*other)->config(campaign_)->at("max-attempts"), "4");
}

}  // namespace
}  // namespace pd
