#include "engine/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/strings.h"
#include "engine/campaign_control.h"
#include "engine/vicidial_pacer.h"
#include "telephony/simulator/simulator.h"
#include "store/postgres/testing/pg_test_server.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace pd {
namespace {

using std::chrono::seconds;

// A contact centre driven by the test: it records every call request and
// delivers what the test says, when it says.
class ScriptedContactCenter final : public ContactCenter {
 public:
  explicit ScriptedContactCenter(EventLoop& loop) : loop_(loop) {}

  void start(EventHandler handler) override { handler_ = std::move(handler); }
  void shutdown() override { handler_ = nullptr; }
  void available_agents(std::function<void(absl::StatusOr<int>)> done) override {
    loop_.post([done = std::move(done)] { done(0); });
  }
  void start_call(const CallRequest& request,
                  std::function<void(absl::StatusOr<std::string>)> done) override {
    requests.push_back(request);
    if (!refuse_all.ok()) {
      loop_.post([done = std::move(done), st = refuse_all] { done(st); });
      return;
    }
    if (unanswered_next > 0) {
      // Timed out: the call was placed all the same (the token remembers).
      --unanswered_next;
      if (by_token.find(request.client_token) == by_token.end()) {
        by_token[request.client_token] = cat("contact-", ++placed);
        contacts.push_back(by_token[request.client_token]);
      }
      loop_.post([done = std::move(done)] { done(absl::UnavailableError("timed out")); });
      return;
    }
    if (auto known = by_token.find(request.client_token); known != by_token.end()) {
      loop_.post([done = std::move(done), id = known->second] { done(id); });
      return;
    }
    if (throttle_next > 0) {
      --throttle_next;
      loop_.post(
          [done = std::move(done)] { done(absl::ResourceExhaustedError("TooManyRequests")); });
      return;
    }
    const std::string id = cat("contact-", ++placed);
    contacts.push_back(id);
    by_token[request.client_token] = id;
    loop_.post([done = std::move(done), id] { done(id); });
  }
  bool can_describe_calls() const override { return describable; }
  void describe_call(const std::string& contact_id,
                     std::function<void(absl::StatusOr<std::vector<ContactEvent>>)> done) override {
    described.push_back(contact_id);
    auto it = past_calls.find(contact_id);
    absl::StatusOr<std::vector<ContactEvent>> r =
        it == past_calls.end()
            ? absl::StatusOr<std::vector<ContactEvent>>(absl::NotFoundError("no such contact"))
            : it->second;
    loop_.post([done = std::move(done), r] { done(r); });
  }

  void agent(const std::string& id, AgentState state) {
    ContactEvent e;
    e.kind = ContactEvent::Kind::kAgentState;
    e.agent_id = id;
    e.agent_state = state;
    emit(e);
  }
  void connect(const std::string& contact, const std::string& agent_id) {
    agent(agent_id, AgentState::kBusy);
    ContactEvent e;
    e.kind = ContactEvent::Kind::kCallConnected;
    e.contact_id = contact;
    e.agent_id = agent_id;
    emit(e);
  }
  void end(const std::string& contact, Outcome outcome, const std::string& reason = "") {
    ContactEvent e;
    e.kind = ContactEvent::Kind::kCallEnded;
    e.contact_id = contact;
    e.outcome = outcome;
    e.disconnect_reason = reason;
    emit(e);
  }
  void emit(ContactEvent e) {
    e.at = loop_.wall_now();
    loop_.post([this, e] {
      if (handler_) handler_(e);
    });
  }

  std::vector<CallRequest> requests;  // every start_call, retries included
  std::vector<std::string> contacts;  // calls actually placed
  int placed = 0;
  int throttle_next = 0;
  int unanswered_next = 0;
  absl::Status refuse_all;                      // every start_call fails with this
  std::map<std::string, std::string> by_token;  // client token -> contact id
  bool describable = false;
  std::map<std::string, std::vector<ContactEvent>> past_calls;  // describe_call answers
  std::vector<std::string> described;

 private:
  EventLoop& loop_;
  EventHandler handler_;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-engine-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "e.db").string();
    auto s = SqliteStore::open(path_, true, SqliteStore::Durability::kNoSync);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    campaign_ = *store_->init_campaign("c");
    // Not a calling-window test: every hour is inside the window.
    ASSERT_TRUE(store_->set_config(campaign_.id, "calling-hours", "00:00-24:00").ok());
    executor_ = std::make_unique<InlineStoreExecutor>(*store_, loop_);
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Customers C0.. with `phones` numbers each.
  void load(int customers, int phones = 1) {
    auto w = store_->begin_list(campaign_.id, LoadMode::kReplace);
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < customers; ++i) {
      for (int p = 0; p < phones; ++p) {
        ASSERT_TRUE(
            (*w)->add(cat("C", i), fmt::format("+1202555{:04d}", i * 10 + p), "{}", 2).ok());
      }
    }
    ASSERT_TRUE((*w)->commit().ok());
  }

  // A real-time run's engine (lease and heartbeat on the loop's clock) over
  // 5 customers, with one call placed; returns its options.
  EngineOptions start_leased_with_one_call() {
    load(5);
    EngineOptions options;
    options.heartbeat = std::chrono::seconds(1);
    options.lease_clock = [this] { return loop_.wall_now(); };
    engine_ =
        std::make_unique<Engine>(loop_, *executor_, cc_, campaign_, CampaignConfig{}, options);
    engine_->start([this](absl::Status s, CampaignState state) {
      finished_status_ = s;
      finished_state_ = state;
    });
    settle();
    cc_.agent("a1", AgentState::kAvailable);
    settle();
    return options;
  }

  void start(RetryRules rules = {}, std::string output = "") {
    CampaignConfig config = config_;
    config.retry = rules;
    config.output_file = std::move(output);
    engine_ = std::make_unique<Engine>(loop_, *executor_, cc_, campaign_, config, EngineOptions{});
    engine_->start([this](absl::Status s, CampaignState state) {
      finished_status_ = s;
      finished_state_ = state;
    });
    settle();
  }

  // Runs everything due now, without moving the clock.
  void settle() { loop_.run_until(loop_.now()); }
  void advance(seconds d) { loop_.run_until(loop_.now() + d); }

  std::vector<AttemptRecord> attempts() {
    std::vector<AttemptRecord> out;
    EXPECT_TRUE(
        store_->for_each_attempt(campaign_.id, [&](const AttemptRecord& r) { out.push_back(r); })
            .ok());
    return out;
  }

  std::filesystem::path dir_;
  std::string path_;
  VirtualLoop loop_;
  std::unique_ptr<SqliteStore> store_;
  Campaign campaign_;
  std::unique_ptr<InlineStoreExecutor> executor_;
  ScriptedContactCenter cc_{loop_};
  CampaignConfig config_;  // what start() runs with (pacing keys, ...)
  std::unique_ptr<Engine> engine_;
  std::optional<absl::Status> finished_status_;
  std::optional<CampaignState> finished_state_;
};

