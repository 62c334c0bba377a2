// VICIdial's adaptive dial level (its ADAPT_HARD_LIMIT dial method), as the
// baseline the benchmarks measure the other pacers against. For simulation
// and benchmarks only: `run`/`serve` on Amazon Connect refuse it.
//
// The rule, in our words (from VICIdial's docs/PREDICTIVE.txt and the
// AST_VDadapt.pl script it describes):
//  - The dial level is lines per agent counted as "on a call or waiting for
//    one" (agents in after-call work are not counted). The dialer keeps
//    round(dial level * those agents) calls up, counting every outbound call
//    not yet hung up, ringing or with an agent. At 1.0 that is power mode.
//  - Every 15 s it looks at how many agents were waiting for a call, on
//    average, over those 15 s (sampled as time goes, not at one instant),
//    minus the calls waiting for an agent, and divides by the average number
//    of agents logged in. That share is the step: 20% of the agents idle on
//    average makes the dial level 20% higher; calls queueing lower it. (No
//    intensity modifier and no differential target: both VICIdial defaults
//    are 0.) Answered calls here never wait long (a person put through
//    after 2 s is an abandon), so the waiting calls term is the abandons,
//    which the limits below answer.
//  - The level is kept between 1.0 and the maximum adapt dial level
//    (max-lines-per-agent, 3.0 by default as in VICIdial).
//  - Two drop rules then override it: when more than 20 calls were placed
//    in the last minute and more than half of them were dropped, the level
//    is halved; and once more than 50 calls were placed today, a drop rate
//    today (drops over answered calls, since midnight) above the limit
//    (target-abandon-rate) sets the level straight to 1.0 (the "hard
//    limit"). It climbs again by the first rule once the day's rate is back
//    under the limit.
// What it does not do, and why it is a baseline: it steers by the day's drop
// rate only (not TCPA's 30 days), reacts after drops happen rather than
// forecasting them, and its step ignores how long calls have run.
//
// Not thread-safe: it lives on its Engine's loop.
#pragma once

#include <deque>
#include <optional>
#include <string>

#include "engine/pacer.h"

namespace pd {

class VicidialAdaptPacer final : public Pacer {
 public:
  static constexpr std::chrono::milliseconds kAdjustEvery = std::chrono::seconds(15);
  // The daily hard limit applies only after this many calls today (VICIdial's
  // guard against a rate from a handful of calls).
  static constexpr int64_t kCallsBeforeLimit = 50;

  explicit VicidialAdaptPacer(const PacingConfig& config);
  void on_ledger(const AbandonRates& ledger) override;
  void on_agent_state(const ContactEvent&, AgentState) override {}
  void on_call_placed(WallTime at) override;
  void on_call_connected(const PacedCall&, const ContactEvent&) override { tally_.connected(); }
  void on_call_ended(const PacedCall& call, const ContactEvent& event) override;
  void on_throttled(WallTime at) override;
  PaceDecision decide(const PacerSnapshot& now) override;
  PacerStatus status() const override { return tally_.stamp(status_); }

  double dial_level() const { return dial_level_; }

 private:
  void sample(const PacerSnapshot& now);
  void adjust(WallTime now);
  void forget_before(WallTime t);

  PacingConfig config_;
  PacerStatus status_;
  AbandonTally tally_;
  ThrottleBackoff throttle_;
  double dial_level_ = 1.0;

  // The 15-second window: agent-milliseconds waiting and logged in.
  std::optional<PacerSnapshot> last_;  // the counts since last_->now
  double waiting_area_ = 0;
  double agents_area_ = 0;
  std::optional<WallTime> next_adjust_;

  // Since midnight (the ledger's day): calls placed.
  std::string today_;
  int64_t calls_today_ = 0;
  // The last minute: when calls were placed and when answered calls dropped.
  std::deque<WallTime> placed_;
  std::deque<WallTime> dropped_;
};

}  // namespace pd
