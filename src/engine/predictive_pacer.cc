#include "engine/predictive_pacer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/strings.h"

namespace pd {
namespace {

double seconds_between(WallTime from, WallTime to) {
  return std::chrono::duration<double>(to - from).count();
}

int64_t second_of(WallTime t) {
  return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

int bin_of(double seconds, int bins) {
  if (!(seconds > 0)) return 0;
  return static_cast<int>(std::min<double>(seconds, bins - 1));
}

// Expected shortfall E[max(0, X)] of X ~ Normal(mu, sd^2): the expected
// answered calls finding no agent.
double expected_overflow(double mu, double sd) {
  if (sd <= 1e-9) return std::max(0.0, mu);
  const double t = mu / sd;
  const double pdf = std::exp(-0.5 * t * t) / std::sqrt(2 * std::numbers::pi);
  const double cdf = 0.5 * std::erfc(-t / std::numbers::sqrt2);
  return sd * pdf + mu * cdf;
}

}  // namespace

PredictivePacer::PredictivePacer(const PacingConfig& config)
    : PredictivePacer(config, Tuning{}) {}

PredictivePacer::PredictivePacer(const PacingConfig& config, Tuning tuning)
    : config_(config),
      tuning_(tuning),
      z_(tuning.z_start),
      talk_(kTalkBins, 0.0),
      wrap_(kWrapBins, 0.0),
      ring_answer_(kRingBins),
      busy_free_(kTalkBins),
      wrap_free_(kWrapBins) {
  status_.mode = PacingMode::kPredictive;
  status_.target_abandon_rate = config.target_abandon_rate;
  status_.warming_up = true;
}

bool PredictivePacer::warming_up() const {
  return answers_seen_ < kWarmAnswers || outcomes_seen_ < kWarmOutcomes ||
         talks_seen_ < kWarmTalks || wraps_seen_ < kWarmTalks;
}

void PredictivePacer::on_ledger(const AbandonRates& ledger) {
  tally_.reset(ledger);
}

// --- learning ----------------------------------------------------------------

void PredictivePacer::decay(WallTime now) {
  if (!decay_started_) {
    decay_started_ = true;
    decayed_at_ = now;
    return;
  }
  const double dt = seconds_between(decayed_at_, now);
  const auto forget = [&](double n) {
    return std::exp(-std::min(dt / tuning_.memory_seconds, n / tuning_.memory_outcomes));
  };
  const double ring = forget(static_cast<double>(outcomes_seen_ - outcomes_at_decay_));
  for (double& w : answered_at_) w *= ring;
  for (double& w : unanswered_end_) w *= ring;
  const double agent = forget(static_cast<double>(talks_seen_ - samples_at_decay_));
  for (double& w : talk_) w *= agent;
  for (double& w : wrap_) w *= agent;
  outcomes_at_decay_ = outcomes_seen_;
  samples_at_decay_ = talks_seen_;
  decayed_at_ = now;
}

void PredictivePacer::learn_answer(double seconds) {
  answered_at_[static_cast<size_t>(bin_of(seconds, kRingBins))] += 1;
  ++answers_seen_;
  ++outcomes_seen_;
  ring_dirty_ = true;
}

void PredictivePacer::learn_unanswered(double seconds) {
  unanswered_end_[static_cast<size_t>(bin_of(seconds, kRingBins))] += 1;
  ++outcomes_seen_;
  ring_dirty_ = true;
}

void PredictivePacer::on_agent_state(const ContactEvent& event, AgentState before) {
  auto [it, inserted] = agent_index_.try_emplace(event.agent_id, static_cast<uint32_t>(agents_.size()));
  if (inserted) agents_.emplace_back();
  Agent& a = agents_[it->second];
  // Durations are measured only over a state this pacer saw begin.
  if (!inserted && a.state == before) {
    const double d = seconds_between(a.since, event.at);
    if (before == AgentState::kBusy && event.agent_state != AgentState::kBusy) {
      talk_[static_cast<size_t>(bin_of(d, kTalkBins))] += 1;
      ++talks_seen_;
    } else if (before == AgentState::kAfterCallWork) {
      wrap_[static_cast<size_t>(bin_of(d, kWrapBins))] += 1;
      ++wraps_seen_;
    }
  }
  for (int k = 0; k < kHorizons; ++k) {
    const double c = (*a.free_by)[k];
    supply_[k] -= c;
    supply_var_[k] -= c * (1 - c);
  }
  a.state = event.agent_state;
  a.since = event.at;
  a.free_by = agent_curve(a, event.at);
  for (int k = 0; k < kHorizons; ++k) {
    const double c = (*a.free_by)[k];
    supply_[k] += c;
    supply_var_[k] += c * (1 - c);
  }
}

void PredictivePacer::on_call_placed(WallTime at) {
  const int64_t s = second_of(at);
  if (in_flight_.empty() || in_flight_.back().second < s) {
    Cohort c;
    c.second = s;
    c.answer_by = new_answer_;
    in_flight_.push_back(c);
  }
  Cohort& c = in_flight_.back();
  if (c.second != s) return;  // placed "before" a later cohort: clock skew, not followed
  ++c.count;
  ++known_in_flight_;
  add_curve(demand_, demand_var_, c.answer_by, 1);
}

void PredictivePacer::remove_in_flight(WallTime placed_at) {
  const int64_t s = second_of(placed_at);
  auto it = std::lower_bound(in_flight_.begin(), in_flight_.end(), s,
                             [](const Cohort& c, int64_t v) { return c.second < v; });
  if (it == in_flight_.end() || it->second != s || it->count == 0) return;
  --it->count;
  --known_in_flight_;
  add_curve(demand_, demand_var_, it->answer_by, -1);
  while (!in_flight_.empty() && in_flight_.front().count == 0) in_flight_.pop_front();
}

void PredictivePacer::on_call_connected(const PacedCall& call, const ContactEvent& event) {
  tally_.connected();
  remove_in_flight(call.placed_at);
  const WallTime answered =
      event.answered_at ? *event.answered_at : call.answered_at ? *call.answered_at : event.at;
  learn_answer(seconds_between(call.placed_at, answered));
}

void PredictivePacer::on_call_ended(const PacedCall& call, const ContactEvent& event) {
  tally_.ended(call, event.outcome);
  const bool answered =
      event.outcome == Outcome::kConnected || event.outcome == Outcome::kAbandoned;
  if (!call.connected_at) {
    remove_in_flight(call.placed_at);
    if (event.outcome == Outcome::kAbandoned) {
      // Hung up waiting: answered a patience ago, when the contact centre
      // does not say.
      const WallTime at = event.answered_at ? *event.answered_at
                          : call.answered_at ? *call.answered_at
                                             : event.at - kAbandonWindow;
      learn_answer(seconds_between(call.placed_at, at));
    } else {
      learn_unanswered(seconds_between(call.placed_at, event.at));
    }
  }
  // Steering: only outcomes of calls placed while the margin z was what
  // limited the dialling say something about z.
  if (answered && steering_) {
    const double hit = event.outcome == Outcome::kAbandoned ? 1.0 : 0.0;
    z_ = std::clamp(z_ + tuning_.z_gain * (hit - tuning_.steer_to * config_.target_abandon_rate), tuning_.z_min,
                    tuning_.z_max);
  }
}

void PredictivePacer::on_throttled(WallTime at) {
  ++status_.throttled;
  throttle_.on_throttled(at);
}

// --- forecasts ---------------------------------------------------------------

void PredictivePacer::rebuild_ring_tables() {
  ring_dirty_ = false;
  // alive[e]: weight of calls still ringing at e; ans_prefix[b]: answers
  // before b.
  std::array<double, kRingBins + 1> alive{}, ans_prefix{};
  for (int b = kRingBins - 1; b >= 0; --b) {
    alive[b] = alive[b + 1] + answered_at_[b] + unanswered_end_[b];
  }
  for (int b = 0; b < kRingBins; ++b) ans_prefix[b + 1] = ans_prefix[b] + answered_at_[b];
  for (int e = 0; e < kRingBins; ++e) {
    Curve& c = ring_answer_[e];
    for (int k = 0; k < kHorizons; ++k) {
      const int end = std::min(kRingBins, e + k * kHorizonStepSeconds);
      c[k] = alive[e] > 0 ? (ans_prefix[end] - ans_prefix[e]) / alive[e] : 0.0;
    }
  }
  new_answer_ = ring_answer_[0];
}

namespace {

// Kaplan-Meier: the probability mass of each whole-second bin from the
// durations seen to end (`ended`) and those still running (`running`, by
// elapsed bin: censored). Without the running ones the first minutes of a
// shift would teach that calls are short: only the short ones have ended.
// The mass past the last bin (still running then) is left out.
std::vector<double> kaplan_meier(const std::vector<double>& ended, const std::vector<double>& running) {
  const size_t n = ended.size();
  std::vector<double> at_risk(n + 1, 0.0), mass(n, 0.0);
  for (size_t b = n; b-- > 0;) at_risk[b] = at_risk[b + 1] + ended[b] + running[b];
  double survive = 1.0;
  for (size_t b = 0; b < n && survive > 1e-12; ++b) {
    if (at_risk[b] <= 0) break;
    const double hazard = ended[b] / at_risk[b];
    mass[b] = survive * hazard;
    survive -= mass[b];
  }
  return mass;
}

}  // namespace

void PredictivePacer::rebuild_agent_tables(WallTime now) {
  agent_samples_at_build_ = talks_seen_ + wraps_seen_;
  std::vector<double> talk_running(kTalkBins, 0.0), wrap_running(kWrapBins, 0.0);
  for (const Agent& a : agents_) {
    const double e = seconds_between(a.since, now);
    if (a.state == AgentState::kBusy) talk_running[static_cast<size_t>(bin_of(e, kTalkBins))] += 1;
    if (a.state == AgentState::kAfterCallWork) {
      wrap_running[static_cast<size_t>(bin_of(e, kWrapBins))] += 1;
    }
  }
  const std::vector<double> talk = kaplan_meier(talk_, talk_running);
  const std::vector<double> wrap = kaplan_meier(wrap_, wrap_running);
  // Mean talk + wrap-up (bin midpoints; the mass past the last bin, if any,
  // left out: the look-ahead budget errs short, not long).
  auto mean_of = [](const std::vector<double>& mass) {
    double m = 0, w = 0;
    for (size_t b = 0; b < mass.size(); ++b) {
      m += mass[b] * (static_cast<double>(b) + 0.5);
      w += mass[b];
    }
    return w > 0 ? m / w : 0.0;
  };
  mean_cycle_seconds_ = mean_of(talk) + mean_of(wrap);
  // Wrap-up: F(x) = P(W < x); half[n] = P(W < n + 0.5).
  std::vector<double> wrap_cdf(kWrapBins + 1, 0.0), wrap_half(kWrapBins, 0.0);
  for (int b = 0; b < kWrapBins; ++b) {
    wrap_cdf[b + 1] = wrap_cdf[b] + wrap[b];
    wrap_half[b] = wrap_cdf[b] + wrap[b] / 2;
  }
  const int window = static_cast<int>(kAbandonWindow.count() / 1000);
  auto wrap_below = [&](int x) { return x <= 0 ? 0.0 : wrap_cdf[std::min(x, kWrapBins)]; };
  for (int e = 0; e < kWrapBins; ++e) {
    const double alive = 1.0 - wrap_cdf[e];
    for (int k = 0; k < kHorizons; ++k) {
      const int h = k * kHorizonStepSeconds + window;
      wrap_free_[e][k] = alive > 1e-12 ? (wrap_below(e + h) - wrap_cdf[e]) / alive : 0.0;
    }
  }
  // Talk then wrap-up: P(T + W < e + h | T >= e), T in whole-second bins.
  std::vector<double> talk_tail(kTalkBins + 1, 0.0);
  double total = 0;
  for (double m : talk) total += m;
  talk_tail[kTalkBins] = 1.0 - total;  // still running past the last bin
  for (int b = kTalkBins - 1; b >= 0; --b) talk_tail[b] = talk_tail[b + 1] + talk[b];
  for (int e = 0; e < kTalkBins; ++e) {
    Curve& c = busy_free_[e];
    if (talk_tail[e] <= 1e-12) {
      c.fill(0.0);
      continue;
    }
    for (int k = 0; k < kHorizons; ++k) {
      const int h = k * kHorizonStepSeconds + window;
      double p = 0;
      for (int b = e; b < std::min(e + h, kTalkBins); ++b) {
        const int rest = e + h - b - 1;
        p += talk[b] * (rest < kWrapBins ? wrap_half[rest] : 1.0);
      }
      c[k] = std::min(1.0, p / talk_tail[e]);
    }
  }
}

const PredictivePacer::Curve* PredictivePacer::agent_curve(const Agent& a, WallTime now) const {
  if (agent_samples_at_build_ < 0) return &kNever;
  const double e = seconds_between(a.since, now);
  switch (a.state) {
    case AgentState::kBusy:
      return &busy_free_[static_cast<size_t>(bin_of(e, kTalkBins))];
    case AgentState::kAfterCallWork:
      return &wrap_free_[static_cast<size_t>(bin_of(e, kWrapBins))];
    case AgentState::kAvailable:  // counted as free now by the snapshot
    case AgentState::kOffline:
      return &kNever;
  }
  return &kNever;
}

PredictivePacer::Curve PredictivePacer::cohort_curve(int64_t second, WallTime now) const {
  const double e = seconds_between(WallTime{std::chrono::seconds(second)}, now);
  if (e >= kRingBins) return Curve{};
  return ring_answer_[static_cast<size_t>(bin_of(e, kRingBins))];
}

void PredictivePacer::add_curve(Curve& sum, Curve& var, const Curve& c, double n) const {
  for (int k = 0; k < kHorizons; ++k) {
    sum[k] += n * c[k];
    var[k] += n * c[k] * (1 - c[k]);
  }
}

void PredictivePacer::refresh(WallTime now) {
  decay(now);
  if (ring_dirty_) rebuild_ring_tables();
  const int64_t samples = talks_seen_ + wraps_seen_;
  if (agent_samples_at_build_ < 0 ||
      (samples - agent_samples_at_build_ >= 50 && now - agent_tables_built_ >= Millis{60000})) {
    rebuild_agent_tables(now);
    agent_tables_built_ = now;
  }
  supply_.fill(0);
  supply_var_.fill(0);
  demand_.fill(0);
  demand_var_.fill(0);
  for (Agent& a : agents_) {
    a.free_by = agent_curve(a, now);
    add_curve(supply_, supply_var_, *a.free_by, 1);
  }
  for (Cohort& c : in_flight_) {
    c.answer_by = cohort_curve(c.second, now);
    add_curve(demand_, demand_var_, c.answer_by, c.count);
  }
  refreshed_at_ = now;
  have_refreshed_ = true;
}

// --- deciding ----------------------------------------------------------------

PredictivePacer::Solution PredictivePacer::solve(const PacerSnapshot& now, int extra_new, int room,
                                                 double budget) const {
  const double free_now = now.agents_available;
  // Largest N with, at every look-ahead, answers + z sd <= agents free.
  double best = room;
  for (int k = 0; k < kHorizons; ++k) {
    const double p = new_answer_[k];
    const double q = p * (1 - p);
    const double c = demand_[k] + extra_new * p - (free_now + supply_[k]);
    const double v = std::max(1e-9, demand_var_[k] + supply_var_[k] + extra_new * q);
    // A look-ahead before any new call can be answered: new calls do not
    // change it (the governor weighs what is already in flight).
    if (p <= 1e-9 || q <= 1e-12) continue;
    // c + p x + z sqrt(v + q x) <= 0; with y = sqrt(v + q x):
    // (p/q) y^2 + z y + (c - p v / q) <= 0.
    const double qa = p / q, qb = z_, qc = c - p * v / q;
    const double disc = qb * qb - 4 * qa * qc;
    if (disc < 0) {
      best = 0;
      continue;
    }
    const double y = (-qb + std::sqrt(disc)) / (2 * qa);
    const double x = y > 0 ? (y * y - v) / q : -1;
    best = std::min(best, std::max(0.0, x));
    if (x < 0) best = 0;
  }
  Solution s;
  s.calls = static_cast<int>(std::floor(std::max(0.0, best)));
  // The governor: expected abandons of everything in flight within budget.
  auto overflow = [&](int n) {
    double worst = 0;
    for (int k = 0; k < kHorizons; ++k) {
      const double p = new_answer_[k];
      const double nn = extra_new + n;
      const double mu = demand_[k] + nn * p - (free_now + supply_[k]);
      const double sd = std::sqrt(std::max(0.0, demand_var_[k] + supply_var_[k] + nn * p * (1 - p)));
      worst = std::max(worst, expected_overflow(mu, sd));
    }
    return worst;
  };
  // E[max(0, X)] <= max(0, mu) + sd / sqrt(2 pi): with the budget above
  // that bound (a big team late in the day) the exact figure is not needed.
  double bound = 0;
  for (int k = 0; k < kHorizons; ++k) {
    const double p = new_answer_[k];
    const double nn = extra_new + s.calls;
    const double mu = demand_[k] + nn * p - (free_now + supply_[k]);
    const double var = demand_var_[k] + supply_var_[k] + nn * p * (1 - p);
    bound = std::max(bound, std::max(0.0, mu) + 0.4 * std::sqrt(std::max(0.0, var)));
  }
  if (bound <= budget) {
    s.expected_abandons = bound;
    return s;
  }
  s.expected_abandons = overflow(s.calls);
  if (s.expected_abandons > budget) {
    s.governed = true;
    int lo = 0, hi = s.calls;  // overflow(lo) <= budget < overflow(hi), if any lo fits
    if (overflow(0) > budget) {
      s.calls = 0;
      return s;
    }
    while (hi - lo > 1) {
      const int mid = lo + (hi - lo) / 2;
      (overflow(mid) <= budget ? lo : hi) = mid;
    }
    s.calls = lo;
    s.expected_abandons = overflow(lo);
  }
  return s;
}

PaceDecision PredictivePacer::decide(const PacerSnapshot& now) {
  const int logged_in = now.logged_in();
  const int in_flight = now.dialing + now.talking;
  const int power = now.idle_agents();
  status_.lines_per_agent = logged_in > 0 ? static_cast<double>(in_flight) / logged_in : 0.0;
  status_.warming_up = warming_up();
  steering_ = false;
  if (logged_in == 0) return {power, std::nullopt};
  if (status_.warming_up) {
    status_.note = cat("learning: dialling as power mode until ",
                       std::max<int64_t>(0, kWarmAnswers - answers_seen_), " more answered calls, ",
                       std::max<int64_t>(0, kWarmOutcomes - outcomes_seen_), " more outcomes");
    return {power, std::nullopt};
  }
  if (!have_refreshed_ || now.now - refreshed_at_ >= Millis{1000}) refresh(now.now);
  const int room = std::max(0, max_calls_in_flight(config_, now) - in_flight);
  const int extra_new = std::max(0, now.dialing - known_in_flight_);
  const double cap_rate =
      config_.target_abandon_rate +
      tuning_.governor_at * (config_.max_abandon_rate - config_.target_abandon_rate);
  // Today's budget at the governor's rate, with the answers of the next
  // look-ahead counted as earned: a day is judged at its end, and a running
  // rate ahead of budget by what those answers would earn back is no risk to
  // it (if the shift ends first, the day's rate ends above the governor's by
  // cap_rate x look-ahead / shift at most). Without it each day started as
  // power mode, agents idle, until it had earned an abandon, and the
  // governor cut in whenever a few abandons came close together. Over 30
  // days: a reserve of abandons short of max-abandon-rate, where the store
  // stops the campaign (with few calls answered yet, a single abandon would
  // cross it), nothing counted ahead.
  const double answers_ahead =
      mean_cycle_seconds_ > 0
          ? logged_in * tuning_.governor_lookahead_seconds / mean_cycle_seconds_
          : 0.0;
  // Counting ahead borrows against the day's end; only 30 days under the
  // governor's rate by as much can lend it (a new campaign's first day, its
  // 30 days, cannot: the store pauses a campaign over max-abandon-rate, and
  // early on the normal approximation is optimistic).
  // The 30-day headroom under max-abandon-rate keeps a reserve of abandons
  // the governor never spends: it weighs the expected abandons of what is in
  // flight, and the ones that come can be more (a few answers close
  // together), while crossing max-abandon-rate pauses the campaign. Bigger
  // teams keep more lines in flight, so more can come at once.
  const double reserve = std::max(
      tuning_.reserve_abandons, tuning_.reserve_per_sqrt_agent * std::sqrt(static_cast<double>(logged_in)));
  const double budget =
      std::min({cap_rate * (static_cast<double>(tally_.answered_today()) + answers_ahead) -
                    static_cast<double>(tally_.abandoned_today()),
                cap_rate * static_cast<double>(tally_.answered_30d()) -
                    static_cast<double>(tally_.abandoned_30d()),
                config_.max_abandon_rate * static_cast<double>(tally_.answered_30d()) -
                    static_cast<double>(tally_.abandoned_30d()) - reserve});
  const Solution s = solve(now, extra_new, room, tuning_.governor ? budget : 1e18);
  steering_ = !s.governed && s.calls < room;
  // The note changes with the regime, and the margin at most once a second.
  if (s.governed != note_governed_ || refreshed_at_ == now.now || status_.note.empty()) {
    note_governed_ = s.governed;
    status_.note = s.governed ? "pacing within the abandon budget earned today"
                              : fmt::format("dialling ahead (margin {:.2f} sd)", z_);
  }
  int calls = std::max(power, s.calls);
  if (throttle_.backing_off(now.now)) {
    calls = throttle_.apply(calls, power, now.now);
    status_.note = "backing off: the contact centre throttled a call";
  } else {
    calls = throttle_.apply(calls, power, now.now);  // ends a finished hold
  }
  return {calls, now.now + Millis{1000}};
}

}  // namespace pd
