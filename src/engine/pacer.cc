#include "engine/pacer.h"

#include <algorithm>

#include "core/strings.h"
#include "engine/predictive_pacer.h"

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

void AbandonTally::add(Outcome outcome) {
  if (outcome == Outcome::kConnected || outcome == Outcome::kAbandoned) ++answered_;
  if (outcome == Outcome::kAbandoned) ++abandoned_;
}

double AbandonTally::rate_today() const {
  const int64_t a = answered_today();
  return a > 0 ? static_cast<double>(abandoned_today()) / static_cast<double>(a) : 0.0;
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
  status_.abandon_rate_today = tally_.rate_today();
  status_.abandon_rate_30d = tally_.rate_30d();
}

void PowerPacer::on_call_ended(const PacedCall&, const ContactEvent& event) {
  tally_.add(event.outcome);
  status_.abandon_rate_today = tally_.rate_today();
  status_.abandon_rate_30d = tally_.rate_30d();
}

PaceDecision PowerPacer::decide(const PacerSnapshot& now) {
  const int logged_in = now.logged_in();
  status_.lines_per_agent =
      logged_in > 0 ? static_cast<double>(now.dialing + now.talking) / logged_in : 0.0;
  return {now.idle_agents(), std::nullopt};
}

std::unique_ptr<Pacer> make_pacer(const PacingConfig& config) {
  // Until each mode lands, every other mode paces as power mode (safe: never
  // more calls than free agents).
  switch (config.mode) {
    case PacingMode::kPredictive:
      return std::make_unique<PredictivePacer>(config);
    default:
      return std::make_unique<PowerPacer>(config);
  }
}

}  // namespace pd