TEST_F(EngineTest, AnAvailableAgentGetsExactlyOneCall) {
  load(5);
  start();
  EXPECT_TRUE(cc_.requests.empty());  // nobody available yet
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  ASSERT_EQ(cc_.requests.size(), 1u);
  EXPECT_EQ(cc_.requests[0].phone, "+12025550000");
  cc_.agent("a2", AgentState::kAvailable);
  settle();
  EXPECT_EQ(cc_.requests.size(), 2u);
  EXPECT_EQ(engine_->stats().dialing, 2);
}

TEST_F(EngineTest, AnUnansweredCallIsFollowedByTheNextAtOnce) {
  load(5);
  start();
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  const MonoTime before = loop_.now();
  cc_.end("contact-1", Outcome::kNoAnswer, "TELECOM_UNANSWERED");
  settle();
  ASSERT_EQ(cc_.requests.size(), 2u);
  EXPECT_EQ(loop_.now(), before);  // no wait at all
  auto rows = attempts();
  EXPECT_EQ(rows[0].outcome, Outcome::kNoAnswer);
  EXPECT_EQ(rows[0].disconnect_reason, "TELECOM_UNANSWERED");
  EXPECT_EQ(rows[0].contact_id, "contact-1");
}

TEST_F(EngineTest, ABusyAgentGetsNoCallUntilAvailableAgain) {
  load(5);
  start();
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  cc_.connect("contact-1", "a1");
  settle();
  advance(seconds(120));
  EXPECT_EQ(cc_.requests.size(), 1u);
  cc_.end("contact-1", Outcome::kConnected, "CUSTOMER_DISCONNECT");
  cc_.agent("a1", AgentState::kAfterCallWork);
  settle();
  advance(seconds(30));
  EXPECT_EQ(cc_.requests.size(), 1u);
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  EXPECT_EQ(cc_.requests.size(), 2u);
  auto rows = attempts();
  EXPECT_EQ(rows[0].outcome, Outcome::kConnected);
  EXPECT_EQ(rows[0].agent_id, "a1");
  EXPECT_TRUE(rows[0].answered_at.has_value());
}

TEST_F(EngineTest, ConnectedEventBeforeTheAgentEventStillHoldsTheAgent) {
  load(5);
  start();
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  // The call event arrives first; the agent's own "busy" comes later.
  cc_.emit(
      {.kind = ContactEvent::Kind::kCallConnected, .agent_id = "a1", .contact_id = "contact-1"});
  settle();
  EXPECT_EQ(cc_.requests.size(), 1u);
}

TEST_F(EngineTest, RepeatedEventsAreHarmless) {
  load(3);
  start();
  cc_.agent("a1", AgentState::kAvailable);
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  EXPECT_EQ(cc_.requests.size(), 1u);
  cc_.end("contact-1", Outcome::kBusy);
  cc_.end("contact-1", Outcome::kBusy);
  settle();
  EXPECT_EQ(cc_.requests.size(), 2u);
  EXPECT_EQ(attempts().size(), 2u);
}

TEST_F(EngineTest, ASecondPhoneIsTriedWhenTheFirstDoesNotReachTheCustomer) {
  load(1, 2);
  start();
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  cc_.end("contact-1", Outcome::kNoAnswer);
  settle();
  ASSERT_EQ(cc_.requests.size(), 2u);
  EXPECT_EQ(cc_.requests[1].phone, "+12025550001");
  EXPECT_EQ(cc_.requests[1].cust_id, "C0");
}

TEST_F(EngineTest, RetriesWaitForTheirDelay) {
  load(1);
  start(RetryRules{2, seconds(60)});
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  cc_.end("contact-1", Outcome::kBusy);
  settle();
  EXPECT_EQ(cc_.requests.size(), 1u);
  advance(seconds(59));
  EXPECT_EQ(cc_.requests.size(), 1u);
  advance(seconds(1));
  ASSERT_EQ(cc_.requests.size(), 2u);
  EXPECT_EQ(cc_.requests[1].phone, "+12025550000");
  EXPECT_NE(cc_.requests[1].client_token, cc_.requests[0].client_token);
  cc_.end("contact-2", Outcome::kBusy);
  settle();
  EXPECT_EQ(finished_state_, CampaignState::kDone);
  // The agent sat idle for the minute, but no customer was callable then.
  EXPECT_DOUBLE_EQ(engine_->stats().dialer_idle_seconds, 0.0);
}

TEST_F(EngineTest, AThrottledCallIsRetriedWithTheSameClientToken) {
  load(2);
  cc_.throttle_next = 2;
  start();
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  advance(seconds(5));
  ASSERT_EQ(cc_.requests.size(), 3u);
  EXPECT_EQ(cc_.requests[0].client_token, cc_.requests[2].client_token);
  EXPECT_EQ(cc_.placed, 1);
  EXPECT_EQ(engine_->stats().throttled, 2);
  EXPECT_EQ(attempts().size(), 1u);
}

TEST_F(EngineTest, StopLetsCallsInFlightFinishAndDialsNothingNew) {
  load(5);
  start();
  cc_.agent("a1", AgentState::kAvailable);
  cc_.agent("a2", AgentState::kAvailable);
  settle();
  cc_.connect("contact-1", "a1");
  settle();
  engine_->request_stop();
  settle();
  EXPECT_FALSE(finished_state_.has_value());  // two calls still in flight
  cc_.end("contact-2", Outcome::kNoAnswer);
  cc_.end("contact-1", Outcome::kConnected);
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  EXPECT_EQ(cc_.requests.size(), 2u);
  ASSERT_TRUE(finished_state_.has_value());
  EXPECT_EQ(*finished_state_, CampaignState::kStopped);
  auto st = store_->status(campaign_.id);
  EXPECT_EQ(st->campaign.state, CampaignState::kStopped);
  EXPECT_EQ(st->customers_by_state[CustomerState::kPending], 3);
  EXPECT_EQ(st->attempts_in_flight, 0);
}

