#include "store/store_executor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

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
