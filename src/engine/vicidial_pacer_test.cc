#include "engine/vicidial_pacer.h"

#include <gtest/gtest.h>

namespace pd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr WallTime kT0{std::chrono::milliseconds{1'767'708'000'000}};

PacerSnapshot snap(WallTime at, int available, int busy, int acw, int dialing, int talking) {
  PacerSnapshot s;
  s.now = at;
  s.agents_available = available;
  s.agents_busy = busy;
  s.agents_after_call_work = acw;
  s.dialing = dialing;
  s.talking = talking;
  return s;
}

PacingConfig adapt(double target = 0.03, double max_lines = 3.0) {
  PacingConfig c;
  c.mode = PacingMode::kVicidialAdapt;
  c.target_abandon_rate = target;
  c.max_abandon_rate = std::max(target, 0.03);
  c.max_lines_per_agent = max_lines;
  return c;
}

ContactEvent ended(Outcome outcome, WallTime at) {
  ContactEvent e;
  e.kind = ContactEvent::Kind::kCallEnded;
  e.outcome = outcome;
  e.at = at;
  return e;
}

AbandonRates ledger(std::string today, int64_t answered, int64_t abandoned) {
  AbandonRates l;
  l.today = std::move(today);
  l.answered_today = answered;
  l.abandoned_today = abandoned;
  l.answered_30d = answered;
  l.abandoned_30d = abandoned;
  return l;
}

TEST(VicidialAdaptPacerTest, StartsAtPowerModeAndReviewsEveryFifteenSeconds) {
  VicidialAdaptPacer p(adapt());
  const PaceDecision d = p.decide(snap(kT0, 10, 0, 0, 0, 0));
  EXPECT_EQ(d.calls, 10);
  ASSERT_TRUE(d.review_at.has_value());
  EXPECT_EQ(*d.review_at, kT0 + seconds(15));
  EXPECT_DOUBLE_EQ(p.dial_level(), 1.0);
  EXPECT_EQ(p.status().mode, PacingMode::kVicidialAdapt);
}

TEST(VicidialAdaptPacerTest, RaisesTheLevelByTheShareOfAgentsLeftWaiting) {
  VicidialAdaptPacer p(adapt());
  // 10 agents: 5 s with 4 waiting, then 10 s with 2 waiting: on average
  // (4*5 + 2*10) / 15 = 2.67 of 10 waiting, so the level rises 26.7%.
  p.decide(snap(kT0, 4, 6, 0, 4, 6));
  p.decide(snap(kT0 + seconds(5), 2, 8, 0, 2, 8));
  p.decide(snap(kT0 + seconds(15), 2, 8, 0, 2, 8));
  EXPECT_NEAR(p.dial_level(), 1.0 + 40.0 / 150.0, 1e-9);
  // Calls up = round(level * (available + on a call)) - calls up already:
  // round(1.2667 * 10) = 13, with 10 up: 3 more.
  EXPECT_EQ(p.decide(snap(kT0 + seconds(16), 2, 8, 0, 2, 8)).calls, 3);
  // Agents in after-call work are not counted.
  EXPECT_EQ(p.decide(snap(kT0 + seconds(16), 2, 4, 4, 2, 4)).calls, 2);
}

TEST(VicidialAdaptPacerTest, NoAgentWaitingKeepsTheLevelAndItNeverPassesTheMaximum) {
  VicidialAdaptPacer p(adapt(0.03, 2.0));
  WallTime t = kT0;
  p.decide(snap(t, 10, 0, 0, 0, 0));
  for (int i = 0; i < 10; ++i) {
    t += seconds(15);
    p.decide(snap(t, 10, 0, 0, 0, 0));  // everyone waiting, all along
  }
  EXPECT_DOUBLE_EQ(p.dial_level(), 2.0);
  EXPECT_DOUBLE_EQ(p.status().lines_per_agent, 2.0);
  // Never more than max-lines-per-agent per logged-in agent in flight.
  EXPECT_EQ(p.decide(snap(t, 10, 0, 0, 0, 0)).calls, 20);
  VicidialAdaptPacer busy(adapt());
  t = kT0;
  busy.decide(snap(t, 0, 10, 0, 0, 10));
  busy.decide(snap(t + seconds(15), 0, 10, 0, 0, 10));
  EXPECT_DOUBLE_EQ(busy.dial_level(), 1.0);
}