TEST_F(EngineTest, ADialerWhoseCampaignWasStoppedElsewhereDialsNoMore) {
  const EngineOptions options = start_leased_with_one_call();
  ASSERT_EQ(cc_.requests.size(), 1u);
  // Paused past its lease, this dialer was taken for dead: a load elsewhere
  // stopped the campaign and dropped the lease.
  // (The test shares the engine's connection, which is fenced: the fence
  // is set aside for what "elsewhere" does.)
  store_->unfence();
  ASSERT_TRUE(store_->release_lease(campaign_.id, options.owner).ok());
  ASSERT_TRUE(store_->transition(campaign_.id, {}, CampaignState::kStopped).ok());
  advance(seconds(2));
  cc_.agent("a2", AgentState::kAvailable);
  settle();
  EXPECT_EQ(cc_.requests.size(), 1u);
  auto lease = store_->lease(campaign_.id);
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(lease->has_value());  // not taken back
}

TEST_F(EngineTest, ADialerWhoseLeaseWasTakenOverWritesNothingMore) {
  const EngineOptions options = start_leased_with_one_call();
  ASSERT_EQ(cc_.requests.size(), 1u);
  // Paused past its lease, this dialer was taken over by another node,
  // which is dialing the campaign on: this one's writes are refused.
  // (The test shares the engine's connection: it plays node B unfenced,
  // then puts the engine's fence back as it was.)
  auto mine = store_->lease(campaign_.id);
  ASSERT_TRUE(mine.ok() && mine->has_value());
  store_->unfence();
  ASSERT_TRUE(store_->break_lease(campaign_.id).ok());
  const WallTime now = loop_.wall_now();
  auto theirs = store_->acquire_lease(campaign_.id, "node-b", now, now + seconds(60));
  ASSERT_TRUE(theirs.ok() && theirs->has_value());
  EXPECT_GT(**theirs, (*mine)->token);
  store_->fence(campaign_.id, options.owner, (*mine)->token);
  cc_.agent("a2", AgentState::kAvailable);
  settle();
  EXPECT_EQ(cc_.requests.size(), 1u);  // the claim was refused
  EXPECT_EQ(store_->status(campaign_.id)->attempts, 1);
  EXPECT_EQ((*store_->lease(campaign_.id))->owner, "node-b");
  // ... and the engine let go of the campaign at once, saying why.
  ASSERT_TRUE(finished_status_.has_value());
  EXPECT_TRUE(absl::IsAborted(*finished_status_)) << *finished_status_;
}

TEST_F(EngineTest, ADialerThatFindsItsLeaseTakenLetsGoOfItsCallsAtOnce) {
  const EngineOptions options = start_leased_with_one_call();
  ASSERT_EQ(cc_.requests.size(), 1u);
  auto mine = store_->lease(campaign_.id);
  ASSERT_TRUE(mine.ok() && mine->has_value());
  // Another node took the campaign (and this call) over while this one
  // was paused; its heartbeat finds out before any write does.
  store_->unfence();
  const WallTime now = loop_.wall_now();
  ASSERT_TRUE(store_->break_lease(campaign_.id).ok());
  ASSERT_TRUE(store_->acquire_lease(campaign_.id, "node-b", now, now + seconds(60))->has_value());
  store_->fence(campaign_.id, options.owner, (*mine)->token);
  advance(seconds(2));
  // Finished with the call still ringing: it is node-b's now.
  ASSERT_TRUE(finished_status_.has_value());
  EXPECT_TRUE(absl::IsAborted(*finished_status_)) << *finished_status_;
  EXPECT_NE(std::string(finished_status_->message()).find("lost campaign"), std::string::npos);
  EXPECT_EQ(store_->status(campaign_.id)->campaign.state, CampaignState::kRunning);
  EXPECT_EQ(store_->status(campaign_.id)->attempts_in_flight, 1);
  EXPECT_EQ((*store_->lease(campaign_.id))->owner, "node-b");
  cc_.end("contact-1", Outcome::kNoAnswer);  // too late for this engine
  settle();
  EXPECT_EQ(store_->status(campaign_.id)->attempts_in_flight, 1);
}

TEST_F(EngineTest, AHandOverFinishesTheCallsInFlightAndLeavesTheCampaignRunning) {
  start_leased_with_one_call();
  ASSERT_EQ(cc_.requests.size(), 1u);
  engine_->request_handover();
  cc_.agent("a2", AgentState::kAvailable);
  settle();
  EXPECT_EQ(cc_.requests.size(), 1u);  // nothing new
  EXPECT_FALSE(finished_state_.has_value());
  cc_.end("contact-1", Outcome::kNoAnswer);
  settle();
  ASSERT_TRUE(finished_state_.has_value());
  EXPECT_TRUE(finished_status_->ok()) << *finished_status_;
  EXPECT_EQ(*finished_state_, CampaignState::kRunning);
  auto st = store_->status(campaign_.id);
  EXPECT_EQ(st->campaign.state, CampaignState::kRunning);
  EXPECT_EQ(st->attempts_in_flight, 0);
  EXPECT_EQ(st->attempts, 1);
  // The lease is given up: another node takes the campaign at once.
  EXPECT_FALSE(store_->lease(campaign_.id)->has_value());
}

TEST_F(EngineTest, AStopDuringAHandOverStopsTheCampaign) {
  start_leased_with_one_call();
  engine_->request_handover();
  engine_->request_stop();
  cc_.end("contact-1", Outcome::kNoAnswer);
  settle();
  ASSERT_TRUE(finished_state_.has_value());
  EXPECT_EQ(*finished_state_, CampaignState::kStopped);
  EXPECT_EQ(store_->status(campaign_.id)->campaign.state, CampaignState::kStopped);
}

