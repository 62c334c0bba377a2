#include "telephony/simulator/simulator.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Kind = ContactEvent::Kind;

// Every event with the loop time it arrived at (ContactEvent::at is wall
// time in milliseconds; the loop's clock has the exact microseconds).
struct Seen {
  Micros t;
  ContactEvent e;
};

class Recorder {
 public:
  explicit Recorder(const Clock& clock) : clock_(clock) {}
  ContactCenter::EventHandler handler() {
    return [this](const ContactEvent& e) { seen.push_back({clock_.now().time_since_epoch(), e}); };
  }
  std::vector<Seen> of_kind(Kind k) const {
    std::vector<Seen> out;
    std::copy_if(seen.begin(), seen.end(), std::back_inserter(out),
                 [k](const Seen& s) { return s.e.kind == k; });
    return out;
  }
  std::vector<Seen> about_contact(const std::string& id) const {
    std::vector<Seen> out;
    std::copy_if(seen.begin(), seen.end(), std::back_inserter(out),
                 [&id](const Seen& s) { return s.e.contact_id == id; });
    return out;
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const Seen& s : seen) {
      out.push_back(fmt::format("{} {} {} {} {} {} {}", s.t.count(), static_cast<int>(s.e.kind),
                                s.e.agent_id, to_string(s.e.agent_state), s.e.contact_id,
                                to_string(s.e.outcome), s.e.disconnect_reason));
    }
    return out;
  }

  std::vector<Seen> seen;

 private:
  const Clock& clock_;
};

// A config whose timings are exact: every answered call rings 5 s, talk
// and after-call work are fixed.
SimConfig exact_config() {
  SimConfig c;
  c.agents = 1;
  c.answer_rate = 1;
  c.busy_rate = 0;
  c.invalid_rate = 0;
  c.ring_min = seconds(5);
  c.ring_max = seconds(5);
  c.talk_mean = seconds(60);
  c.talk_sigma = 0;
  c.acw_mean = seconds(10);
  c.acw_sigma = 0;
  return c;
}

CallRequest request(std::string token) {
  return CallRequest{"+15550100001", std::move(token), "{}", "cust-1"};
}

// Places a call; the result lands in the returned slot when the loop runs.
std::shared_ptr<std::optional<absl::StatusOr<std::string>>> place(Simulator& sim,
                                                                  std::string token) {
  auto result = std::make_shared<std::optional<absl::StatusOr<std::string>>>();
  sim.start_call(request(std::move(token)),
                 [result](absl::StatusOr<std::string> id) { *result = std::move(id); });
  return result;
}

std::optional<int> available_now(Simulator& sim, VirtualLoop& loop) {
  std::optional<int> count;
  sim.available_agents([&count](absl::StatusOr<int> n) { count = n.value(); });
  loop.run_until(loop.now());
  return count;
}

MonoTime at(Micros t) { return MonoTime{} + t; }

TEST(Simulator, AgentsLogInAvailableWhenStarted) {
  VirtualLoop loop;
  SimConfig config;
  config.agents = 3;
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  EXPECT_TRUE(rec.seen.empty()) << "events are delivered by the loop, not inside start()";
  loop.run();

  ASSERT_EQ(rec.seen.size(), 3u);
  const char* ids[] = {"agent-0001", "agent-0002", "agent-0003"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(rec.seen[i].e.kind, Kind::kAgentState);
    EXPECT_EQ(rec.seen[i].e.agent_id, ids[i]);
    EXPECT_EQ(rec.seen[i].e.agent_state, AgentState::kAvailable);
    EXPECT_EQ(rec.seen[i].e.at, loop.wall_now());
  }
  EXPECT_EQ(available_now(sim, loop), 3);
}

TEST(Simulator, AnsweredCallConnectsToAnAgentWhoIsAvailableAgainAfterTalkAndAcw) {
  VirtualLoop loop;
  Simulator sim(loop, exact_config());
  Recorder rec(loop);
  sim.start(rec.handler());
  auto id = place(sim, "attempt-1");
  loop.run_until(at(seconds(6)));
  ASSERT_TRUE(id->has_value() && (*id)->ok());
  EXPECT_EQ((*id)->value(), "sim-000001");
  EXPECT_EQ(available_now(sim, loop), 0);
  loop.run();

  // Login, then the call's life.
  ASSERT_EQ(rec.seen.size(), 6u);
  const auto& busy = rec.seen[1];
  EXPECT_EQ(busy.t, seconds(5));
  EXPECT_EQ(busy.e.kind, Kind::kAgentState);
  EXPECT_EQ(busy.e.agent_state, AgentState::kBusy);
  const auto& connected = rec.seen[2];
  EXPECT_EQ(connected.t, seconds(5));
  EXPECT_EQ(connected.e.kind, Kind::kCallConnected);
  EXPECT_EQ(connected.e.contact_id, "sim-000001");
  EXPECT_EQ(connected.e.agent_id, "agent-0001");
  const auto& ended = rec.seen[3];
  EXPECT_EQ(ended.t, seconds(65));
  EXPECT_EQ(ended.e.kind, Kind::kCallEnded);
  EXPECT_EQ(ended.e.outcome, Outcome::kConnected);
  EXPECT_EQ(ended.e.agent_id, "agent-0001");
  EXPECT_TRUE(ended.e.disconnect_reason == "CUSTOMER_DISCONNECT" ||
              ended.e.disconnect_reason == "AGENT_DISCONNECT")
      << ended.e.disconnect_reason;
  EXPECT_EQ(rec.seen[4].t, seconds(65));
  EXPECT_EQ(rec.seen[4].e.agent_state, AgentState::kAfterCallWork);
  EXPECT_EQ(rec.seen[5].t, seconds(75));
  EXPECT_EQ(rec.seen[5].e.agent_state, AgentState::kAvailable);
  EXPECT_EQ(available_now(sim, loop), 1);

  const SimStats s = sim.stats();
  EXPECT_EQ(s.calls_placed, 1);
  EXPECT_EQ(s.answered, 1);
  EXPECT_EQ(s.connected, 1);
  EXPECT_EQ(s.outcome(Outcome::kConnected), 1);
}

TEST(Simulator, StartCallDeliversSequentialContactIdsThroughTheLoop) {
  VirtualLoop loop;
  Simulator sim(loop, exact_config());
  sim.start([](const ContactEvent&) {});
  auto first = place(sim, "a");
  auto second = place(sim, "b");
  EXPECT_FALSE(first->has_value()) << "never called back from inside start_call";
  loop.run_until(loop.now());
  ASSERT_TRUE(first->has_value() && second->has_value());
  EXPECT_EQ(first->value().value(), "sim-000001");
  EXPECT_EQ(second->value().value(), "sim-000002");
}

TEST(Simulator, OutcomeMixMatchesTheConfiguredRates) {
  VirtualLoop loop;
  SimConfig config;   // the default rates
  config.agents = 0;  // every answered call is abandoned, which counts the answers
  Simulator sim(loop, config);
  sim.start([](const ContactEvent&) {});
  constexpr int kCalls = 20'000;
  for (int i = 0; i < kCalls; ++i) place(sim, fmt::format("camp-1/cust-{}/1", i));
  loop.run();

  const SimStats s = sim.stats();
  EXPECT_EQ(s.calls_placed, kCalls);
  EXPECT_EQ(s.calls_ended, kCalls);
  const auto share = [&](Outcome o) { return static_cast<double>(s.outcome(o)) / kCalls; };
  EXPECT_NEAR(share(Outcome::kAbandoned), config.answer_rate, 0.012);
  EXPECT_NEAR(share(Outcome::kBusy), config.busy_rate, 0.008);
  EXPECT_NEAR(share(Outcome::kInvalidNumber), config.invalid_rate, 0.004);
  EXPECT_NEAR(share(Outcome::kNoAnswer),
              1 - config.answer_rate - config.busy_rate - config.invalid_rate, 0.012);
  EXPECT_EQ(s.answered, s.outcome(Outcome::kAbandoned));
}

