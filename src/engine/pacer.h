// The pacing seam: how many calls to place at this moment. The Engine asks
// its Pacer in pump() and places that many (claiming customers durably
// first), and tells it everything it learns about agents and calls, in
// order, on the loop thread. Nothing else decides how many calls are in
// flight, so every mode gets the same compliance (the store's claim), the
// same crash safety and the same throttling backoff.
//
// Modes (`pacing` config key):
//   power          one call per free agent (the default; never more calls
//                  placed than agents available).
//   progressive    `lines-per-agent` calls per free agent.
//   predictive     dials ahead, from forecasts of when agents free up and how
//                  many calls are answered, holding the abandon rate at or
//                  below `target-abandon-rate` per day and over 30 days
//                  (engine/predictive_pacer.h).
//   vicidial-adapt VICIdial's adaptive dial level, the baseline the
//                  benchmarks compare against (simulation and benchmarks
//                  only; engine/vicidial_pacer.h).
//
// A Pacer is not thread-safe: it lives on its Engine's loop.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/config_keys.h"
#include "core/types.h"
#include "store/store.h"
#include "telephony/contact_center.h"

namespace pd {

enum class PacingMode { kPower, kProgressive, kPredictive, kVicidialAdapt };
inline constexpr std::string_view kPacingModes = "power|progressive|predictive|vicidial-adapt";
std::string_view to_string(PacingMode m);
std::optional<PacingMode> parse_pacing_mode(std::string_view text);

struct PacingConfig {
  PacingMode mode = PacingMode::kPower;
  // progressive: calls per free agent. Over-dialling modes never exceed
  // max_lines_per_agent calls in flight per logged-in agent.
  double lines_per_agent = 1.5;
  double max_lines_per_agent = 3.0;
  // predictive: the abandon rate it steers to, per day and over 30 days;
  // never above max_abandon_rate (the compliance cap the claim enforces).
  double target_abandon_rate = 0.025;
  double max_abandon_rate = 0.03;

  // From the campaign's configuration. kInvalidArgument naming the keys when
  // they contradict (target-abandon-rate above max-abandon-rate).
  static absl::StatusOr<PacingConfig> from(const CampaignConfig& config);
};

// The engine's counts at a decision moment.
struct PacerSnapshot {
  WallTime now{};
  int agents_available = 0;  // Available, including those a ringing call is meant for
  int agents_busy = 0;       // on a call
  int agents_after_call_work = 0;
  int dialing = 0;  // placed, not yet put through to an agent or ended
  int talking = 0;  // put through to an agent
  int logged_in() const { return agents_available + agents_busy + agents_after_call_work; }
  // Power mode's answer: free agents with no call placed for them.
  int idle_agents() const { return agents_available > dialing ? agents_available - dialing : 0; }
};

struct PaceDecision {
  int calls = 0;  // place this many new calls now (>= 0)
  // Ask again at this moment even if nothing happens before (a forecast
  // moves with time: an agent's call runs long). nullopt: only on events.
  std::optional<WallTime> review_at;
};

// What the pacer shows operators (status, the API, /metrics, the dashboard).
struct PacerStatus {
  PacingMode mode = PacingMode::kPower;
  // Calls in flight (dialing + talking) per logged-in agent, as the pacer
  // currently aims for; 1.0 means power mode's level.
  double lines_per_agent = 1.0;
  // predictive: still learning (dials as power mode until it has seen enough
  // outcomes); `note` says how many more it needs.
  bool warming_up = false;
  // Abandon rates the pacer steers by (the ledger's, plus its own count
  // since the ledger was read).
  double abandon_rate_today = 0;
  double abandon_rate_30d = 0;
  double target_abandon_rate = 0;
  int64_t throttled = 0;  // contact-centre throttles seen (each backs off)
  std::string note;       // one line for humans, e.g. "backing off: throttled"
};

// A call's facts, as the engine tells them.
struct PacedCall {
  WallTime placed_at{};                  // the dial request's success
  std::optional<WallTime> answered_at;   // the callee picked up (when known)
  std::optional<WallTime> connected_at;  // put through to an agent
};

// The abandon ledger as a pacer sees it: the store's reading plus the calls
// answered and abandoned since, counted as the store counts them: an answer
// when the call reaches an agent (or, never having reached one, when it
// ends connected or abandoned), an abandon when it ends.
class AbandonTally {
 public:
  void reset(const AbandonRates& ledger);
  // A call was put through to an agent.
  void connected() { ++answered_; }
  // A call ended (`call.connected_at`: it was counted by connected()).
  void ended(const PacedCall& call, Outcome outcome);
  int64_t answered_today() const { return ledger_.answered_today + answered_; }
  int64_t abandoned_today() const { return ledger_.abandoned_today + abandoned_; }
  int64_t answered_30d() const { return ledger_.answered_30d + answered_; }
  int64_t abandoned_30d() const { return ledger_.abandoned_30d + abandoned_; }
  double rate_today() const;  // 0 with nothing answered
  double rate_30d() const;
  // `status` with its abandon rates read from this tally (kept nowhere else,
  // so they are never stale).
  PacerStatus stamp(PacerStatus status) const;

