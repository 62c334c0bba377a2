#include "engine/pacer.h"

#include <gtest/gtest.h>

namespace pd {
namespace {

using std::chrono::seconds;

constexpr WallTime kT0{std::chrono::milliseconds{1'767'708'000'000}};

PacerSnapshot snap(int available, int busy, int acw, int dialing, int talking,
                   WallTime at = kT0) {
  PacerSnapshot s;
  s.now = at;
  s.agents_available = available;
  s.agents_busy = busy;
  s.agents_after_call_work = acw;
  s.dialing = dialing;
  s.talking = talking;
  return s;
}

PacingConfig progressive(double lines, double max_lines = 3.0) {
  PacingConfig c;
  c.mode = PacingMode::kProgressive;
  c.lines_per_agent = lines;
  c.max_lines_per_agent = max_lines;
  return c;
}

ContactEvent ended(Outcome outcome) {
  ContactEvent e;
  e.kind = ContactEvent::Kind::kCallEnded;
  e.outcome = outcome;
  return e;
}

TEST(PacingConfigTest, RefusesATargetAboveTheCapAndLinesAboveTheMaximum) {
  CampaignConfig config;
  config.pacing = "progressive";
  config.target_abandon_rate = 0.04;
  config.max_abandon_rate = 0.03;
  auto p = PacingConfig::from(config);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("target-abandon-rate"), std::string_view::npos);
  config.target_abandon_rate = 0.02;
  config.lines_per_agent = 4;
  config.max_lines_per_agent = 3;
  p = PacingConfig::from(config);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("lines-per-agent"), std::string_view::npos);
  config.pacing = "turbo";
  config.lines_per_agent = 1.5;
  p = PacingConfig::from(config);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("power|progressive"), std::string_view::npos);
}

TEST(MakePacerTest, EachModeGetsItsPacer) {
  for (PacingMode m : {PacingMode::kPower, PacingMode::kProgressive, PacingMode::kVicidialAdapt}) {
    PacingConfig c;
    c.mode = m;
    EXPECT_EQ(make_pacer(c)->status().mode, m) << to_string(m);
  }
}

TEST(PowerPacerTest, OneCallPerFreeAgentWithNothingPlacedForThem) {
  PowerPacer p(PacingConfig{});
  EXPECT_EQ(p.decide(snap(3, 2, 1, 1, 2)).calls, 2);
  EXPECT_EQ(p.decide(snap(3, 2, 1, 3, 2)).calls, 0);
  EXPECT_EQ(p.decide(snap(0, 2, 1, 0, 2)).calls, 0);
  EXPECT_FALSE(p.decide(snap(3, 0, 0, 0, 0)).review_at.has_value());
}

TEST(ProgressivePacerTest, PlacesLinesPerAgentCallsForTheFreeAgents) {
  ProgressivePacer p(progressive(1.5));
  EXPECT_EQ(p.decide(snap(2, 0, 0, 0, 0)).calls, 3);
  EXPECT_EQ(p.decide(snap(2, 0, 0, 1, 0)).calls, 2);
  EXPECT_EQ(p.decide(snap(2, 0, 0, 3, 0)).calls, 0);
  // Rounded down: 1.5 lines for one free agent is one call.
  EXPECT_EQ(p.decide(snap(1, 3, 0, 0, 3)).calls, 1);
  // Calls agents are talking on are not the free agents' lines.
  EXPECT_EQ(p.decide(snap(4, 6, 0, 0, 6)).calls, 6);
  EXPECT_EQ(p.decide(snap(0, 6, 0, 0, 6)).calls, 0);
  EXPECT_DOUBLE_EQ(p.status().lines_per_agent, 1.0);
}

TEST(ProgressivePacerTest, OneLinePerAgentIsPowerMode) {
  ProgressivePacer progressive_one(progressive(1.0));
  PowerPacer power(PacingConfig{});
  for (const PacerSnapshot& s : {snap(3, 2, 1, 1, 2), snap(5, 0, 0, 0, 0), snap(1, 4, 2, 1, 4),
                                 snap(0, 4, 2, 0, 4)}) {
    EXPECT_EQ(progressive_one.decide(s).calls, power.decide(s).calls);
  }
}