TEST(Simulator, AnsweringMachinesEndAsNoAnswerSoonAfterPickingUp) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 0;
  config.machine_rate = 0.5;
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  constexpr int kCalls = 2'000;
  for (int i = 0; i < kCalls; ++i) place(sim, fmt::format("m-{}", i));
  loop.run();

  int machines = 0;
  for (const Seen& s : rec.of_kind(Kind::kCallEnded)) {
    if (s.e.disconnect_reason != "ANSWERING_MACHINE") continue;
    ++machines;
    EXPECT_EQ(s.e.outcome, Outcome::kNoAnswer);
    EXPECT_EQ(s.t, seconds(5 + 3));
  }
  EXPECT_NEAR(machines, kCalls / 2, kCalls * 0.04);
  EXPECT_EQ(sim.stats().machines, machines);
  EXPECT_EQ(sim.stats().answered, kCalls);
}

TEST(Simulator, UnansweredCallEndsAtTheRingTimeout) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.answer_rate = 0;
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  place(sim, "x");
  loop.run();

  const auto ended = rec.of_kind(Kind::kCallEnded);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].t, seconds(25));
  EXPECT_EQ(ended[0].e.outcome, Outcome::kNoAnswer);
  EXPECT_EQ(ended[0].e.disconnect_reason, "TELECOM_UNANSWERED");
  EXPECT_EQ(ended[0].e.agent_id, "");
}

TEST(Simulator, BusyLinesAndInvalidNumbersEndQuicklyWithTelecomReasons) {
  struct Case {
    double busy, invalid;
    Outcome outcome;
    const char* reason;
    Micros after;
  };
  for (const Case& c :
       {Case{1, 0, Outcome::kBusy, "TELECOM_BUSY", seconds(3)},
        Case{0, 1, Outcome::kInvalidNumber, "TELECOM_NUMBER_INVALID", seconds(1)}}) {
    VirtualLoop loop;
    SimConfig config = exact_config();
    config.answer_rate = 0;
    config.busy_rate = c.busy;
    config.invalid_rate = c.invalid;
    Simulator sim(loop, config);
    Recorder rec(loop);
    sim.start(rec.handler());
    place(sim, "x");
    loop.run();
    const auto ended = rec.of_kind(Kind::kCallEnded);
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].t, c.after);
    EXPECT_EQ(ended[0].e.outcome, c.outcome);
    EXPECT_EQ(ended[0].e.disconnect_reason, c.reason);
  }
}

TEST(Simulator, AnsweredCallWithNoAvailableAgentIsAbandonedAfterTwoSeconds) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 0;
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  place(sim, "x");
  loop.run();

  ASSERT_EQ(rec.seen.size(), 1u);
  EXPECT_EQ(rec.seen[0].t, seconds(5 + 2));
  EXPECT_EQ(rec.seen[0].e.kind, Kind::kCallEnded);
  EXPECT_EQ(rec.seen[0].e.outcome, Outcome::kAbandoned);
  EXPECT_EQ(rec.seen[0].e.disconnect_reason, "CUSTOMER_DISCONNECT");
  EXPECT_EQ(rec.seen[0].e.agent_id, "");
  EXPECT_EQ(sim.stats().abandoned, 1);
  EXPECT_EQ(sim.stats().answered, 1);
}

TEST(Simulator, WaitingCallGoesToTheFirstAgentWhoBecomesAvailable) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.patience = seconds(120);
  config.talk_mean = seconds(10);
  config.acw_mean = seconds(0);
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  place(sim, "first");
  place(sim, "second");
  loop.run();

  const auto connected = rec.of_kind(Kind::kCallConnected);
  ASSERT_EQ(connected.size(), 2u);
  EXPECT_EQ(connected[0].e.contact_id, "sim-000001");
  EXPECT_EQ(connected[0].t, seconds(5));
  EXPECT_EQ(connected[1].e.contact_id, "sim-000002");
  EXPECT_EQ(connected[1].t, seconds(15));
  EXPECT_EQ(sim.stats().abandoned, 0);
}

TEST(Simulator, LongestIdleAgentTakesTheNextCall) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 2;
  config.talk_mean = seconds(10);
  config.acw_mean = seconds(0);
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  place(sim, "a");  // agent-0001 talks 5..15 s
  loop.run_until(at(seconds(20)));
  place(sim, "b");  // agent-0002 has been idle longest (since 0 s)
  loop.run_until(at(seconds(40)));
  place(sim, "c");  // agent-0001 idle since 15 s, agent-0002 since 35 s
  loop.run();

  const auto connected = rec.of_kind(Kind::kCallConnected);
  ASSERT_EQ(connected.size(), 3u);
  EXPECT_EQ(connected[0].e.agent_id, "agent-0001");
  EXPECT_EQ(connected[1].e.agent_id, "agent-0002");
  EXPECT_EQ(connected[2].e.agent_id, "agent-0001");
}

// A campaign-like run: 200 calls, one every 3 s, to 20 agents.
std::vector<std::string> run_scenario(uint64_t seed) {
  VirtualLoop loop;
  SimConfig config;
  config.seed = seed;
  config.agents = 20;
  config.machine_rate = 0.1;
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  for (int i = 0; i < 200; ++i) {
    loop.schedule_at(at(seconds(3 * i)), [&sim, i] { place(sim, fmt::format("t-{}", i)); });
  }
  loop.run();
  return rec.lines();
}

TEST(Simulator, SameSeedGivesTheSameEventSequence) {
  const auto a = run_scenario(7);
  EXPECT_GT(a.size(), 400u) << "enough happened to compare";
  EXPECT_EQ(a, run_scenario(7));
}

TEST(Simulator, DifferentSeedGivesADifferentEventSequence) {
  EXPECT_NE(run_scenario(7), run_scenario(8));
}

TEST(Simulator, CallFateDependsOnTheClientTokenNotOnTheOrderOfRequests) {
  const auto fates = [](bool reversed) {
    VirtualLoop loop;
    SimConfig config;
    config.agents = 0;
    Simulator sim(loop, config);
    Recorder rec(loop);
    sim.start(rec.handler());
    std::map<std::string, std::string> token_of;  // contact id -> token
    for (int n = 0; n < 100; ++n) {
      const std::string token = fmt::format("tok-{}", reversed ? 99 - n : n);
      sim.start_call(request(token), [&token_of, token](absl::StatusOr<std::string> id) {
        token_of[id.value()] = token;
      });
    }
    loop.run();
    std::map<std::string, std::string> fate;  // token -> what happened
    for (const Seen& s : rec.of_kind(Kind::kCallEnded)) {
      fate[token_of.at(s.e.contact_id)] =
          fmt::format("{} {} {}", s.t.count(), to_string(s.e.outcome), s.e.disconnect_reason);
    }
    return fate;
  };
  const auto forward = fates(false);
  EXPECT_EQ(forward.size(), 100u);
  EXPECT_EQ(forward, fates(true));
}

