// The live feed and the status cache behind it: an idle server reads no
// campaign rows, and a change is seen on the next tick.
#include "server/live_feed.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/clock.h"
#include "core/strings.h"
#include "server/api.h"
#include "server/status_cache.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

class StatusCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-feed-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "feed.db").string();
    auto writer = SqliteStore::open(path_, true);
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_ = std::move(*writer);
    auto c = writer_->init_campaign("spring");
    ASSERT_TRUE(c.ok()) << c.status();
    campaign_ = c->id;
    // Not a calling-window test: every hour is inside the window.
    ASSERT_TRUE(writer_->set_config(campaign_, "calling-hours", "00:00-24:00").ok());
    auto reader = SqliteStore::open(path_, false);
    ASSERT_TRUE(reader.ok()) << reader.status();
    cache_ = std::make_unique<StatusCache>(std::move(*reader));
  }
  void TearDown() override {
    cache_.reset();
    writer_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Another connection's commit, as an engine or a `load` would make.
  void load(int n) {
    auto w = writer_->begin_list(campaign_, LoadMode::kReplace);
    ASSERT_TRUE(w.ok()) << w.status();
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE((*w)->add(cat("C", i), cat("+1202555", 1000 + i), "{}", i + 2).ok());
    }
    ASSERT_TRUE((*w)->commit().ok());
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<Store> writer_;
  CampaignId campaign_ = 0;
  std::unique_ptr<StatusCache> cache_;
};

TEST_F(StatusCacheTest, ReadsAgainOnlyAfterAnotherConnectionCommits) {
  auto first = cache_->status(campaign_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->customers, 0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cache_->status(campaign_).ok());
  ASSERT_TRUE(cache_->all().ok());
  EXPECT_EQ(cache_->reads(), 1);

  load(3);
  auto second = cache_->status(campaign_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->customers, 3);
  EXPECT_EQ(cache_->reads(), 2);
  auto listed = cache_->campaigns();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().name, "spring");
}

TEST_F(StatusCacheTest, TheFeedSaysWhenARunningCampaignsDialerIsGone) {
  load(1);
  // Marked running by a dialer that died without a word: no lease is held.
  ASSERT_TRUE(writer_->transition(campaign_, {}, CampaignState::kRunning).ok());
  auto frames = campaign_frames(*cache_, nullptr)();
  ASSERT_TRUE(frames.ok()) << frames.status();
  ASSERT_EQ(frames->size(), 1u);
  ASSERT_TRUE(frames->front().status.dialer.has_value());
  EXPECT_FALSE(frames->front().status.dialer->responding);
  const nlohmann::json event = campaign_event_json(frames->front(), WallTime{});
  EXPECT_EQ(event["dialer"]["responding"], false);
  EXPECT_EQ(event["dialer"]["problem"], "no dialer holds it");

  // A live dialer's lease: responding.
  const WallTime now = system_clock().wall_now();
  ASSERT_TRUE(
      *writer_->acquire_lease(campaign_, "elsewhere:1:x", now, now + std::chrono::hours(1)));
  frames = campaign_frames(*cache_, nullptr)();
  ASSERT_TRUE(frames.ok()) << frames.status();
  EXPECT_TRUE(frames->front().status.dialer->responding);
}