TEST(VicidialAdaptPacerTest, ADropRateTodayOverTheLimitHoldsTheLevelAtOne) {
  VicidialAdaptPacer p(adapt(0.03));
  p.on_ledger(ledger("2026-01-06", 0, 0));
  WallTime t = kT0;
  p.decide(snap(t, 10, 0, 0, 0, 0));
  for (int i = 0; i < 4; ++i) {
    t += seconds(15);
    p.decide(snap(t, 10, 0, 0, 0, 0));
  }
  ASSERT_GT(p.dial_level(), 2.0);
  // 60 calls, 20 answered, 1 dropped: 5% today, over 3%.
  for (int i = 0; i < 60; ++i) p.on_call_placed(t);
  for (int i = 0; i < 19; ++i) p.on_call_ended({}, ended(Outcome::kConnected, t));
  p.on_call_ended({}, ended(Outcome::kAbandoned, t));
  t += seconds(15);
  p.decide(snap(t, 10, 0, 0, 0, 0));
  EXPECT_DOUBLE_EQ(p.dial_level(), 1.0);
  EXPECT_NE(p.status().note.find("over the limit"), std::string::npos) << p.status().note;
  EXPECT_EQ(p.decide(snap(t, 3, 7, 0, 0, 7)).calls, 3);  // power mode
  // Enough good calls bring the day's rate under the limit: it climbs again.
  for (int i = 0; i < 20; ++i) p.on_call_ended({}, ended(Outcome::kConnected, t));
  t += seconds(15);
  p.decide(snap(t, 10, 0, 0, 0, 0));
  t += seconds(15);
  p.decide(snap(t, 10, 0, 0, 0, 0));
  EXPECT_GT(p.dial_level(), 1.0);
}

TEST(VicidialAdaptPacerTest, TheHardLimitWaitsForFiftyCallsToday) {
  VicidialAdaptPacer p(adapt(0.03));
  p.on_ledger(ledger("2026-01-06", 0, 0));
  WallTime t = kT0;
  p.decide(snap(t, 10, 0, 0, 0, 0));
  for (int i = 0; i < 10; ++i) p.on_call_placed(t);
  p.on_call_ended({}, ended(Outcome::kAbandoned, t));  // 100% of one answered
  t += seconds(15);
  p.decide(snap(t, 10, 0, 0, 0, 0));
  EXPECT_DOUBLE_EQ(p.dial_level(), 2.0);
}

TEST(VicidialAdaptPacerTest, TheDayStartsOverWhenTheLedgersDayTurns) {
  VicidialAdaptPacer p(adapt(0.03));
  p.on_ledger(ledger("2026-01-06", 100, 10));  // a bad day
  WallTime t = kT0;
  p.decide(snap(t, 10, 0, 0, 0, 0));
  t += seconds(15);
  p.decide(snap(t, 10, 0, 0, 0, 0));
  EXPECT_DOUBLE_EQ(p.dial_level(), 1.0);  // 10% today: held
  p.on_ledger(ledger("2026-01-07", 0, 0));
  EXPECT_DOUBLE_EQ(p.status().abandon_rate_today, 0.0);
  t += seconds(15);
  p.decide(snap(t, 10, 0, 0, 0, 0));
  EXPECT_DOUBLE_EQ(p.dial_level(), 2.0);
}

TEST(VicidialAdaptPacerTest, HalvesTheLevelWhenHalfTheLastMinutesCallsDrop) {
  VicidialAdaptPacer p(adapt(0.5));  // a day limit out of the way
  WallTime t = kT0;
  p.decide(snap(t, 10, 0, 0, 0, 0));
  for (int i = 0; i < 3; ++i) {
    t += seconds(15);
    p.decide(snap(t, 10, 0, 0, 0, 0));
  }
  ASSERT_DOUBLE_EQ(p.dial_level(), 3.0);
  // The next 15 s: nobody waiting, 30 calls placed and 16 dropped.
  p.decide(snap(t, 0, 10, 0, 20, 10));
  for (int i = 0; i < 30; ++i) p.on_call_placed(t + seconds(1));
  for (int i = 0; i < 16; ++i) p.on_call_ended({}, ended(Outcome::kAbandoned, t + seconds(2)));
  t += seconds(15);
  p.decide(snap(t, 0, 10, 0, 20, 10));
  EXPECT_DOUBLE_EQ(p.dial_level(), 1.5);
  EXPECT_NE(p.status().note.find("halved"), std::string::npos);
  // A minute later those calls are forgotten.
  p.decide(snap(t + seconds(75), 0, 10, 0, 20, 10));
  EXPECT_DOUBLE_EQ(p.dial_level(), 1.5);
}

TEST(VicidialAdaptPacerTest, BacksOffAbovePowerModeWhenThrottled) {
  VicidialAdaptPacer p(adapt());
  WallTime t = kT0;
  p.decide(snap(t, 10, 0, 0, 0, 0));
  for (int i = 0; i < 3; ++i) {
    t += seconds(15);
    p.decide(snap(t, 10, 0, 0, 0, 0));
  }
  ASSERT_EQ(p.decide(snap(t, 10, 0, 0, 0, 0)).calls, 30);
  p.on_throttled(t);
  EXPECT_EQ(p.decide(snap(t + milliseconds(10), 10, 0, 0, 0, 0)).calls, 10 + 10);
  EXPECT_EQ(p.status().throttled, 1);
}

}  // namespace
}  // namespace pd