TEST(Simulator, ThrottledRequestGetsResourceExhaustedAndPlacesNoCall) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.failure_rate = 1;
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  auto id = place(sim, "x");
  loop.run();

  ASSERT_TRUE(id->has_value());
  EXPECT_EQ((*id)->status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(rec.of_kind(Kind::kCallEnded).empty());
  EXPECT_TRUE(rec.of_kind(Kind::kCallConnected).empty());
  EXPECT_EQ(sim.stats().calls_placed, 0);
  EXPECT_EQ(sim.stats().calls_throttled, 1);
}

TEST(Simulator, RetryAfterAThrottleIsPlacedOnce) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.failure_rate = 0.5;
  Simulator sim(loop, config);
  sim.start([](const ContactEvent&) {});
  int tries = 0;
  absl::StatusOr<std::string> id = absl::UnavailableError("not yet");
  while (!id.ok() && tries < 50) {
    ++tries;
    auto r = place(sim, "same-token");
    loop.run_until(loop.now());
    id = r->value();
  }
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "sim-000001");
  EXPECT_EQ(sim.stats().calls_placed, 1);
  EXPECT_EQ(sim.stats().calls_throttled, tries - 1);
}

TEST(Simulator, ContactIdsOfDifferentRunsNeverRepeat) {
  // Contact ids outlive a run in the store (unique across campaigns and
  // runs), so a restarted simulator must not hand out the same ones.
  std::vector<std::string> ids;
  for (int run = 0; run < 2; ++run) {
    VirtualLoop loop;
    SimConfig config = exact_config();
    config.run_id = new_sim_run_id();
    Simulator sim(loop, config);
    Recorder rec(loop);
    sim.start(rec.handler());
    auto placed = place(sim, "attempt-1");
    loop.run();
    ASSERT_TRUE(placed->value().ok());
    ids.push_back(placed->value().value());
    EXPECT_EQ(ids.back(), fmt::format("sim-{}-000001", config.run_id));
    ASSERT_FALSE(rec.of_kind(Kind::kCallEnded).empty());
    EXPECT_EQ(rec.of_kind(Kind::kCallEnded)[0].e.contact_id, ids.back());
  }
  EXPECT_NE(ids[0], ids[1]);
}

TEST(Simulator, RepeatedClientTokenGetsTheSameContactAndIsDialledOnce) {
  VirtualLoop loop;
  Simulator sim(loop, exact_config());
  Recorder rec(loop);
  sim.start(rec.handler());
  auto first = place(sim, "attempt-7");
  auto again = place(sim, "attempt-7");
  loop.run();
  EXPECT_EQ(first->value().value(), "sim-000001");
  EXPECT_EQ(again->value().value(), "sim-000001");
  EXPECT_EQ(rec.of_kind(Kind::kCallEnded).size(), 1u);
  EXPECT_EQ(sim.stats().calls_placed, 1);
  EXPECT_EQ(sim.stats().calls_repeated, 1);
}

TEST(Simulator, EveryRepeatedTokenAmongManyMapsToItsOwnContact) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 0;
  Simulator sim(loop, config);
  sim.start([](const ContactEvent&) {});
  constexpr int kCalls = 5'000;
  for (int i = 0; i < kCalls; ++i) place(sim, fmt::format("c/{}", i));
  std::vector<std::shared_ptr<std::optional<absl::StatusOr<std::string>>>> repeats;
  for (int i = kCalls - 1; i >= 0; --i) repeats.push_back(place(sim, fmt::format("c/{}", i)));
  loop.run();
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_EQ(repeats[static_cast<size_t>(i)]->value().value(),
              fmt::format("sim-{:06d}", kCalls - i));
  }
  EXPECT_EQ(sim.stats().calls_placed, kCalls);
  EXPECT_EQ(sim.stats().calls_repeated, kCalls);
}

TEST(Simulator, MalformedNumberIsRefusedAsInvalidArgument) {
  VirtualLoop loop;
  Simulator sim(loop, exact_config());
  sim.start([](const ContactEvent&) {});
  for (const char* phone : {"5550100", "+", "+0123", "+1555abc", "+12345678901234567"}) {
    std::optional<absl::Status> status;
    sim.start_call(CallRequest{phone, phone, "{}", "c"},
                   [&status](absl::StatusOr<std::string> id) { status = id.status(); });
    loop.run_until(loop.now());
    ASSERT_TRUE(status.has_value()) << phone;
    EXPECT_EQ(status->code(), absl::StatusCode::kInvalidArgument) << phone;
  }
  EXPECT_EQ(sim.stats().calls_placed, 0);
  EXPECT_EQ(sim.stats().calls_refused, 5);
}

TEST(Simulator, ShutdownStopsAllEventsAndCallbacks) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 2;
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  for (int i = 0; i < 10; ++i) place(sim, fmt::format("t-{}", i));
  loop.run_until(at(seconds(6)));
  ASSERT_EQ(rec.of_kind(Kind::kCallConnected).size(), 2u);
  const size_t before = rec.seen.size();

  auto late = place(sim, "late");  // its callback is pending when we shut down
  bool counted = false;
  sim.available_agents([&counted](absl::StatusOr<int>) { counted = true; });
  sim.shutdown();
  loop.run();
  EXPECT_EQ(rec.seen.size(), before);
  EXPECT_FALSE(late->has_value());
  EXPECT_FALSE(counted);
  EXPECT_EQ(loop.now(), at(seconds(6))) << "no timers were left behind";

  auto after = place(sim, "after");
  loop.run();
  EXPECT_FALSE(after->has_value());
  EXPECT_EQ(rec.seen.size(), before);
}

TEST(Simulator, DestroyingTheSimulatorWithCallbacksPendingIsSafe) {
  VirtualLoop loop;
  auto sim = std::make_unique<Simulator>(loop, exact_config());
  bool called = false;
  sim->start([&called](const ContactEvent&) { called = true; });
  sim->start_call(request("x"), [&called](absl::StatusOr<std::string>) { called = true; });
  sim.reset();
  loop.run();
  EXPECT_FALSE(called);
}

TEST(Simulator, ShiftEndTakesAgentsOfflineAfterTheirCurrentCall) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 2;
  config.shift = seconds(60);
  config.talk_mean = seconds(100);
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  place(sim, "x");  // agent-0001: talks 5..105 s, after-call work to 115 s
  loop.run();

  std::map<std::string, Micros> offline_at;
  for (const Seen& s : rec.of_kind(Kind::kAgentState)) {
    if (s.e.agent_state == AgentState::kOffline) offline_at[s.e.agent_id] = s.t;
  }
  EXPECT_EQ(offline_at["agent-0002"], seconds(60));
  EXPECT_EQ(offline_at["agent-0001"], seconds(115));
  EXPECT_EQ(available_now(sim, loop), 0);
  const SimStats s = sim.stats();
  EXPECT_EQ(s.logged_in_time, seconds(60 + 115));
  EXPECT_EQ(s.busy_time, seconds(100));
  EXPECT_EQ(s.after_call_work_time, seconds(10));
}