TEST_F(EngineTest, ATakeoverOfAStoppingCampaignResolvesItsCallsAndStops) {
  load(3);
  auto orphan = store_->claim(campaign_.id, 1, loop_.wall_now(), "dead-node");
  ASSERT_EQ(orphan->size(), 1u);
  ASSERT_TRUE(store_->transition(campaign_.id, {}, CampaignState::kStopping).ok());
  EngineOptions options;
  options.takeover = true;
  options.heartbeat = std::chrono::seconds(1);
  options.lease_clock = [this] { return loop_.wall_now(); };
  engine_ = std::make_unique<Engine>(loop_, *executor_, cc_, campaign_, CampaignConfig{}, options);
  engine_->start([this](absl::Status s, CampaignState state) {
    finished_status_ = s;
    finished_state_ = state;
  });
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  EXPECT_TRUE(cc_.requests.empty());  // a stop was asked: nothing new
  ASSERT_TRUE(finished_state_.has_value());
  EXPECT_EQ(*finished_state_, CampaignState::kStopped);
  EXPECT_EQ(engine_->stats().recovered, 1);
  EXPECT_EQ(attempts()[0].outcome, Outcome::kInterrupted);
}

TEST_F(EngineTest, ATakeoverOfACampaignThatIsNoLongerRunningIsRefused) {
  load(3);
  ASSERT_TRUE(store_->transition(campaign_.id, {}, CampaignState::kStopped).ok());
  EngineOptions options;
  options.takeover = true;
  options.heartbeat = std::chrono::seconds(1);
  options.lease_clock = [this] { return loop_.wall_now(); };
  engine_ = std::make_unique<Engine>(loop_, *executor_, cc_, campaign_, CampaignConfig{}, options);
  engine_->start([this](absl::Status s, CampaignState state) {
    finished_status_ = s;
    finished_state_ = state;
  });
  settle();
  ASSERT_TRUE(finished_status_.has_value());
  EXPECT_TRUE(absl::IsFailedPrecondition(*finished_status_)) << *finished_status_;
  EXPECT_EQ(store_->status(campaign_.id)->campaign.state, CampaignState::kStopped);
  store_->unfence();
  EXPECT_FALSE(store_->lease(campaign_.id)->has_value());
}

TEST_F(EngineTest, StopReleasesACallThatWasNeverPlaced) {
  load(2);
  cc_.throttle_next = 100;
  start();
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  engine_->request_stop();
  settle();
  EXPECT_EQ(finished_state_, CampaignState::kStopped);
  EXPECT_TRUE(attempts().empty());
  EXPECT_EQ(store_->status(campaign_.id)->customers_by_state[CustomerState::kPending], 2);
}

TEST_F(EngineTest, StopNeverHandsBackACallThatMayHaveBeenPlaced) {
  load(2);
  cc_.unanswered_next = 1;  // placed, but the answer was lost
  start();
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  engine_->request_stop();
  settle();
  EXPECT_FALSE(finished_state_.has_value());  // the retry must learn the contact id
  advance(seconds(5));
  ASSERT_EQ(cc_.requests.size(), 2u);
  EXPECT_EQ(cc_.requests[0].client_token, cc_.requests[1].client_token);
  EXPECT_EQ(cc_.placed, 1);
  cc_.end("contact-1", Outcome::kNoAnswer);
  settle();
  EXPECT_EQ(finished_state_, CampaignState::kStopped);
  auto rows = attempts();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].contact_id, "contact-1");
  EXPECT_EQ(rows[0].outcome, Outcome::kNoAnswer);
}

