#include "engine/vicidial_pacer.h"

#include <algorithm>
#include <cmath>

#include "core/strings.h"

namespace pd {
namespace {

constexpr std::chrono::milliseconds kMinute = std::chrono::minutes(1);

}  // namespace

VicidialAdaptPacer::VicidialAdaptPacer(const PacingConfig& config) : config_(config) {
  status_.mode = PacingMode::kVicidialAdapt;
  status_.target_abandon_rate = config.target_abandon_rate;
  status_.lines_per_agent = dial_level_;
}

void VicidialAdaptPacer::on_ledger(const AbandonRates& ledger) {
  tally_.reset(ledger);
  if (ledger.today != today_) {
    // Midnight passed (or the first reading): the day's counts start over.
    // Calls placed today by an earlier run are at least the calls answered.
    today_ = ledger.today;
    calls_today_ = ledger.answered_today;
  }
}

void VicidialAdaptPacer::on_call_placed(WallTime at) {
  ++calls_today_;
  placed_.push_back(at);
  forget_before(at - kMinute);
}

void VicidialAdaptPacer::on_call_ended(const PacedCall& call, const ContactEvent& event) {
  tally_.ended(call, event.outcome);
  if (event.outcome == Outcome::kAbandoned) dropped_.push_back(event.at);
}

void VicidialAdaptPacer::on_throttled(WallTime at) {
  ++status_.throttled;
  throttle_.on_throttled(at);
  status_.note = "backing off: throttled";
}

void VicidialAdaptPacer::forget_before(WallTime t) {
  while (!placed_.empty() && placed_.front() < t) placed_.pop_front();
  while (!dropped_.empty() && dropped_.front() < t) dropped_.pop_front();
}

void VicidialAdaptPacer::sample(const PacerSnapshot& now) {
  // The counts last seen held from then until now (every change of state
  // reaches decide(), and a review comes at least every 15 s).
  if (last_ && now.now > last_->now) {
    const double ms = static_cast<double>((now.now - last_->now).count());
    waiting_area_ += ms * last_->agents_available;
    agents_area_ += ms * last_->logged_in();
  }
  last_ = now;
}

void VicidialAdaptPacer::adjust(WallTime now) {
  double level = dial_level_;
  // The step: the share of logged-in agents left waiting, on average.
  if (agents_area_ > 0) level *= 1.0 + waiting_area_ / agents_area_;
  level = std::clamp(level, 1.0, std::max(1.0, config_.max_lines_per_agent));
  waiting_area_ = 0;
  agents_area_ = 0;

  forget_before(now - kMinute);
  std::string why;
  if (placed_.size() > 20 && dropped_.size() * 2 > placed_.size()) {
    level /= 2;
    why = "over half the last minute's calls dropped: dial level halved";
  }
  if (calls_today_ > kCallsBeforeLimit && tally_.rate_today() > config_.target_abandon_rate) {
    level = 1.0;
    why = cat("drop rate today ", format_rate(tally_.rate_today()), " is over the limit ",
              format_rate(config_.target_abandon_rate), ": dial level held at 1.0");
  }
  dial_level_ = std::max(1.0, level);
  status_.note = why;
}

PaceDecision VicidialAdaptPacer::decide(const PacerSnapshot& now) {
  sample(now);
  if (!next_adjust_) next_adjust_ = now.now + kAdjustEvery;
  if (now.now >= *next_adjust_) {
    adjust(now.now);
    next_adjust_ = now.now + kAdjustEvery;
  }
  // Agents on a call or waiting for one, times the level, less every call
  // still up (ringing or talking).
  const int counted = now.agents_available + now.agents_busy;
  const int goal = static_cast<int>(std::lround(dial_level_ * counted));
  int calls = std::max(0, goal - now.dialing - now.talking);
  calls = std::min(calls,
                   std::max(0, max_calls_in_flight(config_, now) - now.dialing - now.talking));
  calls = throttle_.apply(calls, now.idle_agents(), now.now);
  status_.lines_per_agent = dial_level_;
  if (throttle_.backing_off(now.now)) {
    status_.note = cat("backing off: throttled (placing ", throttle_.factor() * 100,
                       "% of the calls above power mode)");
  }
  // The level moves every 15 s whatever happens in between.
  return {calls, next_adjust_};
}

}  // namespace pd