TEST(Simulator, AnAvailableAgentStaysPastTheShiftForACallThatMayBeAnswered) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 2;
  config.shift = seconds(60);
  config.ring_min = seconds(20);
  config.ring_max = seconds(20);
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  // A call placed (for one of the two idle agents) 50 s in is still ringing
  // when the shift ends at 60 s: one agent stays for it, the other leaves.
  loop.schedule_at(at(seconds(50)), [&sim] { place(sim, "late"); });
  loop.run();
  const SimStats s = sim.stats();
  EXPECT_EQ(s.abandoned, 0);
  EXPECT_EQ(s.connected, 1);
  std::map<std::string, Micros> offline_at;
  for (const Seen& seen : rec.of_kind(Kind::kAgentState)) {
    if (seen.e.agent_state == AgentState::kOffline) offline_at[seen.e.agent_id] = seen.t;
  }
  ASSERT_EQ(offline_at.size(), 2u);
  std::vector<Micros> times;
  for (const auto& [id, t] : offline_at) times.push_back(t);
  std::sort(times.begin(), times.end());
  EXPECT_EQ(times[0], seconds(60));            // left at the end of the shift
  EXPECT_EQ(times[1], seconds(70 + 60 + 10));  // answered at 70, talk, after-call work
}

TEST(Simulator, AgentTimeAddsUpToLoggedInTimeAtAnyMoment) {
  VirtualLoop loop;
  SimConfig config;
  config.agents = 5;
  config.answer_rate = 0.8;
  config.busy_rate = 0.05;
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  for (int i = 0; i < 300; ++i) {
    loop.schedule_at(at(seconds(4 * i)), [&sim, i] { place(sim, fmt::format("t-{}", i)); });
  }
  const MonoTime stop = at(Micros{654'321'987});  // between events
  loop.run_until(stop);

  // Replay the agent events to get each state's time independently.
  std::map<std::string, std::pair<AgentState, Micros>> current;
  std::map<AgentState, Micros> total;
  for (const Seen& s : rec.of_kind(Kind::kAgentState)) {
    auto it = current.find(s.e.agent_id);
    if (it != current.end()) total[it->second.first] += s.t - it->second.second;
    current[s.e.agent_id] = {s.e.agent_state, s.t};
  }
  for (const auto& [agent, state] : current) {
    total[state.first] += stop.time_since_epoch() - state.second;
  }

  const SimStats s = sim.stats();
  EXPECT_EQ(s.available_time, total[AgentState::kAvailable]);
  EXPECT_EQ(s.busy_time, total[AgentState::kBusy]);
  EXPECT_EQ(s.after_call_work_time, total[AgentState::kAfterCallWork]);
  EXPECT_EQ(s.available_time + s.busy_time + s.after_call_work_time, s.logged_in_time);
  EXPECT_EQ(s.logged_in_time, 5 * stop.time_since_epoch());
  EXPECT_GT(s.busy_time, Micros{0});
  EXPECT_DOUBLE_EQ(s.agent_occupancy,
                   static_cast<double>((s.busy_time + s.after_call_work_time).count()) /
                       static_cast<double>(s.logged_in_time.count()));
}

TEST(Simulator, TalkAndAfterCallWorkTimesHaveTheConfiguredMeans) {
  VirtualLoop loop;
  SimConfig config;
  config.agents = 200;
  config.answer_rate = 1;
  config.busy_rate = 0;
  config.invalid_rate = 0;
  config.patience = seconds(100'000);
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  constexpr int kCalls = 4'000;
  for (int i = 0; i < kCalls; ++i) place(sim, fmt::format("t-{}", i));
  loop.run();

  std::map<std::string, Micros> connected_at;
  std::map<std::string, Micros> acw_from;
  double talk_sum = 0, acw_sum = 0;
  int acw_count = 0;
  for (const Seen& s : rec.seen) {
    if (s.e.kind == Kind::kCallConnected) connected_at[s.e.contact_id] = s.t;
    if (s.e.kind == Kind::kCallEnded) {
      talk_sum += std::chrono::duration<double>(s.t - connected_at.at(s.e.contact_id)).count();
    }
    if (s.e.kind == Kind::kAgentState && s.e.agent_state == AgentState::kAfterCallWork) {
      acw_from[s.e.agent_id] = s.t;
    }
    if (s.e.kind == Kind::kAgentState && s.e.agent_state == AgentState::kAvailable &&
        acw_from.count(s.e.agent_id) != 0) {
      acw_sum += std::chrono::duration<double>(s.t - acw_from[s.e.agent_id]).count();
      ++acw_count;
      acw_from.erase(s.e.agent_id);
    }
  }
  EXPECT_EQ(sim.stats().connected, kCalls);
  EXPECT_NEAR(talk_sum / kCalls, 180, 180 * 0.04);
  EXPECT_EQ(acw_count, kCalls);
  EXPECT_NEAR(acw_sum / acw_count, 30, 30 * 0.04);
}

TEST(Simulator, RunsOnAnAcceleratedRealTimeLoop) {
  RealTimeLoop loop(1000);  // the call's 75 s take 75 ms
  Simulator sim(loop, exact_config());
  std::vector<ContactEvent> seen;
  sim.start([&](const ContactEvent& e) {
    seen.push_back(e);
    if (e.kind == Kind::kAgentState && e.agent_state == AgentState::kAvailable && seen.size() > 1) {
      loop.stop();
    }
  });
  loop.post([&sim] { place(sim, "x"); });
  loop.schedule_after(seconds(600), [&loop] { loop.stop(); });  // a safety net
  loop.run();

  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(seen[2].kind, Kind::kCallConnected);
  EXPECT_EQ(seen[3].kind, Kind::kCallEnded);
  EXPECT_EQ(seen[3].outcome, Outcome::kConnected);
  EXPECT_GE(seen[5].at - seen[0].at, milliseconds(75'000));
}

TEST(SimulatorConfig, ValidateRefusesImpossibleSettings) {
  EXPECT_TRUE(SimConfig{}.validate().ok());
  SimConfig too_many;
  too_many.answer_rate = 0.9;
  EXPECT_EQ(too_many.validate().code(), absl::StatusCode::kInvalidArgument);
  SimConfig negative;
  negative.machine_rate = -0.1;
  EXPECT_FALSE(negative.validate().ok());
  SimConfig ring;
  ring.ring_max = seconds(30);  // beyond the 25 s ring timeout
  EXPECT_FALSE(ring.validate().ok());
  SimConfig agents;
  agents.agents = -1;
  EXPECT_FALSE(agents.validate().ok());
}

TEST(ContactCenter, AgentStatesHaveStableNames) {
  EXPECT_EQ(to_string(AgentState::kAvailable), "available");
  EXPECT_EQ(to_string(AgentState::kBusy), "busy");
  EXPECT_EQ(to_string(AgentState::kAfterCallWork), "after_call_work");
  EXPECT_EQ(to_string(AgentState::kOffline), "offline");
}

}  // namespace
}  // namespace pd

namespace pd {
namespace {

TEST(Simulator, ACallPutThroughMoreThanTwoSecondsAfterTheAnswerIsAbandoned) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.patience = seconds(120);  // the customer waits
  config.talk_mean = seconds(10);
  config.acw_mean = seconds(0);
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  place(sim, "first");
  place(sim, "second");  // waits 10 s for the agent
  loop.run();

  const auto ended = rec.of_kind(Kind::kCallEnded);
  ASSERT_EQ(ended.size(), 2u);
  EXPECT_EQ(ended[0].e.outcome, Outcome::kConnected);
  EXPECT_EQ(ended[1].e.contact_id, "sim-000002");
  EXPECT_EQ(ended[1].e.outcome, Outcome::kAbandoned);  // TCPA: not within 2 s
  EXPECT_EQ(ended[1].e.agent_id, "agent-0001");         // though an agent talked
}

TEST(Simulator, AgentsGiveWrapUpCodesInTheConfiguredShares) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 50;
  config.talk_mean = seconds(1);
  auto shares = parse_disposition_shares("SALE=0.5, CALLBACK=25%");
  ASSERT_TRUE(shares.ok()) << shares.status();
  config.dispositions = *shares;
  ASSERT_TRUE(config.validate().ok());
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  // One call per agent at a time, so every call is talked on.
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 50; ++i) place(sim, fmt::format("t{}-{}", round, i));
    loop.run();
  }
  std::map<std::string, int> codes;
  for (const Seen& s : rec.of_kind(Kind::kCallEnded)) {
    if (s.e.outcome == Outcome::kConnected) ++codes[s.e.disposition];
    if (s.e.outcome != Outcome::kConnected) {
      EXPECT_EQ(s.e.disposition, "");
    }
  }
  const int talked = codes["SALE"] + codes["CALLBACK"] + codes[""];
  ASSERT_GT(talked, 500);
  EXPECT_NEAR(codes["SALE"] / double(talked), 0.5, 0.06);
  EXPECT_NEAR(codes["CALLBACK"] / double(talked), 0.25, 0.06);
  EXPECT_NEAR(codes[""] / double(talked), 0.25, 0.06);
}