TEST_F(EngineTest, AContactCentreThatRefusesEveryCallStopsTheCampaignWithoutBurningTheList) {
  load(3);
  cc_.refuse_all = absl::PermissionDeniedError(
      "StartOutboundVoiceContact: AccessDeniedException: not authorized");
  start();
  cc_.agent("a1", AgentState::kAvailable);
  cc_.agent("a2", AgentState::kAvailable);
  settle();
  ASSERT_TRUE(finished_status_.has_value());
  EXPECT_EQ(finished_status_->code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(std::string(finished_status_->message()).find("AccessDeniedException"),
            std::string::npos);
  EXPECT_EQ(finished_state_, CampaignState::kStopped);
  EXPECT_TRUE(attempts().empty());
  EXPECT_EQ(store_->status(campaign_.id)->customers_by_state[CustomerState::kPending], 3);
}

TEST_F(EngineTest, ARestartTakesOverTheDeadRunsCallsTheContactCentreKnows) {
  load(4);
  auto orphans =
      store_->claim(campaign_.id, 3, loop_.wall_now() - std::chrono::hours(1), "dead-run");
  ASSERT_EQ(orphans->size(), 3u);
  // C0's call ended while no dialer was watching; C1's is still ringing;
  // C2's request, an hour old, never got a contact id (it may or may not
  // have been placed, and is too old to re-send).
  ASSERT_TRUE(store_->set_contact_id((*orphans)[0].attempt_id, "old-1").ok());
  ASSERT_TRUE(store_->set_contact_id((*orphans)[1].attempt_id, "old-2").ok());
  ContactEvent connected, ended;
  connected.kind = ContactEvent::Kind::kCallConnected;
  connected.contact_id = "old-1";
  connected.agent_id = "a9";
  ended.kind = ContactEvent::Kind::kCallEnded;
  ended.contact_id = "old-1";
  ended.outcome = Outcome::kConnected;
  ended.disconnect_reason = "CUSTOMER_DISCONNECT";
  cc_.past_calls["old-1"] = {connected, ended};
  cc_.past_calls["old-2"] = {};
  cc_.describable = true;
  start();
  EXPECT_EQ(engine_->stats().recovered, 3);
  EXPECT_EQ(cc_.described.size(), 2u);
  EXPECT_EQ(engine_->stats().dialing, 1);  // old-2 still rings
  cc_.end("old-2", Outcome::kBusy, "TELECOM_BUSY");
  settle();
  std::map<std::string, AttemptRecord> by_cust;
  for (const AttemptRecord& r : attempts()) by_cust[r.cust_id] = r;
  EXPECT_EQ(by_cust["C0"].outcome, Outcome::kConnected);
  EXPECT_EQ(by_cust["C0"].agent_id, "a9");
  EXPECT_EQ(by_cust["C1"].outcome, Outcome::kBusy);
  EXPECT_EQ(by_cust["C2"].outcome, Outcome::kInterrupted);
  EXPECT_TRUE(cc_.requests.empty());  // nothing redialled
}

TEST_F(EngineTest, ARestartResolvesTheDeadRunsCallsWithoutRedialling) {
  load(3);
  auto orphan = store_->claim(campaign_.id, 1, loop_.wall_now(), "dead-run");
  ASSERT_EQ(orphan->size(), 1u);
  start();
  EXPECT_EQ(engine_->stats().recovered, 1);
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  ASSERT_EQ(cc_.requests.size(), 1u);
  EXPECT_EQ(cc_.requests[0].cust_id, "C1");  // not C0 again
  auto rows = attempts();
  EXPECT_EQ(rows[0].outcome, Outcome::kInterrupted);
}

TEST_F(EngineTest, ARestartLearnsAMissingContactIdThroughTheClientToken) {
  load(3);
  auto orphans = store_->claim(campaign_.id, 2, loop_.wall_now(), "dead-run");
  ASSERT_EQ(orphans->size(), 2u);
  // Neither contact id reached the store. C0's request reached the contact
  // centre (it knows the token), and an agent took the call; C1's never
  // left the dead dialer.
  const std::string c0_token = (*orphans)[0].client_token;
  cc_.by_token[c0_token] = "old-7";
  ContactEvent connected, ended;
  connected.kind = ContactEvent::Kind::kCallConnected;
  connected.contact_id = "old-7";
  connected.agent_id = "a9";
  ended.kind = ContactEvent::Kind::kCallEnded;
  ended.contact_id = "old-7";
  ended.outcome = Outcome::kConnected;
  ended.disconnect_reason = "AGENT_DISCONNECT";
  cc_.past_calls["old-7"] = {connected, ended};
  cc_.past_calls["contact-1"] = {};  // C1's, placed now: in progress
  cc_.describable = true;
  start();
  settle();
  // Both re-sent with their own tokens: C0's answered with its old contact
  // (no new call), C1's placed now, once.
  ASSERT_EQ(cc_.requests.size(), 2u);
  EXPECT_EQ(cc_.requests[0].client_token, c0_token);
  EXPECT_EQ(cc_.requests[1].client_token, (*orphans)[1].client_token);
  EXPECT_EQ(cc_.placed, 1);
  EXPECT_EQ(engine_->stats().dials, 0);
  EXPECT_EQ(engine_->stats().recovered, 2);
  EXPECT_EQ(cc_.described, (std::vector<std::string>{"old-7", "contact-1"}));
  cc_.end("contact-1", Outcome::kBusy, "TELECOM_BUSY");
  settle();
  std::map<std::string, AttemptRecord> by_cust;
  for (const AttemptRecord& r : attempts()) by_cust[r.cust_id] = r;
  EXPECT_EQ(by_cust["C0"].contact_id, "old-7");
  EXPECT_EQ(by_cust["C0"].outcome, Outcome::kConnected);
  EXPECT_EQ(by_cust["C0"].agent_id, "a9");
  EXPECT_EQ(by_cust["C1"].contact_id, "contact-1");
  EXPECT_EQ(by_cust["C1"].outcome, Outcome::kBusy);
  EXPECT_EQ(attempts().size(), 2u);  // nobody dialled twice
}

TEST_F(EngineTest, ACustomerWhoReachedAnAgentCountsAsReachedAfterACrash) {
  load(2);
  auto orphan = store_->claim(campaign_.id, 1, loop_.wall_now(), "dead-run");
  ASSERT_EQ(orphan->size(), 1u);
  const AttemptId id = (*orphan)[0].attempt_id;
  ASSERT_TRUE(store_->set_contact_id(id, "sim-dead-000001").ok());
  ASSERT_TRUE(store_->mark_connected(id, loop_.wall_now(), "a9").ok());
  // The simulator cannot say what became of the call: it died with the run.
  start();
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  ASSERT_EQ(cc_.requests.size(), 1u);
  EXPECT_EQ(cc_.requests[0].cust_id, "C1");  // not C0 again
  auto rows = attempts();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].outcome, Outcome::kConnected);
  EXPECT_EQ(rows[0].disconnect_reason, disconnect_reason::kDialerRestarted);
  EXPECT_EQ(rows[0].agent_id, "a9");
  EXPECT_TRUE(rows[0].answered_at.has_value());
  EXPECT_EQ(store_->status(campaign_.id)->customers_by_state[CustomerState::kReached], 1);
}

TEST_F(EngineTest, AnAnsweredCallTheContactCentreCannotDescribeEndsReached) {
  load(2);
  auto orphan = store_->claim(campaign_.id, 1, loop_.wall_now(), "dead-run");
  const AttemptId id = (*orphan)[0].attempt_id;
  ASSERT_TRUE(store_->set_contact_id(id, "old-1").ok());
  ASSERT_TRUE(store_->mark_connected(id, loop_.wall_now(), "a9").ok());
  cc_.describable = true;  // but it does not know old-1 any more
  start();
  settle();
  auto rows = attempts();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].outcome, Outcome::kConnected);
  EXPECT_EQ(rows[0].agent_id, "a9");
  EXPECT_EQ(store_->status(campaign_.id)->customers_by_state[CustomerState::kReached], 1);
}