 private:
  AbandonRates ledger_;
  int64_t answered_ = 0;  // since the reading
  int64_t abandoned_ = 0;
};

class Pacer {
 public:
  virtual ~Pacer() = default;

  // The abandon ledger as the store has it (at start, and again from time to
  // time; each reading replaces the last).
  virtual void on_ledger(const AbandonRates& ledger) = 0;
  // An agent moved from `before` to `event.agent_state`.
  virtual void on_agent_state(const ContactEvent& event, AgentState before) = 0;
  // A call was placed (the contact centre accepted it).
  virtual void on_call_placed(WallTime at) = 0;
  // A placed call was put through to an agent.
  virtual void on_call_connected(const PacedCall& call, const ContactEvent& event) = 0;
  // A placed call ended (`event.outcome`); `call.connected_at` set if it
  // reached an agent.
  virtual void on_call_ended(const PacedCall& call, const ContactEvent& event) = 0;
  // The contact centre throttled a dial request: slow down.
  virtual void on_throttled(WallTime at) = 0;

  virtual PaceDecision decide(const PacerSnapshot& now) = 0;
  virtual PacerStatus status() const = 0;
};

// The pacer for `config.mode`.
std::unique_ptr<Pacer> make_pacer(const PacingConfig& config);

// How an over-dialling pacer slows down when the contact centre throttles
// dial requests (Connect's StartOutboundVoiceContact TooManyRequests). The
// engine already retries each throttled request with its own backoff; this
// is the campaign-wide answer: every throttle within kHold of the last
// halves the calls placed *above power mode's level* (never the one call per
// free agent power mode would place, so a throttled campaign still dials as
// fast as power mode), and kHold after the last throttle the full level
// returns. Dialling ahead into a throttle only queues more retries.
class ThrottleBackoff {
 public:
  static constexpr std::chrono::milliseconds kHold = std::chrono::seconds(60);

  void on_throttled(WallTime at);
  // `calls` a pacer would place now, `power` of them power mode's share:
  // what to place while backing off.
  int apply(int calls, int power, WallTime now);
  bool backing_off(WallTime now) const { return until_ && now < *until_; }
  // When the full level returns (for review_at); nullopt when not backing off.
  std::optional<WallTime> until() const { return until_; }
  double factor() const { return factor_; }  // share of the extra calls kept

 private:
  double factor_ = 1.0;
  std::optional<WallTime> until_;
};

// Progressive mode: `lines-per-agent` calls in flight for each free
// (Available) agent, i.e. floor(lines_per_agent * available) ringing calls,
// and never more than max_lines_per_agent calls (ringing and talking) per
// logged-in agent. A fixed ratio with no forecast: whenever more of the
// ringing calls are answered at once than agents are free, the extra are
// abandoned, and it ignores agents about to free up. No abandon target
// (the compliance cap still stops the campaign). lines_per_agent 1.0 is
// power mode.
class ProgressivePacer final : public Pacer {
 public:
  explicit ProgressivePacer(const PacingConfig& config);
  void on_ledger(const AbandonRates& ledger) override;
  void on_agent_state(const ContactEvent&, AgentState) override {}
  void on_call_placed(WallTime) override {}
  void on_call_connected(const PacedCall&, const ContactEvent&) override { tally_.connected(); }
  void on_call_ended(const PacedCall& call, const ContactEvent& event) override;
  void on_throttled(WallTime at) override;
  PaceDecision decide(const PacerSnapshot& now) override;
  PacerStatus status() const override { return tally_.stamp(status_); }

 private:
  PacingConfig config_;
  PacerStatus status_;
  AbandonTally tally_;
  ThrottleBackoff throttle_;
};

// The most calls (ringing + talking) an over-dialling pacer may have in
// flight: max_lines_per_agent per logged-in agent, rounded down, but never
// fewer than power mode's (one per free agent plus the calls agents talk on).
int max_calls_in_flight(const PacingConfig& config, const PacerSnapshot& now);
// Calls in flight per logged-in agent, with `more` calls about to be placed
// (0 with nobody logged in).
double lines_per_agent(const PacerSnapshot& now, int more);

// Power mode: one call per free agent, nothing ahead.
class PowerPacer final : public Pacer {
 public:
  explicit PowerPacer(const PacingConfig& config);
  void on_ledger(const AbandonRates& ledger) override;
  void on_agent_state(const ContactEvent&, AgentState) override {}
  void on_call_placed(WallTime) override {}
  void on_call_connected(const PacedCall&, const ContactEvent&) override { tally_.connected(); }
  void on_call_ended(const PacedCall& call, const ContactEvent& event) override;
  // Power mode places nothing ahead to back off from: the engine's
  // per-call retry backoff is all there is.
  void on_throttled(WallTime) override { ++status_.throttled; }
  PaceDecision decide(const PacerSnapshot& now) override;
  PacerStatus status() const override { return tally_.stamp(status_); }

 private:
  PacerStatus status_;
  AbandonTally tally_;
};

}  // namespace pd
