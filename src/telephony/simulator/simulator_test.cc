#include "telephony/simulator/simulator.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
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