TEST(SimulatorConfig, DispositionSharesAreChecked) {
  EXPECT_FALSE(parse_disposition_shares("SALE").ok());
  EXPECT_FALSE(parse_disposition_shares("SALE=x").ok());
  EXPECT_FALSE(parse_disposition_shares("=0.2").ok());
  auto over = parse_disposition_shares("A=0.6,B=0.6");
  ASSERT_FALSE(over.ok());
  EXPECT_NE(std::string(over.status().message()).find("more than 1"), std::string::npos);
  SimConfig c;
  c.dispositions = {{"A", 1.5}};
  EXPECT_FALSE(c.validate().ok());
}

}  // namespace
}  // namespace pd

// --- the realism flags (answer drift, AMD, agents' days, distributions,
// patience, the 2-second rule) ---------------------------------------------

namespace pd {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// Loop time -> the wall time the simulator stamps (VirtualLoop's default
// start).
WallTime wall_at(const VirtualLoop& loop, Micros t) {
  return loop.wall_now() - std::chrono::duration_cast<Millis>(loop.now().time_since_epoch() - t);
}

// When each agent entered each state, in order.
std::map<std::string, std::vector<std::pair<Micros, AgentState>>> agent_timeline(
    const Recorder& rec) {
  std::map<std::string, std::vector<std::pair<Micros, AgentState>>> out;
  for (const Seen& s : rec.of_kind(Kind::kAgentState)) {
    out[s.e.agent_id].emplace_back(s.t, s.e.agent_state);
  }
  return out;
}

TEST(SimulatorRealism, AnswerRateFollowsTheDriftPointsAndRepeatsEveryDay) {
  SimConfig c;
  c.answer_drift = {{hours(0), 0.30}, {hours(8), 0.10}};
  ASSERT_TRUE(c.validate().ok()) << c.validate();
  EXPECT_DOUBLE_EQ(c.answer_rate_at(hours(0)), 0.30);
  EXPECT_NEAR(c.answer_rate_at(hours(4)), 0.20, 1e-12);
  EXPECT_NEAR(c.answer_rate_at(hours(8)), 0.10, 1e-12);
  EXPECT_NEAR(c.answer_rate_at(hours(20)), 0.10, 1e-12) << "flat after the last point";
  EXPECT_NEAR(c.answer_rate_at(hours(24 + 4)), 0.20, 1e-12) << "the next day repeats";
  SimConfig late_start;
  late_start.answer_drift = {{hours(2), 0.4}, {hours(4), 0.2}};
  EXPECT_DOUBLE_EQ(late_start.answer_rate_at(hours(1)), 0.4) << "flat before the first point";
  EXPECT_DOUBLE_EQ(SimConfig{}.answer_rate_at(hours(5)), SimConfig{}.answer_rate);
}

TEST(SimulatorRealism, AnsweredShareInTheFirstAndLastHoursFollowsTheDrift) {
  VirtualLoop loop;
  SimConfig config;
  config.agents = 0;  // every answer is abandoned: counts the answers
  config.answer_drift = {{hours(0), 0.30}, {hours(8), 0.10}};
  Simulator sim(loop, config);
  sim.start([](const ContactEvent&) {});
  constexpr int kPerHour = 12'000;
  // One call every 0.3 s through the first hour and through the eighth.
  for (int i = 0; i < kPerHour; ++i) {
    const Micros t = i * (Micros{hours(1)} / kPerHour);
    loop.schedule_at(at(t), [&sim, i] { place(sim, fmt::format("first-{}", i)); });
    loop.schedule_at(at(hours(7) + t), [&sim, i] { place(sim, fmt::format("last-{}", i)); });
  }
  loop.run_until(at(hours(2)));
  const int64_t first = sim.stats().answered;
  loop.run();
  const int64_t last = sim.stats().answered - first;
  // The mean of the line over each hour: (0.30 + 0.275) / 2, (0.125 + 0.10) / 2.
  EXPECT_NEAR(static_cast<double>(first) / kPerHour, 0.2875, 0.015);
  EXPECT_NEAR(static_cast<double>(last) / kPerHour, 0.1125, 0.012);
}

TEST(SimulatorRealism, AnswerDriftIsParsedFromTheFlagText) {
  auto drift = parse_answer_drift("0h=0.25, 90m=15%,8h=0.30");
  ASSERT_TRUE(drift.ok()) << drift.status();
  ASSERT_EQ(drift->size(), 3u);
  EXPECT_EQ((*drift)[1].at, minutes(90));
  EXPECT_DOUBLE_EQ((*drift)[1].rate, 0.15);
  EXPECT_DOUBLE_EQ((*drift)[2].rate, 0.30);
  for (const char* bad : {"", "0h", "0h=x", "0h=1.5", "x=0.2", "4h=0.2,2h=0.3", "24h=0.2",
                          "0h=0.2,0h=0.3"}) {
    auto r = parse_answer_drift(bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  auto bad = parse_answer_drift("0h=0.2,4h=x");
  EXPECT_NE(std::string(bad.status().message()).find("'4h=x'"), std::string::npos)
      << bad.status();
}

TEST(SimulatorRealism, WithAmdAPersonIsPutThroughAmdDelayAfterTheAnswer) {
  VirtualLoop loop;
  SimConfig config = exact_config();  // rings 5 s
  config.amd_delay = seconds(3);
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  place(sim, "x");
  loop.run();

  const auto connected = rec.of_kind(Kind::kCallConnected);
  ASSERT_EQ(connected.size(), 1u);
  EXPECT_EQ(connected[0].t, seconds(5 + 3));
  ASSERT_TRUE(connected[0].e.answered_at.has_value());
  EXPECT_EQ(*connected[0].e.answered_at, wall_at(loop, seconds(8)));
  const auto ended = rec.of_kind(Kind::kCallEnded);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].t, seconds(8 + 60));
  EXPECT_EQ(ended[0].e.outcome, Outcome::kConnected);
  EXPECT_EQ(ended[0].e.answered_at, connected[0].e.answered_at);
}

TEST(SimulatorRealism, WithAmdAMachineEndsWhenTheAmdIsOver) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.machine_rate = 1;
  config.amd_delay = seconds(4);  // machine_after is 3 s: AMD's time wins
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  place(sim, "x");
  loop.run();
  const auto ended = rec.of_kind(Kind::kCallEnded);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].t, seconds(5 + 4));
  EXPECT_EQ(ended[0].e.disconnect_reason, "ANSWERING_MACHINE");
  EXPECT_EQ(ended[0].e.outcome, Outcome::kNoAnswer);
  EXPECT_FALSE(ended[0].e.answered_at.has_value()) << "no person was routed";
  EXPECT_TRUE(rec.of_kind(Kind::kCallConnected).empty());
}