TEST_F(EngineTest, AContactIdTheStoreCannotRecordStopsTheCampaign) {
  // Another campaign's attempt already holds the id the contact centre will
  // give our first call (as the simulator's restarting ids once did).
  auto other = store_->init_campaign("other");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(store_->set_config(other->id, "calling-hours", "00:00-24:00").ok());
  {
    auto w = store_->begin_list(other->id, LoadMode::kReplace);
    ASSERT_TRUE((*w)->add("X", "+12025559999", "{}", 2).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }
  auto taken = store_->claim(other->id, 1, loop_.wall_now(), "elsewhere");
  ASSERT_TRUE(store_->set_contact_id((*taken)[0].attempt_id, "contact-1").ok());
  load(5);
  start();
  cc_.agent("a1", AgentState::kAvailable);
  cc_.agent("a2", AgentState::kAvailable);
  settle();
  // A second call may have been placed before the store answered.
  const size_t placed = cc_.requests.size();
  ASSERT_GE(placed, 1u);
  ASSERT_LE(placed, 2u);
  EXPECT_FALSE(finished_state_.has_value());  // calls in flight finish first
  for (const std::string& contact : cc_.contacts) cc_.end(contact, Outcome::kNoAnswer);
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  EXPECT_EQ(cc_.requests.size(), placed);  // nothing more
  ASSERT_TRUE(finished_status_.has_value());
  EXPECT_FALSE(finished_status_->ok());
  EXPECT_NE(std::string(finished_status_->message()).find("cannot record contact id contact-1"),
            std::string::npos)
      << *finished_status_;
  EXPECT_EQ(finished_state_, CampaignState::kStopped);
}

TEST_F(EngineTest, TimesNeverGoBackwardsForOneAttempt) {
  load(2);
  // A dead run's clock ran an hour ahead of ours (--speed).
  const WallTime ahead = loop_.wall_now() + std::chrono::hours(1);
  auto orphans = store_->claim(campaign_.id, 2, ahead, "dead-run");
  ASSERT_TRUE(store_->set_contact_id((*orphans)[0].attempt_id, "old-1").ok());
  ASSERT_TRUE(store_->mark_connected((*orphans)[0].attempt_id, ahead + seconds(5), "a9").ok());
  // An answer stamped before the start is recorded at the start.
  ASSERT_TRUE(store_->mark_connected((*orphans)[1].attempt_id, ahead - seconds(5), "a8").ok());
  start();
  settle();
  for (const AttemptRecord& r : attempts()) {
    ASSERT_TRUE(r.answered_at && r.ended_at) << r.cust_id;
    EXPECT_LE(r.started_at, *r.answered_at) << r.cust_id;
    EXPECT_LE(*r.answered_at, *r.ended_at) << r.cust_id;
  }
  // The next run's simulated clock starts after everything recorded.
  auto start_at = simulated_clock_start(*store_);
  ASSERT_TRUE(start_at.ok());
  EXPECT_GT(*start_at, ahead + seconds(5));
  RealTimeLoop resumed(10, system_clock(), *start_at);
  EXPECT_GE(resumed.wall_now(), *start_at);
}

TEST_F(EngineTest, TheEndOfTheListMakesTheCampaignDoneAndWritesResults) {
  load(2);
  const std::string out = (dir_ / "results.csv").string();
  start({}, out);
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  cc_.end("contact-1", Outcome::kNoAnswer);
  settle();
  cc_.end("contact-2", Outcome::kInvalidNumber, "TELECOM_NUMBER_INVALID");
  settle();
  ASSERT_EQ(finished_state_, CampaignState::kDone);
  EXPECT_TRUE(finished_status_->ok()) << *finished_status_;
  EXPECT_EQ(store_->status(campaign_.id)->campaign.state, CampaignState::kDone);
  std::ifstream f(out);
  std::string header, row;
  std::getline(f, header);
  int rows = 0;
  while (std::getline(f, row)) ++rows;
  EXPECT_EQ(rows, 2);
}

TEST_F(EngineTest, EventsForUnknownContactsAreIgnored) {
  load(1);
  start();
  cc_.end("someone-elses-call", Outcome::kConnected);
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  EXPECT_EQ(cc_.requests.size(), 1u);
}

}  // namespace
}  // namespace pd

namespace pd {
namespace {

TEST_F(EngineTest, AnAbandonRateOverTheLimitStopsTheCampaignAfterItsCallsEnd) {
  load(10);
  ASSERT_TRUE(store_->set_config(campaign_.id, "max-abandon-rate", "3%").ok());
  start();
  cc_.agent("a1", AgentState::kAvailable);
  cc_.agent("a2", AgentState::kAvailable);
  settle();
  ASSERT_EQ(cc_.requests.size(), 2u);
  cc_.connect("contact-2", "a2");
  settle();
  // One abandoned of two answered (contact-2 counts since it reached its
  // agent): the next claim is refused.
  cc_.end("contact-1", Outcome::kAbandoned, "CUSTOMER_DISCONNECT");
  settle();
  EXPECT_EQ(cc_.requests.size(), 2u);  // nothing more is dialled
  EXPECT_FALSE(finished_status_.has_value());  // contact-2 is still talking
  advance(seconds(60));
  cc_.end("contact-2", Outcome::kConnected, "CUSTOMER_DISCONNECT");
  settle();
  ASSERT_TRUE(finished_status_.has_value());
  EXPECT_TRUE(absl::IsFailedPrecondition(*finished_status_)) << *finished_status_;
  EXPECT_NE(std::string(finished_status_->message())
                .find("paused: 30-day abandon rate 50.0% reached max-abandon-rate 3%"),
            std::string::npos)
      << *finished_status_;
  EXPECT_EQ(finished_state_, CampaignState::kStopped);
  auto rows = attempts();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].outcome, Outcome::kConnected);  // recorded, not interrupted
}

TEST_F(EngineTest, TheWrapUpCodeOfACallReachesItsAttempt) {
  load(2);
  ASSERT_TRUE(store_->set_config(campaign_.id, "dispositions", "CALLBACK=callback:1h").ok());
  auto stored = store_->config(campaign_.id);
  ASSERT_TRUE(stored.ok());
  auto config = CampaignConfig::from(*stored);
  ASSERT_TRUE(config.ok()) << config.status();
  start(config->retry);
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  cc_.connect("contact-1", "a1");
  settle();
  ContactEvent e;
  e.kind = ContactEvent::Kind::kCallEnded;
  e.contact_id = "contact-1";
  e.agent_id = "a1";
  e.outcome = Outcome::kConnected;
  e.disposition = "CALLBACK";
  cc_.emit(e);
  settle();
  auto rows = attempts();
  ASSERT_GE(rows.size(), 1u);
  EXPECT_EQ(rows[0].disposition, "CALLBACK");
  auto st = store_->status(campaign_.id);
  ASSERT_TRUE(st.ok());
  // Called back in an hour, not reached for good.
  EXPECT_EQ(st->customers_by_state[CustomerState::kReached], 0);
}

// --- pacing ----------------------------------------------------------------------

