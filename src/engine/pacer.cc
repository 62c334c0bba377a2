#include "engine/pacer.h"

#include <algorithm>
#include <cmath>

#include "core/strings.h"
#include "engine/predictive_pacer.h"
#include "engine/vicidial_pacer.h"

namespace pd {

std::string_view to_string(PacingMode m) {
  switch (m) {
    case PacingMode::kPower:
      return "power";
    case PacingMode::kProgressive:
      return "progressive";
    case PacingMode::kPredictive:
      return "predictive";
    case PacingMode::kVicidialAdapt:
      return "vicidial-adapt";
  }
  return "power";
}

std::optional<PacingMode> parse_pacing_mode(std::string_view text) {
  for (PacingMode m : {PacingMode::kPower, PacingMode::kProgressive, PacingMode::kPredictive,
                       PacingMode::kVicidialAdapt}) {
    if (text == to_string(m)) return m;
  }
  return std::nullopt;
}

absl::StatusOr<PacingConfig> PacingConfig::from(const CampaignConfig& config) {
  PacingConfig p;
  auto mode = parse_pacing_mode(config.pacing);
  if (!mode) {
    return absl::InvalidArgumentError(
        cat("invalid value '", config.pacing, "' for pacing: expected one of ", kPacingModes));
  }
  p.mode = *mode;
  p.lines_per_agent = config.lines_per_agent;
  p.max_lines_per_agent = config.max_lines_per_agent;
  p.max_abandon_rate = config.max_abandon_rate;
  p.target_abandon_rate = config.target_abandon_rate;
  if (p.target_abandon_rate > p.max_abandon_rate) {
    return absl::InvalidArgumentError(
        cat("target-abandon-rate ", format_rate(p.target_abandon_rate),
            " is above max-abandon-rate ", format_rate(p.max_abandon_rate),
            ": the pacer steers below the cap, so set target-abandon-rate lower (or raise "
            "max-abandon-rate where the law allows)"));
  }
  if (p.lines_per_agent > p.max_lines_per_agent) {
    return absl::InvalidArgumentError(
        cat("lines-per-agent ", p.lines_per_agent, " is above max-lines-per-agent ",
            p.max_lines_per_agent));
  }
  return p;
}

void AbandonTally::reset(const AbandonRates& ledger) {
  ledger_ = ledger;
  answered_ = 0;
  abandoned_ = 0;
}

void AbandonTally::ended(const PacedCall& call, Outcome outcome) {
  const bool answered = outcome == Outcome::kConnected || outcome == Outcome::kAbandoned;
  if (answered && !call.connected_at) ++answered_;
  if (outcome == Outcome::kAbandoned) ++abandoned_;
}

double AbandonTally::rate_today() const {
  const int64_t a = answered_today();
  return a > 0 ? static_cast<double>(abandoned_today()) / static_cast<double>(a) : 0.0;
}

PacerStatus AbandonTally::stamp(PacerStatus status) const {
  status.abandon_rate_today = rate_today();
  status.abandon_rate_30d = rate_30d();
  return status;
}

double AbandonTally::rate_30d() const {
  const int64_t a = answered_30d();
  return a > 0 ? static_cast<double>(abandoned_30d()) / static_cast<double>(a) : 0.0;
}

PowerPacer::PowerPacer(const PacingConfig& config) {
  status_.mode = PacingMode::kPower;
  status_.target_abandon_rate = config.target_abandon_rate;
}

void PowerPacer::on_ledger(const AbandonRates& ledger) {
  tally_.reset(ledger);
}

void PowerPacer::on_call_ended(const PacedCall& call, const ContactEvent& event) {
  tally_.ended(call, event.outcome);
}

PaceDecision PowerPacer::decide(const PacerSnapshot& now) {
  status_.lines_per_agent = lines_per_agent(now, now.idle_agents());
  return {now.idle_agents(), std::nullopt};
}

void ThrottleBackoff::on_throttled(WallTime at) {
  // A throttle while the last one's hold is still running means the lower
  // level was still too fast: halve again. After a quiet hold, start over.
  factor_ = backing_off(at) ? factor_ / 2 : 0.5;
  if (factor_ < 1.0 / 64) factor_ = 0;
  until_ = at + kHold;
}

int ThrottleBackoff::apply(int calls, int power, WallTime now) {
  if (until_ && now >= *until_) {
    factor_ = 1.0;
    until_.reset();
  }
  if (!until_ || calls <= power) return calls;
  const int extra = calls - std::max(power, 0);
  return std::max(power, 0) + static_cast<int>(std::floor(extra * factor_));
}

int max_calls_in_flight(const PacingConfig& config, const PacerSnapshot& now) {
  // The epsilon keeps 1.5 * 2 from rounding down to 2 through
  // floating-point error.
  const int cap = static_cast<int>(std::floor(config.max_lines_per_agent * now.logged_in() + 1e-9));
  return std::max(cap, now.talking + std::max(now.agents_available, now.dialing));
}

double lines_per_agent(const PacerSnapshot& now, int more) {
  const int logged_in = now.logged_in();
  return logged_in > 0 ? static_cast<double>(now.dialing + now.talking + more) / logged_in : 0.0;
}

ProgressivePacer::ProgressivePacer(const PacingConfig& config) : config_(config) {
  status_.mode = PacingMode::kProgressive;
  status_.target_abandon_rate = config.target_abandon_rate;
}

void ProgressivePacer::on_ledger(const AbandonRates& ledger) {
  tally_.reset(ledger);
}

void ProgressivePacer::on_call_ended(const PacedCall& call, const ContactEvent& event) {
  tally_.ended(call, event.outcome);
}

void ProgressivePacer::on_throttled(WallTime at) {
  ++status_.throttled;
  throttle_.on_throttled(at);
  status_.note = "backing off: throttled";
}

PaceDecision ProgressivePacer::decide(const PacerSnapshot& now) {
  // Calls ringing are all meant for the free agents (those talking have
  // theirs), so the free agents' lines are the ringing calls.
  const int lines =
      static_cast<int>(std::floor(config_.lines_per_agent * now.agents_available + 1e-9));
  int calls = std::max(0, lines - now.dialing);
  calls = std::min(calls, std::max(0, max_calls_in_flight(config_, now) - now.dialing -
                                          now.talking));
  calls = throttle_.apply(calls, now.idle_agents(), now.now);
  PaceDecision d{calls, std::nullopt};
  if (throttle_.backing_off(now.now)) {
    // Look again when the full level may return, even if nothing happens.
    d.review_at = throttle_.until();
    status_.note = cat("backing off: throttled (placing ", throttle_.factor() * 100,
                       "% of the calls above power mode)");
  } else {
    status_.note.clear();
  }
  status_.lines_per_agent = lines_per_agent(now, calls);
  return d;
}

std::unique_ptr<Pacer> make_pacer(const PacingConfig& config) {
  // One case per mode (each line its owner's); a mode not built yet paces
  // as power mode (safe: never more calls than free agents).
  switch (config.mode) {
    case PacingMode::kProgressive:
      return std::make_unique<ProgressivePacer>(config);
    case PacingMode::kVicidialAdapt:
      return std::make_unique<VicidialAdaptPacer>(config);
    case PacingMode::kPredictive:
      return std::make_unique<PredictivePacer>(config);
    case PacingMode::kPower:
      break;
  }
  return std::make_unique<PowerPacer>(config);
}

}  // namespace pd