// The second call is answered at 13.5 s while the agent talks to the first
// until 18 s: put through 4.5 s after the pick-up.
std::vector<Seen> second_call_waits(Micros amd) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.amd_delay = amd;
  config.patience = seconds(120);
  config.talk_mean = seconds(10);
  config.acw_mean = seconds(0);
  config.ring_min = config.ring_max = seconds(5);
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  // With 3 s of AMD the first is put through at 8 s and talks until 18 s.
  // Without AMD it talks 5..15 s: the second call is placed 3 s later, so
  // the gap between the second's pick-up and the agent stays 4.5 s.
  const Micros second_at = amd > Micros{0} ? milliseconds(8'500) : milliseconds(5'500);
  place(sim, "first");
  loop.schedule_at(at(second_at), [&sim] { place(sim, "second"); });
  loop.run();
  return rec.about_contact("sim-000002");
}

TEST(SimulatorRealism, TheTwoSecondWindowStartsWhenAmdRoutesThePerson) {
  // With 3 s of AMD the person is routed at 16.5 s and put through at 18 s:
  // 1.5 s after routing, within TCPA's 2 s (though 4.5 s after pick-up).
  const auto with_amd = second_call_waits(seconds(3));
  ASSERT_EQ(with_amd.size(), 2u);
  EXPECT_EQ(with_amd[0].e.kind, Kind::kCallConnected);
  EXPECT_EQ(with_amd[0].t, seconds(18));
  EXPECT_EQ(with_amd[1].e.outcome, Outcome::kConnected);
  // Without AMD the same 4.5 s wait is from the answer: abandoned (TCPA).
  const auto without = second_call_waits(Micros{0});
  ASSERT_EQ(without.size(), 2u);
  EXPECT_EQ(without[0].t, seconds(15));
  EXPECT_EQ(without[1].e.outcome, Outcome::kAbandoned);
}

TEST(SimulatorRealism, WithoutTheTwoSecondRuleALateConnectCountsAsConnected) {
  for (bool rule : {true, false}) {
    VirtualLoop loop;
    SimConfig config = exact_config();
    config.patience = seconds(120);
    config.talk_mean = seconds(10);
    config.acw_mean = seconds(0);
    config.two_second_rule = rule;
    Simulator sim(loop, config);
    Recorder rec(loop);
    sim.start(rec.handler());
    place(sim, "first");
    place(sim, "second");  // waits 10 s for the agent
    loop.run();
    const auto ended = rec.about_contact("sim-000002");
    ASSERT_EQ(ended.size(), 2u);
    EXPECT_EQ(ended[1].e.outcome, rule ? Outcome::kAbandoned : Outcome::kConnected) << rule;
    EXPECT_EQ(sim.stats().late_connects, 1) << rule;
    EXPECT_EQ(sim.stats().outcome(Outcome::kAbandoned), rule ? 1 : 0);
    EXPECT_EQ(sim.stats().abandoned, 0) << "nobody hung up";
  }
}

TEST(SimulatorRealism, AnsweredAtIsSetOnlyForCallsAPersonAnswered) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 0;
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  place(sim, "abandoned");
  loop.run();
  const auto ended = rec.of_kind(Kind::kCallEnded);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].e.outcome, Outcome::kAbandoned);
  ASSERT_TRUE(ended[0].e.answered_at.has_value());
  EXPECT_EQ(*ended[0].e.answered_at, wall_at(loop, seconds(5)));

  VirtualLoop loop2;
  SimConfig unanswered = exact_config();
  unanswered.answer_rate = 0;
  unanswered.busy_rate = 0.5;
  Simulator sim2(loop2, unanswered);
  Recorder rec2(loop2);
  sim2.start(rec2.handler());
  for (int i = 0; i < 20; ++i) place(sim2, fmt::format("u-{}", i));
  loop2.run();
  ASSERT_EQ(rec2.of_kind(Kind::kCallEnded).size(), 20u);
  for (const Seen& s : rec2.of_kind(Kind::kCallEnded)) {
    EXPECT_FALSE(s.e.answered_at.has_value()) << s.e.disconnect_reason;
  }
}

TEST(SimulatorRealism, AnsweredAtIsNotLeftOverFromAnEarlierEvent) {
  // The handler's event is reused: a connected call's answered_at must not
  // leak into the next agent event or unanswered call.
  VirtualLoop loop;
  SimConfig config = exact_config();
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  place(sim, "a");
  loop.run();
  for (const Seen& s : rec.of_kind(Kind::kAgentState)) {
    EXPECT_FALSE(s.e.answered_at.has_value());
  }
}

// Samples of a duration per call: talk (connected to ended), after-call
// work (AfterCallWork to Available), or patience (answered to hang-up).
struct Durations {
  std::vector<double> talk, acw, patience;
};

Durations measure(SimConfig config, int calls) {
  VirtualLoop loop;
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  for (int i = 0; i < calls; ++i) place(sim, fmt::format("t-{}", i));
  loop.run();
  Durations d;
  std::map<std::string, Micros> connected_at, acw_from;
  const auto sec = [](Micros m) { return std::chrono::duration<double>(m).count(); };
  for (const Seen& s : rec.seen) {
    if (s.e.kind == Kind::kCallConnected) connected_at[s.e.contact_id] = s.t;
    if (s.e.kind == Kind::kCallEnded && s.e.outcome == Outcome::kConnected) {
      d.talk.push_back(sec(s.t - connected_at.at(s.e.contact_id)));
    }
    if (s.e.kind == Kind::kCallEnded && s.e.outcome == Outcome::kAbandoned &&
        s.e.agent_id.empty()) {
      // From the routing (answered_at) to the hang-up, to the millisecond.
      d.patience.push_back(std::chrono::duration<double>(s.e.at - *s.e.answered_at).count());
    }
    if (s.e.kind == Kind::kAgentState && s.e.agent_state == AgentState::kAfterCallWork) {
      acw_from[s.e.agent_id] = s.t;
    }
    if (s.e.kind == Kind::kAgentState && s.e.agent_state == AgentState::kAvailable &&
        acw_from.count(s.e.agent_id) != 0) {
      d.acw.push_back(sec(s.t - acw_from[s.e.agent_id]));
      acw_from.erase(s.e.agent_id);
    }
  }
  return d;
}

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

// Standard deviation / mean: 1 for the exponential, ~0.53 for lognormal
// sigma 0.5, 0 when fixed.
double cv(const std::vector<double>& v) {
  const double m = mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size())) / m;
}