TEST_F(EngineTest, ProgressivePlacesLinesPerAgentCallsForTheFreeAgents) {
  load(20);
  config_.pacing = "progressive";
  config_.lines_per_agent = 2.0;
  start();
  cc_.agent("a1", AgentState::kAvailable);
  cc_.agent("a2", AgentState::kAvailable);
  settle();
  EXPECT_EQ(cc_.requests.size(), 4u);
  EXPECT_EQ(engine_->stats().dialing, 4);
  const PacerStatus st = engine_->pacing();
  EXPECT_EQ(st.mode, PacingMode::kProgressive);
  EXPECT_DOUBLE_EQ(st.lines_per_agent, 2.0);
  // One answered: a1 talks, and the three still ringing are one more than
  // a2's two lines, so one ending unanswered is not replaced; the next is.
  cc_.connect("contact-1", "a1");
  settle();
  EXPECT_EQ(cc_.requests.size(), 4u);
  cc_.end("contact-2", Outcome::kNoAnswer);
  settle();
  EXPECT_EQ(cc_.requests.size(), 4u);
  cc_.end("contact-3", Outcome::kNoAnswer);
  settle();
  EXPECT_EQ(cc_.requests.size(), 5u);
  EXPECT_EQ(engine_->stats().dialing, 2);
}

TEST_F(EngineTest, AnUnusablePacingConfigurationFailsTheStart) {
  load(2);
  config_.pacing = "progressive";
  config_.lines_per_agent = 4;
  config_.max_lines_per_agent = 3;
  start();
  ASSERT_TRUE(finished_status_.has_value());
  EXPECT_TRUE(absl::IsInvalidArgument(*finished_status_)) << *finished_status_;
  EXPECT_TRUE(cc_.requests.empty());
}

TEST_F(EngineTest, TheReviewTimeRePumpsWithoutAnEvent) {
  load(50);
  config_.pacing = "vicidial-adapt";
  start();
  for (int i = 0; i < 4; ++i) cc_.agent(cat("a", i), AgentState::kAvailable);
  settle();
  ASSERT_EQ(cc_.requests.size(), 4u);  // dial level 1.0: power mode
  // Nothing happens; 15 s later the level is raised (the agents were all
  // waiting) and more calls go out at that moment.
  advance(seconds(14));
  EXPECT_EQ(cc_.requests.size(), 4u);
  advance(seconds(1));
  EXPECT_EQ(cc_.requests.size(), 8u);  // dial level 2.0
  EXPECT_DOUBLE_EQ(engine_->pacing().lines_per_agent, 2.0);
}

TEST_F(EngineTest, TheLedgerReachesThePacerEvenWhenNothingIsClaimed) {
  load(5);
  config_.pacing = "progressive";
  start();
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  ASSERT_EQ(cc_.requests.size(), 1u);
  cc_.connect("contact-1", "a1");
  settle();
  EXPECT_EQ(engine_->pacing().abandon_rate_today, 0.0);
  // Another process's call is abandoned meanwhile (the ledger is shared).
  auto claims = store_->claim(campaign_.id, 1, loop_.wall_now(), "other");
  ASSERT_TRUE(claims.ok() && claims->size() == 1u) << claims.status();
  ASSERT_TRUE(store_
                  ->finish((*claims)[0].attempt_id,
                           {Outcome::kAbandoned, loop_.wall_now(), "CUSTOMER_DISCONNECT", ""},
                           RetryRules{})
                  .ok());
  // The only agent talks, so nothing is claimed; the minute's refresh still
  // reads the ledger (at the next event after it).
  advance(seconds(61));
  cc_.agent("a1", AgentState::kBusy);
  settle();
  EXPECT_EQ(cc_.requests.size(), 1u);
  // 1 abandoned of 2 answered: the call on the line counts as answered since
  // it reached its agent (as the store counts it).
  EXPECT_DOUBLE_EQ(engine_->pacing().abandon_rate_today, 0.5);
  // Its end adds no second answer.
  cc_.end("contact-1", Outcome::kConnected);
  settle();
  EXPECT_DOUBLE_EQ(engine_->pacing().abandon_rate_today, 0.5);
}

TEST_F(EngineTest, AThrottleReachesThePacer) {
  load(10);
  config_.pacing = "progressive";
  config_.lines_per_agent = 2.0;
  start();
  cc_.throttle_next = 1;
  cc_.agent("a1", AgentState::kAvailable);
  settle();
  EXPECT_EQ(engine_->pacing().throttled, 1);
  EXPECT_NE(engine_->pacing().note.find("backing off"), std::string::npos);
}

// The whole loop on the simulator: progressive dials ahead of the free
// agents, never above max-lines-per-agent calls per logged-in agent.
TEST_F(EngineTest, ProgressiveOnTheSimulatorStaysUnderTheLineCap) {
  load(3000);
  // Over-dialling abandons calls; this test is about the line cap, not the
  // abandon cap (which the store's claim applies, and which would stop the
  // campaign part-way). Pinned: client tokens seed the simulator.
  ASSERT_TRUE(store_->set_config(campaign_.id, "max-abandon-rate", "100%").ok());
  ASSERT_TRUE(store_->pin_instance_id("engine-test").ok());
  config_.pacing = "progressive";
  config_.lines_per_agent = 2.5;
  config_.max_lines_per_agent = 2.5;
  config_.max_abandon_rate = 1.0;
  config_.target_abandon_rate = 0.5;
  SimConfig sc;
  sc.agents = 10;
  sc.answer_rate = 0.2;
  sc.talk_mean = seconds(60);
  sc.acw_mean = seconds(10);
  sc.shift = std::chrono::minutes(30);
  Simulator sim(loop_, sc);
  CampaignConfig config = config_;
  Engine engine(loop_, *executor_, sim, campaign_, config, EngineOptions{});
  std::optional<absl::Status> done;
  engine.start([&](absl::Status s, CampaignState) { done = s; });
  int max_in_flight = 0;
  int over_free_agents = 0;
  // Until the shift nears its end (agents leaving drop under calls placed
  // for them).
  settle();
  ASSERT_FALSE(done.has_value()) << done->ToString() << " dials " << engine.stats().dials;
  for (int i = 0; i < 25 * 60 && !done; ++i) {
    advance(seconds(1));
    const EngineStats& st = engine.stats();
    const int logged_in = st.agents_available + st.agents_busy + st.agents_after_call_work;
    EXPECT_LE(st.dialing + st.talking, 2.5 * logged_in) << "at second " << i;
    max_in_flight = std::max(max_in_flight, st.dialing + st.talking);
    if (st.dialing > st.agents_available) ++over_free_agents;
  }
  EXPECT_GT(over_free_agents, 0);  // it did dial ahead
  EXPECT_GT(engine.stats().dials, 0);
  EXPECT_LE(max_in_flight, 25);
  EXPECT_GT(engine.stats().line_seconds / engine.stats().agent_seconds, 1.0);
  engine.request_stop();
  advance(seconds(600));
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->ok()) << *done;
}