TEST(ProgressivePacerTest, NeverMoreThanMaxLinesPerLoggedInAgentInFlight) {
  // 8 logged in at 2 lines each: 16 in flight, 2 of them talking, so the
  // free agents' 3 lines each (12 calls) fit.
  ProgressivePacer p(progressive(3.0, 2.0));
  EXPECT_EQ(p.decide(snap(4, 2, 2, 0, 2)).calls, 12);
  // 4 free agents alone: at most 8 in flight.
  EXPECT_EQ(p.decide(snap(4, 0, 0, 0, 0)).calls, 8);
  EXPECT_EQ(p.decide(snap(4, 0, 0, 5, 0)).calls, 3);
  EXPECT_DOUBLE_EQ(p.status().lines_per_agent, 2.0);
}

TEST(ProgressivePacerTest, AThrottleHalvesTheCallsAbovePowerModeForAWhile) {
  ProgressivePacer p(progressive(3.0));
  EXPECT_EQ(p.decide(snap(4, 0, 0, 0, 0)).calls, 12);
  p.on_throttled(kT0);
  PaceDecision d = p.decide(snap(4, 0, 0, 0, 0, kT0 + seconds(1)));
  EXPECT_EQ(d.calls, 4 + 4);  // power's 4, and half the 8 above
  ASSERT_TRUE(d.review_at.has_value());  // the full level returns without an event
  EXPECT_EQ(*d.review_at, kT0 + ThrottleBackoff::kHold);
  EXPECT_NE(p.status().note.find("backing off"), std::string::npos);
  EXPECT_EQ(p.status().throttled, 1);
  // Throttled again within the hold: half again.
  p.on_throttled(kT0 + seconds(2));
  EXPECT_EQ(p.decide(snap(4, 0, 0, 0, 0, kT0 + seconds(3))).calls, 4 + 2);
  // A quiet hold later: the full level.
  d = p.decide(snap(4, 0, 0, 0, 0, kT0 + seconds(2) + ThrottleBackoff::kHold));
  EXPECT_EQ(d.calls, 12);
  EXPECT_FALSE(d.review_at.has_value());
  EXPECT_TRUE(p.status().note.empty());
}

TEST(ThrottleBackoffTest, NeverCutsBelowPowerMode) {
  ThrottleBackoff b;
  for (int i = 0; i < 10; ++i) b.on_throttled(kT0 + seconds(i));
  EXPECT_EQ(b.factor(), 0.0);
  EXPECT_EQ(b.apply(30, 10, kT0 + seconds(10)), 10);
  EXPECT_EQ(b.apply(5, 10, kT0 + seconds(10)), 5);  // nothing above power to cut
  EXPECT_TRUE(b.backing_off(kT0 + seconds(10)));
  EXPECT_FALSE(b.backing_off(kT0 + seconds(9) + ThrottleBackoff::kHold));
}

TEST(PacerTest, AbandonRatesAreTheLedgersPlusTheCallsEndedSince) {
  ProgressivePacer p(progressive(1.5));
  AbandonRates ledger;
  ledger.today = "2026-01-06";
  ledger.answered_today = 98;
  ledger.abandoned_today = 1;
  ledger.answered_30d = 998;
  ledger.abandoned_30d = 9;
  p.on_ledger(ledger);
  p.on_call_ended({}, ended(Outcome::kAbandoned));
  p.on_call_ended({}, ended(Outcome::kConnected));
  p.on_call_ended({}, ended(Outcome::kNoAnswer));  // not answered: not counted
  EXPECT_DOUBLE_EQ(p.status().abandon_rate_today, 2.0 / 100);
  EXPECT_DOUBLE_EQ(p.status().abandon_rate_30d, 10.0 / 1000);
  // A new reading replaces the counts (the calls since are in it now).
  ledger.answered_today = 100;
  ledger.abandoned_today = 2;
  p.on_ledger(ledger);
  EXPECT_DOUBLE_EQ(p.status().abandon_rate_today, 2.0 / 100);
  // A call that reaches an agent is answered at once (as the store counts
  // it), and its end adds nothing more.
  PacedCall talked;
  talked.connected_at = WallTime{};
  p.on_call_connected(talked, ended(Outcome::kConnected));
  EXPECT_DOUBLE_EQ(p.status().abandon_rate_today, 2.0 / 101);
  p.on_call_ended(talked, ended(Outcome::kConnected));
  EXPECT_DOUBLE_EQ(p.status().abandon_rate_today, 2.0 / 101);
}

}  // namespace
}  // namespace pd