SimConfig everyone_talks() {
  SimConfig config;
  config.agents = 200;
  config.answer_rate = 1;
  config.busy_rate = 0;
  config.invalid_rate = 0;
  config.patience = seconds(100'000);
  config.talk_mean = seconds(120);
  config.acw_mean = seconds(15);
  config.two_second_rule = false;  // everyone waits for an agent and is talked to
  return config;
}

TEST(SimulatorRealism, TalkAndAfterCallWorkFollowTheChosenDistributions) {
  SimConfig config = everyone_talks();
  config.talk_dist = Distribution::kExponential;
  config.acw_dist = Distribution::kFixed;
  const Durations d = measure(config, 6'000);
  ASSERT_EQ(d.talk.size(), 6'000u);
  EXPECT_NEAR(mean(d.talk), 120, 120 * 0.04);
  EXPECT_NEAR(cv(d.talk), 1.0, 0.05) << "exponential";
  ASSERT_EQ(d.acw.size(), 6'000u);
  for (double x : d.acw) ASSERT_DOUBLE_EQ(x, 15);

  SimConfig swapped = everyone_talks();
  swapped.talk_dist = Distribution::kFixed;
  swapped.acw_dist = Distribution::kExponential;
  const Durations e = measure(swapped, 6'000);
  for (double x : e.talk) ASSERT_DOUBLE_EQ(x, 120);
  EXPECT_NEAR(mean(e.acw), 15, 15 * 0.04);
  EXPECT_NEAR(cv(e.acw), 1.0, 0.05);

  SimConfig wide = everyone_talks();  // lognormal, as before, with a wider sigma
  wide.talk_sigma = 1.0;
  const Durations w = measure(wide, 6'000);
  EXPECT_NEAR(mean(w.talk), 120, 120 * 0.06);
  // Lognormal: cv = sqrt(exp(sigma^2) - 1) = 1.31 for sigma 1.
  EXPECT_NEAR(cv(w.talk), std::sqrt(std::exp(1.0) - 1), 0.15);
}

TEST(SimulatorRealism, PeopleWaitingHangUpAfterTheirPatience) {
  SimConfig config = everyone_talks();
  config.agents = 0;
  config.patience = seconds(20);
  for (Distribution dist :
       {Distribution::kExponential, Distribution::kFixed, Distribution::kLognormal}) {
    config.patience_dist = dist;
    const Durations d = measure(config, 5'000);
    ASSERT_EQ(d.patience.size(), 5'000u) << to_string(dist);
    EXPECT_NEAR(mean(d.patience), 20, 20 * 0.05) << to_string(dist);
    const double want_cv = dist == Distribution::kExponential ? 1.0
                           : dist == Distribution::kFixed     ? 0.0
                                                              : std::sqrt(std::exp(0.25) - 1);
    EXPECT_NEAR(cv(d.patience), want_cv, 0.06) << to_string(dist);
  }
}

TEST(SimulatorRealism, PatienceIsTheCallsOwnWhateverTheOrderOfRequests) {
  const auto waits = [](bool reversed) {
    VirtualLoop loop;
    SimConfig config = everyone_talks();
    config.agents = 0;
    config.patience = seconds(20);
    config.patience_dist = Distribution::kExponential;
    Simulator sim(loop, config);
    Recorder rec(loop);
    sim.start(rec.handler());
    std::map<std::string, std::string> token_of;
    for (int n = 0; n < 50; ++n) {
      const std::string token = fmt::format("tok-{}", reversed ? 49 - n : n);
      sim.start_call(request(token), [&token_of, token](absl::StatusOr<std::string> id) {
        token_of[id.value()] = token;
      });
    }
    loop.run();
    std::map<std::string, int64_t> ended_at;
    for (const Seen& s : rec.of_kind(Kind::kCallEnded)) ended_at[token_of[s.e.contact_id]] = s.t.count();
    return ended_at;
  };
  EXPECT_EQ(waits(false), waits(true));
}

TEST(SimulatorRealism, AgentsGoOfflineForBreaksAndComeBack) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 2;
  config.shift = hours(3);
  config.break_every = hours(1);
  config.break_length = minutes(15);
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  loop.run();

  const std::vector<std::pair<Micros, AgentState>> want = {
      {hours(0), AgentState::kAvailable},
      {hours(1), AgentState::kOffline},
      {hours(1) + minutes(15), AgentState::kAvailable},
      {hours(2), AgentState::kOffline},
      {hours(2) + minutes(15), AgentState::kAvailable},
      {hours(3), AgentState::kOffline},  // the shift's end: no break at 3 h
  };
  const auto timeline = agent_timeline(rec);
  EXPECT_EQ(timeline.at("agent-0001"), want);
  EXPECT_EQ(timeline.at("agent-0002"), want);
  const SimStats s = sim.stats();
  EXPECT_EQ(s.breaks, 4);
  EXPECT_EQ(s.logged_in_time, 2 * (hours(3) - minutes(30))) << "breaks are not logged in";
}

TEST(SimulatorRealism, ABreakDueDuringACallStartsAfterItsAfterCallWork) {
  VirtualLoop loop;
  SimConfig config = exact_config();  // talk 60 s, after-call work 10 s
  config.shift = seconds(130);
  config.break_every = seconds(30);
  config.break_length = seconds(15);
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  place(sim, "x");  // rings 5 s: talks 5..65 s, after-call work to 75 s
  loop.run();

  const std::vector<std::pair<Micros, AgentState>> want = {
      {seconds(0), AgentState::kAvailable},      {seconds(5), AgentState::kBusy},
      {seconds(65), AgentState::kAfterCallWork}, {seconds(75), AgentState::kOffline},
      {seconds(90), AgentState::kAvailable},
      // Due at 120 s on the shift's clock (breaks at 60 and 90 s fell in the
      // call and the break); the shift ends during it, so no return.
      {seconds(120), AgentState::kOffline},
  };
  EXPECT_EQ(agent_timeline(rec).at("agent-0001"), want);
  EXPECT_EQ(sim.stats().breaks, 2);
}

TEST(SimulatorRealism, AnAvailableAgentWaitsForACallPlacedForThemBeforeABreak) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.break_every = seconds(10);
  config.break_length = seconds(60);
  config.shift = seconds(100);
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  // Placed at 8 s for the one free agent; still ringing when the break
  // falls due at 10 s: the agent stays, takes it at 13 s, and breaks after.
  loop.schedule_at(at(seconds(8)), [&sim] { place(sim, "x"); });
  loop.run();
  EXPECT_EQ(sim.stats().abandoned, 0);
  EXPECT_EQ(sim.stats().connected, 1);
  const auto timeline = agent_timeline(rec).at("agent-0001");
  ASSERT_GE(timeline.size(), 4u);
  EXPECT_EQ(timeline[1], std::make_pair(Micros{seconds(13)}, AgentState::kBusy));
  EXPECT_EQ(timeline[3], std::make_pair(Micros{seconds(13 + 60 + 10)}, AgentState::kOffline));
}

TEST(SimulatorRealism, AgentsLogInSpreadOverLoginSpreadEachOnTheirOwnShift) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 300;
  config.login_spread = minutes(30);
  config.shift = hours(1);
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  loop.run();

  const auto timeline = agent_timeline(rec);
  ASSERT_EQ(timeline.size(), 300u);
  std::array<int, 3> per_ten_minutes{};
  double sum = 0;
  for (const auto& [agent, states] : timeline) {
    ASSERT_EQ(states.size(), 2u) << agent;
    const Micros login = states[0].first;
    EXPECT_EQ(states[0].second, AgentState::kAvailable);
    ASSERT_GE(login, Micros{0});
    ASSERT_LT(login, minutes(30));
    EXPECT_EQ(states[1], std::make_pair(login + Micros{hours(1)}, AgentState::kOffline))
        << "their own shift";
    ++per_ten_minutes[static_cast<size_t>(login / minutes(10))];
    sum += std::chrono::duration<double>(login).count();
  }
  EXPECT_NEAR(sum / 300 / 60, 15, 1.5) << "uniform over 30 minutes: mean 15";
  for (int n : per_ten_minutes) EXPECT_NEAR(n, 100, 30);
  EXPECT_EQ(sim.stats().logins, 300);
}

TEST(SimulatorRealism, ARunOfThreeDaysLogsAgentsInThreeTimes24HoursApart) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 2;
  config.shift = hours(8);
  config.days = 3;
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  place(sim, "day-1");
  loop.schedule_at(at(hours(24) + seconds(10)), [&sim] { place(sim, "day-2"); });
  loop.run();

  const std::vector<std::pair<Micros, AgentState>> idle_all_days = {
      {hours(0), AgentState::kAvailable},  {hours(8), AgentState::kOffline},
      {hours(24), AgentState::kAvailable}, {hours(32), AgentState::kOffline},
      {hours(48), AgentState::kAvailable}, {hours(56), AgentState::kOffline},
  };
  EXPECT_EQ(agent_timeline(rec).at("agent-0002"), idle_all_days);
  EXPECT_EQ(sim.stats().logins, 6);
  EXPECT_EQ(sim.stats().connected, 2) << "a call each on days 1 and 2";
  EXPECT_EQ(loop.now(), at(hours(56))) << "nothing scheduled past the last day";
  EXPECT_EQ(sim.stats().logged_in_time, 6 * hours(8));
}

TEST(SimulatorRealism, EachDaysLoginsAreSpreadAnew) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 20;
  config.shift = hours(8);
  config.login_spread = minutes(30);
  config.days = 2;
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  loop.run();
  int moved = 0;
  for (const auto& [agent, states] : agent_timeline(rec)) {
    ASSERT_EQ(states.size(), 4u) << agent;
    const Micros day1 = states[0].first, day2 = states[2].first - hours(24);
    EXPECT_LT(day1, minutes(30));
    EXPECT_GE(day2, Micros{0});
    EXPECT_LT(day2, minutes(30));
    if (day1 != day2) ++moved;
  }
  EXPECT_GT(moved, 15) << "a new login time each day";
}

// Every flag at once, with calls through three short days.
std::vector<std::string> run_realistic(uint64_t seed) {
  VirtualLoop loop;
  SimConfig config;
  config.seed = seed;
  config.agents = 10;
  config.shift = hours(2);
  config.days = 3;
  config.login_spread = minutes(10);
  config.break_every = minutes(40);
  config.break_length = minutes(5);
  config.machine_rate = 0.2;
  config.amd_delay = seconds(3);
  config.answer_drift = {{hours(0), 0.5}, {hours(2), 0.2}};
  config.talk_dist = Distribution::kExponential;
  config.acw_dist = Distribution::kFixed;
  config.patience = seconds(15);
  config.patience_dist = Distribution::kExponential;
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  for (int day = 0; day < 3; ++day) {
    for (int i = 0; i < 300; ++i) {
      loop.schedule_at(at(day * hours(24) + seconds(20 * i)),
                       [&sim, day, i] { place(sim, fmt::format("t-{}-{}", day, i)); });
    }
  }
  loop.run();
  std::vector<std::string> lines = rec.lines();
  for (const Seen& s : rec.seen) {
    if (s.e.answered_at) lines.push_back(fmt::format("{}", s.e.answered_at->time_since_epoch().count()));
  }
  return lines;
}

TEST(SimulatorRealism, SameSeedGivesTheSameEventsWithEveryFlagOn) {
  const auto a = run_realistic(3);
  EXPECT_GT(a.size(), 2'000u);
  EXPECT_EQ(a, run_realistic(3));
  EXPECT_NE(a, run_realistic(4));
}

TEST(SimulatorRealism, ShutdownLeavesNoLoginBreakOrDayTimerBehind) {
  VirtualLoop loop;
  SimConfig config = exact_config();
  config.agents = 5;
  config.shift = hours(8);
  config.days = 3;
  config.login_spread = minutes(30);
  config.break_every = minutes(20);
  config.break_length = minutes(5);
  config.amd_delay = seconds(3);
  Simulator sim(loop, config);
  Recorder rec(loop);
  sim.start(rec.handler());
  loop.run_until(at(minutes(10)));  // some agents logged in, some not yet
  place(sim, "x");
  loop.run_until(at(minutes(10) + seconds(6)));  // the call is in AMD
  const size_t before = rec.seen.size();
  sim.shutdown();
  loop.run();
  EXPECT_EQ(rec.seen.size(), before);
  EXPECT_EQ(loop.now(), at(minutes(10) + seconds(6))) << "no timers were left behind";
}

TEST(SimulatorConfig, TheRealismFieldsAreCheckedAndNamedWithTheirFlags) {
  const auto message = [](const SimConfig& c) { return std::string(c.validate().message()); };
  const auto refused = [&](const SimConfig& c, const std::string& flag) {
    const absl::Status s = c.validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << flag;
    EXPECT_NE(message(c).find(flag), std::string::npos) << message(c);
  };
  SimConfig c;
  c.days = 0;
  refused(c, "--days");
  c.days = 2;  // no shift
  refused(c, "--shift");
  c.shift = hours(20);
  c.login_spread = hours(5);
  refused(c, "--login-spread");
  c = SimConfig{};
  c.break_every = hours(2);
  refused(c, "--break-length");
  c = SimConfig{};
  c.amd_delay = seconds(-1);
  refused(c, "--amd-delay");
  c = SimConfig{};
  c.patience = seconds(-1);
  refused(c, "--patience");
  c = SimConfig{};
  c.talk_sigma = -1;
  refused(c, "--talk-sigma");
  c = SimConfig{};
  c.answer_drift = {{hours(2), 0.2}, {hours(1), 0.3}};
  refused(c, "--answer-drift");
  c = SimConfig{};
  c.answer_drift = {{hours(0), 0.95}};  // + busy 0.10 + invalid 0.02
  refused(c, "--answer-drift");
  c = SimConfig{};
  c.answer_rate = 0.95;  // replaced by the drift, so not checked
  c.answer_drift = {{hours(0), 0.5}};
  EXPECT_TRUE(c.validate().ok()) << c.validate();
  c = SimConfig{};
  c.days = 30;
  c.shift = hours(8);
  c.login_spread = minutes(30);
  c.break_every = hours(2);
  c.break_length = minutes(15);
  EXPECT_TRUE(c.validate().ok()) << c.validate();
}

TEST(SimulatorConfig, DistributionsHaveStableNames) {
  for (Distribution d :
       {Distribution::kLognormal, Distribution::kExponential, Distribution::kFixed}) {
    EXPECT_EQ(parse_distribution(to_string(d)).value(), d);
  }
  EXPECT_EQ(to_string(Distribution::kExponential), "exponential");
  EXPECT_FALSE(parse_distribution("weibull").ok());
}

}  // namespace
}  // namespace pd