// The store is a PostgreSQL server that goes away while a call is in
// flight (a restart, a failover): a real server on loopback, of this test's
// own, since the test stops it.
class PgEngineOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = postgres::testing::PgTestServer::start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto url = server_->create_unique_database("engine");
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    auto s = open_store(url_, /*create=*/true);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    campaign_ = *store_->init_campaign("c");
    ASSERT_TRUE(store_->set_config(campaign_.id, "calling-hours", "00:00-24:00").ok());
    auto w = store_->begin_list(campaign_.id, LoadMode::kReplace);
    ASSERT_TRUE(w.ok()) << w.status();
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE((*w)->add(cat("C", i), fmt::format("+1202555{:04d}", i), "{}", 2).ok());
    }
    ASSERT_TRUE((*w)->commit().ok());
    executor_ = std::make_unique<InlineStoreExecutor>(*store_, loop_);
  }

  EngineOptions options(std::string owner, bool takeover) {
    EngineOptions o;
    o.owner = std::move(owner);
    o.takeover = takeover;
    o.heartbeat = std::chrono::seconds(1);
    o.lease_duration = std::chrono::seconds(3);
    o.lease_clock = [this] { return loop_.wall_now(); };
    return o;
  }
  void settle() { loop_.run_until(loop_.now()); }
  void advance(seconds d) { loop_.run_until(loop_.now() + d); }

  std::unique_ptr<postgres::testing::PgTestServer> server_;
  std::string url_;
  VirtualLoop loop_;
  std::unique_ptr<Store> store_;
  Campaign campaign_;
  std::unique_ptr<InlineStoreExecutor> executor_;
};

TEST_F(PgEngineOutageTest, TheEngineLetsGoOfTheCampaignAndATakeoverFinishesIt) {
  ScriptedContactCenter cc(loop_);
  auto engine = std::make_unique<Engine>(loop_, *executor_, cc, campaign_, CampaignConfig{},
                                         options("n1", false));
  std::optional<absl::Status> status;
  std::optional<CampaignState> state;
  engine->start([&](absl::Status s, CampaignState st) {
    status = s;
    state = st;
  });
  settle();
  cc.agent("a1", AgentState::kAvailable);
  settle();
  ASSERT_EQ(cc.requests.size(), 1u);

  // The server goes away (a crash: every connection dropped), and the call
  // ends while it is gone: the end cannot be recorded.
  ASSERT_TRUE(server_->stop(/*immediate=*/true).ok());
  cc.end("contact-1", Outcome::kNoAnswer);
  cc.agent("a1", AgentState::kAvailable);
  advance(seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(absl::IsUnavailable(*status)) << *status;
  // (Whichever failed first: the call's end, or the lease's renewal.)
  const std::string why(status->message());
  EXPECT_TRUE(why.find("cannot record the end of attempt") != std::string::npos ||
              why.find("cannot renew the campaign's lease") != std::string::npos)
      << why;
  EXPECT_NE(std::string(status->message()).find("let go of the campaign"), std::string::npos)
      << *status;
  // Still running: stopped, no node would take it back.
  EXPECT_EQ(*state, CampaignState::kRunning);
  EXPECT_EQ(cc.requests.size(), 1u);  // nothing placed it could not record

  // The server is back. The campaign is as the crash left it: running,
  // the call open.
  ASSERT_TRUE(server_->restart().ok());
  auto reader = open_store(url_, /*create=*/false);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto before = (*reader)->status(campaign_.id);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->campaign.state, CampaignState::kRunning);
  EXPECT_EQ(before->attempts_in_flight, 1);
  engine.reset();

  // Another dialer takes it over once the first one's lease has lapsed,
  // resolves the open call, and dials everyone else.
  advance(seconds(5));
  auto store2 = open_store(url_, /*create=*/false);
  ASSERT_TRUE(store2.ok()) << store2.status();
  InlineStoreExecutor executor2(**store2, loop_);
  ScriptedContactCenter cc2(loop_);
  cc2.placed = 100;  // its contact ids: contact-101, ... (not the first one's)
  Engine taker(loop_, executor2, cc2, campaign_, CampaignConfig{}, options("n2", true));
  std::optional<absl::Status> status2;
  std::optional<CampaignState> state2;
  taker.start([&](absl::Status s, CampaignState st) {
    status2 = s;
    state2 = st;
  });
  settle();
  EXPECT_EQ(taker.stats().recovered, 1);
  std::set<std::string> ended;
  for (int round = 0; round < 100 && !state2; ++round) {
    cc2.agent("a1", AgentState::kAvailable);
    settle();
    for (const std::string& contact : cc2.contacts) {
      if (ended.insert(contact).second) cc2.end(contact, Outcome::kConnected);
    }
    advance(seconds(60));
  }
  ASSERT_TRUE(state2.has_value());
  EXPECT_TRUE(status2->ok()) << *status2;
  EXPECT_EQ(*state2, CampaignState::kDone);
  auto after = (*reader)->status(campaign_.id);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->campaign.state, CampaignState::kDone);
  EXPECT_EQ(after->attempts_in_flight, 0);
  // Nobody lost: C0's call, cut off by the outage, ended interrupted (its
  // one attempt, by the default rules); everyone else was reached.
  EXPECT_EQ(after->customers_by_state[CustomerState::kReached], 4);
  EXPECT_EQ(after->customers_by_state[CustomerState::kExhausted], 1);
  int interrupted = 0;
  ASSERT_TRUE((*reader)
                  ->for_each_attempt(campaign_.id,
                                     [&](const AttemptRecord& r) {
                                       if (r.outcome == Outcome::kInterrupted) {
                                         ++interrupted;
                                         EXPECT_EQ(r.cust_id, "C0");
                                       }
                                     })
                  .ok());
  EXPECT_EQ(interrupted, 1);
}

}  // namespace
}  // namespace pd
