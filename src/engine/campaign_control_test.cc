#include "engine/campaign_control.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "core/strings.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

class CampaignControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-control-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    auto s = SqliteStore::open((dir_ / "c.db").string(), true);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    auto c = store_->init_campaign("spring");
    ASSERT_TRUE(c.ok());
    campaign_ = *c;
    // Not a calling-window test: every hour is inside the window.
    ASSERT_TRUE(store_->set_config(campaign_.id, "calling-hours", "00:00-24:00").ok());
    auto w = store_->begin_list(campaign_.id, LoadMode::kReplace);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->add("A", "+12025550100", "{}", 2).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Marks the campaign running, as a dialer does once it holds the lease.
  Campaign running() {
    auto c = store_->transition(campaign_.id, {}, CampaignState::kRunning);
    EXPECT_TRUE(c.ok());
    return *c;
  }

  // An owner id naming a process of this machine that has exited.
  static std::string dead_local_owner() {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    int status = 0;
    ::waitpid(child, &status, 0);
    const std::string mine = new_dialer_owner_id();  // host:pid:random
    const size_t a = mine.find(':');
    return cat(mine.substr(0, a), ":", child, ":deadbeef");
  }

  WallTime now_ = WallTime{Millis{1'800'000'000'000LL}};
  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
  Campaign campaign_;
};

TEST_F(CampaignControlTest, OnlyARunningOrStoppingCampaignHasADialer) {
  auto h = dialer_health(*store_, campaign_, now_);
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->has_value());
}

TEST_F(CampaignControlTest, ALiveLeaseIsAResponsiveDialer) {
  ASSERT_TRUE(*store_->acquire_lease(campaign_.id, "elsewhere:42:abc", now_, now_ + Millis{15000}));
  auto h = dialer_health(*store_, running(), now_ + Millis{1000});
  ASSERT_TRUE(h.ok() && h->has_value());
  EXPECT_TRUE((*h)->responding);
  EXPECT_EQ((*h)->owner, "elsewhere:42:abc");
  EXPECT_EQ((*h)->lease_until, now_ + Millis{15000});
  EXPECT_EQ((*h)->problem, "");
}

TEST_F(CampaignControlTest, ALapsedLeaseIsADialerNotRespondingSinceItLapsed) {
  ASSERT_TRUE(*store_->acquire_lease(campaign_.id, "elsewhere:42:abc", now_, now_ + Millis{15000}));
  auto h = dialer_health(*store_, running(), now_ + Millis{60000});
  ASSERT_TRUE(h.ok() && h->has_value());
  EXPECT_FALSE((*h)->responding);
  EXPECT_EQ((*h)->problem, "dialer not responding since 2027-01-15T08:00:15.000Z");
}

TEST_F(CampaignControlTest, ALeaseOfAGoneLocalProcessIsADeadDialerAtOnce) {
  const std::string owner = dead_local_owner();
  ASSERT_TRUE(*store_->acquire_lease(campaign_.id, owner, now_, now_ + Millis{15000}));
  auto h = dialer_health(*store_, running(), now_);
  ASSERT_TRUE(h.ok() && h->has_value());
  EXPECT_FALSE((*h)->responding);
  EXPECT_NE((*h)->problem.find("on this machine has exited"), std::string::npos) << (*h)->problem;
}

TEST_F(CampaignControlTest, RunningWithoutALeaseIsADeadDialer) {
  auto h = dialer_health(*store_, running(), now_);
  ASSERT_TRUE(h.ok() && h->has_value());
  EXPECT_FALSE((*h)->responding);
  EXPECT_EQ((*h)->problem, "no dialer holds it");
}

TEST_F(CampaignControlTest, ADeadDialerDoesNotBlockALoad) {
  ASSERT_TRUE(*store_->acquire_lease(campaign_.id, "elsewhere:42:abc", now_, now_ + Millis{15000}));
  const Campaign c = running();
  EXPECT_TRUE(absl::IsFailedPrecondition(
      store_->begin_list(c.id, LoadMode::kReplace).status()));  // as before
  auto settled = stop_if_dialer_dead(*store_, c, now_ + Millis{60000});
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->state, CampaignState::kStopped);
  EXPECT_FALSE(store_->lease(c.id)->has_value());
  EXPECT_TRUE(store_->begin_list(c.id, LoadMode::kReplace).ok());
}

TEST_F(CampaignControlTest, ALiveDialerStillBlocksALoad) {
  ASSERT_TRUE(*store_->acquire_lease(campaign_.id, "elsewhere:42:abc", now_, now_ + Millis{15000}));
  const Campaign c = running();
  auto settled = stop_if_dialer_dead(*store_, c, now_ + Millis{1000});
  ASSERT_TRUE(settled.ok());
  EXPECT_EQ(settled->state, CampaignState::kRunning);
  EXPECT_TRUE(store_->lease(c.id)->has_value());
  auto refused = store_->begin_list(c.id, LoadMode::kReplace);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status()));
}

TEST_F(CampaignControlTest, AClockMayStartOnlyAfterTheLatestRecordedTime) {
  const WallTime start{Millis{1'772'964'000'000}};
  EXPECT_TRUE(check_clock_start(*store_, start, "--start").ok()) << "no attempt yet";
  auto claims = store_->claim(campaign_.id, 1, start, "me");
  ASSERT_TRUE(claims.ok() && claims->size() == 1) << claims.status();
  const absl::Status same = check_clock_start(*store_, start, "--start");
  EXPECT_TRUE(absl::IsFailedPrecondition(same)) << same;
  EXPECT_NE(same.message().find("--start 2026-03-08T10:00:00.000Z is not after the latest time"),
            std::string::npos)
      << same;
  EXPECT_TRUE(check_clock_start(*store_, start + Millis{1}, "--start").ok());
}

}  // namespace
}  // namespace pd
