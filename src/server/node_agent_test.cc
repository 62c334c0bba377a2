#include "server/node_agent.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "core/clock.h"
#include "core/strings.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class NodeAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-node-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "nodes.db").string();
    auto s = SqliteStore::open(path_, true);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  CampaignId campaign(const std::string& name, int customers) {
    Campaign c = *store_->init_campaign(name);
    EXPECT_TRUE(store_->set_config(c.id, "calling-hours", "00:00-24:00").ok());
    auto w = store_->begin_list(c.id, LoadMode::kReplace);
    EXPECT_TRUE(w.ok());
    for (int i = 0; i < customers; ++i) {
      EXPECT_TRUE((*w)->add(cat(name, "-", i), fmt::format("+1202555{:04d}", i), "{}", i + 2).ok());
    }
    EXPECT_TRUE((*w)->commit().ok());
    return c.id;
  }

  // A node's host: real time, short calls, a one-second lease.
  HostOptions host_options(const std::string& node) {
    HostOptions ho;
    ho.db_path = path_;
    ho.node_id = node;
    ho.lease = seconds(1);
    ho.backend.sim.agents = 2;
    ho.backend.sim.talk_mean = milliseconds(300);
    ho.backend.sim.acw_mean = milliseconds(0);
    ho.backend.sim.ring_min = milliseconds(50);
    ho.backend.sim.ring_max = milliseconds(200);
    ho.backend.sim.ring_timeout = milliseconds(300);
    ho.backend.sim.busy_after = milliseconds(50);
    ho.backend.sim.invalid_after = milliseconds(20);
    ho.backend.sim.machine_after = milliseconds(50);
    return ho;
  }
  std::unique_ptr<NodeAgent> agent(CampaignHost& host, const std::string& node) {
    auto s = open_store(path_, false);
    EXPECT_TRUE(s.ok());
    // Heartbeats by hand (step()): the test decides when each node looks,
    // and a node stays alive between them.
    return std::make_unique<NodeAgent>(std::move(*s), host, NodeOptions{node, seconds(60), {}});
  }

  std::string owner(CampaignId id) {
    auto lease = store_->lease(id);
    if (!lease.ok() || !*lease || (*lease)->until <= system_clock().wall_now()) return "";
    return (*lease)->owner;
  }
  CampaignState state(CampaignId id) { return store_->campaign(id)->state; }
  bool eventually(const std::function<bool()>& done, seconds timeout = seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return done();
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(NodeAgentTest, ReadNodesShowsWhatEachLiveNodeHolds) {
  const CampaignId a = campaign("a", 1), b = campaign("b", 1), c = campaign("c", 1);
  campaign("idle", 1);
  const WallTime now = system_clock().wall_now();
  ASSERT_TRUE(store_->heartbeat_node("n1", now, now + seconds(10), false).ok());
  ASSERT_TRUE(store_->heartbeat_node("n2", now, now + seconds(10), true).ok());
  ASSERT_TRUE(store_->heartbeat_node("dead", now - seconds(20), now - seconds(10), false).ok());
  for (CampaignId id : {a, b, c}) {
    ASSERT_TRUE(store_->transition(id, {}, CampaignState::kRunning).ok());
  }
  ASSERT_TRUE(store_->acquire_lease(a, "n1", now, now + seconds(10))->has_value());
  ASSERT_TRUE(store_->acquire_lease(b, "dead", now - seconds(20), now - seconds(10))->has_value());
  // c: no lease at all.
  auto view = read_nodes(*store_, now);
  ASSERT_TRUE(view.ok()) << view.status();
  ASSERT_EQ(view->nodes.size(), 2u);
  EXPECT_EQ(view->nodes[0].node.id, "n1");
  EXPECT_EQ(view->nodes[0].campaigns, std::vector<std::string>{"a"});
  EXPECT_EQ(view->nodes[1].node.id, "n2");
  EXPECT_TRUE(view->nodes[1].node.draining);
  EXPECT_TRUE(view->nodes[1].campaigns.empty());
  EXPECT_EQ(view->unheld, (std::vector<std::string>{"b", "c"}));
}

TEST_F(NodeAgentTest, NodesSpreadCampaignsHandThemOverWhenDrainedAndTakeOverLapsedOnes) {
  const CampaignId c1 = campaign("c1", 2000), c2 = campaign("c2", 2000);
  const CampaignId c3 = campaign("c3", 2000);
  CampaignHost host_a(host_options("a")), host_b(host_options("b"));
  auto a = agent(host_a, "a");
  auto b = agent(host_b, "b");
  ASSERT_TRUE(a->step().ok());
  ASSERT_TRUE(b->step().ok());

  // Both started on a: b has none, so a hands one over (c2, the last).
  ASSERT_TRUE(host_a.start("c1").ok());
  ASSERT_TRUE(host_a.start("c2").ok());
  ASSERT_TRUE(eventually([&] { return owner(c1) == "a" && owner(c2) == "a"; }));
  ASSERT_TRUE(b->step().ok());  // nothing is free: b takes nothing
  EXPECT_TRUE(host_b.active().empty());
  ASSERT_TRUE(a->step().ok());
  // Its calls end, then its lease is given up; the campaign stays running.
  ASSERT_TRUE(eventually([&] { return owner(c2).empty(); })) << owner(c2);
  EXPECT_EQ(state(c2), CampaignState::kRunning);
  EXPECT_EQ(owner(c1), "a");
  ASSERT_TRUE(a->step().ok());  // a, at its share, takes nothing back
  ASSERT_TRUE(b->step().ok());
  ASSERT_TRUE(eventually([&] { return owner(c2) == "b"; }));
  EXPECT_EQ(host_a.active(), std::vector<std::string>{"c1"});

  // Drained: a hands c1 over and refuses starts; b takes it.
  EXPECT_EQ(a->drain(), std::vector<std::string>{"c1"});
  EXPECT_TRUE(a->draining());
  EXPECT_TRUE(absl::IsFailedPrecondition(host_a.start("c3")));
  ASSERT_TRUE(eventually([&] { return owner(c1).empty(); }));
  EXPECT_EQ(state(c1), CampaignState::kRunning);
  auto others = b->others_serving();
  ASSERT_TRUE(others.ok());
  EXPECT_FALSE(*others);  // a is draining
  ASSERT_TRUE(b->step().ok());
  ASSERT_TRUE(eventually([&] { return owner(c1) == "b"; }));

  // A dialer that froze (its lease lapses) with a call in flight.
  const WallTime now = system_clock().wall_now();
  ASSERT_TRUE(store_->transition(c3, {}, CampaignState::kRunning).ok());
  ASSERT_TRUE(store_->acquire_lease(c3, "elsewhere:1:frozen", now, now + seconds(1))->has_value());
  auto orphan = store_->claim(c3, 1, now, "elsewhere:1:frozen");
  ASSERT_EQ(orphan->size(), 1u);
  ASSERT_TRUE(b->step().ok());
  EXPECT_EQ(owner(c3), "elsewhere:1:frozen");  // not before its lease lapses
  std::this_thread::sleep_for(milliseconds(1100));
  ASSERT_TRUE(b->step().ok());
  ASSERT_TRUE(eventually([&] { return owner(c3) == "b"; }));
  ASSERT_TRUE(eventually([&] {
    auto open = store_->open_attempts(c3);
    return open.ok() && std::none_of(open->begin(), open->end(), [&](const AttemptRecord& r) {
             return r.id == (*orphan)[0].attempt_id;
           });
  }));
  std::vector<AttemptRecord> rows;
  ASSERT_TRUE(store_->for_each_attempt(c3, [&](const AttemptRecord& r) { rows.push_back(r); }).ok());
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0].outcome, Outcome::kInterrupted);  // the simulator cannot describe it

  // The nodes leave: a is forgotten at once.
  a->stop();
  auto live = store_->live_nodes(system_clock().wall_now());
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].id, "b");
  b->stop();
  host_b.shutdown();
  host_a.shutdown();
}

}  // namespace
}  // namespace pd