// A campaign dialled by `powerdialer run` in another process: its engine's
// heartbeat wrote its pacing into the store's settings, and the feed shows
// it while the campaign runs; an engine in this process is fresher still.
TEST_F(StatusCacheTest, TheFeedShowsThePacingOfADialerElsewhereWhileItRuns) {
  load(1);
  ASSERT_TRUE(writer_->set_config(campaign_, "pacing", "progressive").ok());
  LivePacing elsewhere;
  elsewhere.mode = "progressive";
  elsewhere.lines_per_agent = 1.4;
  elsewhere.at = system_clock().wall_now();
  ASSERT_TRUE(
      writer_->set_setting(pacing_setting_key(campaign_), live_pacing_json(elsewhere).dump()).ok());
  // Not running: the last word is history, not a level.
  auto frames = campaign_frames(*cache_, nullptr)();
  ASSERT_TRUE(frames.ok()) << frames.status();
  nlohmann::json pacing = campaign_event_json(frames->front(), WallTime{})["pacing"];
  EXPECT_EQ(pacing["mode"], "progressive");
  EXPECT_TRUE(pacing["lines_per_agent"].is_null());

  ASSERT_TRUE(writer_->transition(campaign_, {}, CampaignState::kRunning).ok());
  frames = campaign_frames(*cache_, nullptr)();
  ASSERT_TRUE(frames.ok()) << frames.status();
  pacing = campaign_event_json(frames->front(), WallTime{})["pacing"];
  EXPECT_DOUBLE_EQ(pacing["lines_per_agent"].get<double>(), 1.4);

  LiveStats here;
  LivePacing engine = elsewhere;
  engine.lines_per_agent = 1.6;
  here.pacing = engine;
  frames = campaign_frames(*cache_, [&] { return std::map<std::string, LiveStats>{{"spring", here}}; })();
  ASSERT_TRUE(frames.ok()) << frames.status();
  pacing = campaign_event_json(frames->front(), WallTime{})["pacing"];
  EXPECT_DOUBLE_EQ(pacing["lines_per_agent"].get<double>(), 1.6);
}

TEST_F(StatusCacheTest, IdleFeedReadsNothingAndPublishesNothingNew) {
  LiveFeed feed(campaign_frames(*cache_, [] { return std::map<std::string, LiveStats>{}; }),
                milliseconds(5));
  feed.start();
  auto first = feed.wait_newer(0, Steady::now() + std::chrono::seconds(10));
  ASSERT_NE(first, nullptr);
  // About forty ticks with nothing changed: no status read, no new snapshot
  // (subscribers are not woken for nothing).
  EXPECT_EQ(feed.wait_newer(first->generation, Steady::now() + milliseconds(200)), nullptr);
  EXPECT_EQ(cache_->reads(), 1);

  load(2);
  auto next = feed.wait_newer(first->generation, Steady::now() + std::chrono::seconds(10));
  ASSERT_NE(next, nullptr);
  ASSERT_EQ(next->campaigns.size(), 1u);
  EXPECT_EQ(next->campaigns[0].status.customers, 2);
  EXPECT_EQ(cache_->reads(), 2);
  feed.shutdown();
}

TEST_F(StatusCacheTest, ApiAnswersFromTheCache) {
  StorePool pool(path_);
  Api api(pool, nullptr, "", cache_.get());
  for (int i = 0; i < 3; ++i) {
    auto r = api.get_campaign("spring");
    ASSERT_EQ(r.status, 200) << r.body.dump();
  }
  ASSERT_EQ(api.list_campaigns().status, 200);
  EXPECT_EQ(cache_->reads(), 1);
  load(4);
  EXPECT_EQ(api.get_campaign("spring").body["customers"], 4);
  EXPECT_EQ(cache_->reads(), 2);
}

TEST_F(StatusCacheTest, WhileTheStoreKeepsChangingAReadWaitsThreeTimesItsCpuTime) {
  load(20000);  // a read costs a few milliseconds of CPU
  std::atomic<bool> done{false};
  std::atomic<int64_t> figures{0};
  // Another connection commits every few milliseconds, as a dialing engine
  // does: without pacing, every call would read the store again.
  std::thread engine([&] {
    for (int i = 0; !done; ++i) {
      ASSERT_TRUE(writer_->set_config(campaign_, "max-attempts", i % 2 ? "2" : "3").ok());
      std::this_thread::sleep_for(milliseconds(2));
    }
  });
  auto source = campaign_frames(*cache_, [&] {
    ++figures;
    return std::map<std::string, LiveStats>{};
  });
  int calls = 0;
  const auto until = Steady::now() + milliseconds(600);
  while (Steady::now() < until) {
    auto frames = source();
    ASSERT_TRUE(frames.ok()) << frames.status();
    ASSERT_EQ(frames->size(), 1u);
    EXPECT_EQ(frames->front().status.customers, 20000);
    ++calls;
  }
  done = true;
  engine.join();
  // The engine's figures are fresh on every call; the store is read on few.
  EXPECT_EQ(figures.load(), calls);
  EXPECT_GE(cache_->reads(), 2);
  EXPECT_GT(calls, 10 * cache_->reads()) << cache_->reads() << " reads in " << calls << " calls";
}

}  // namespace
}  // namespace pd
