// The pacing lab: any Pacer against the real Simulator on a VirtualLoop,
// without the store, day after day, with the abandon ledger the store would
// keep. It paces as the Engine does: the same counts from the same events
// (agents available / busy / in after-call work; calls dialing / talking),
// decide() after every event and again after its calls are placed, the
// decided calls placed at once, review_at honoured, the ledger handed to
// on_ledger at each day's start. Fresh customers: each number is dialled
// once. The campaign stops dialling at the shift's end (the agents finish
// their calls and log off), so every pacer works the same 8-hour day.
//
//   pacing_lab --table                      the benchmark table of bench/README.md
//   pacing_lab --agents 20 --answer 0.2 --pacers predictive --seeds 3 --runs
//
// Threads: one run per worker (--jobs), each with its own loop and simulator.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/event_loop.h"
#include "engine/pacer.h"
#include "engine/predictive_pacer.h"
#include "telephony/simulator/simulator.h"

namespace pd {
namespace {

struct Scenario {
  int agents = 20;
  double answer_rate = 0.2;
  int days = 1;
};

struct LabOptions {
  double talk_seconds = 120;
  double acw_seconds = 15;
  double shift_hours = 8;
  double busy_rate = 0.05;
  double target = 0.025;
  double max_rate = 0.03;
  double lines_per_agent = 1.5;
  double max_lines = 3.0;
  PredictivePacer::Tuning tuning;
  // The simulator's realism (simreal): off by default, as in the table.
  std::vector<AnswerRatePoint> answer_drift;
  double machine_rate = 0;
  double amd_delay_seconds = 0;
  double patience_seconds = 2;
  double login_spread_seconds = 0;
  double break_every_seconds = 0;
  double break_length_seconds = 0;
};

Micros secs(double s) { return Micros{static_cast<int64_t>(s * 1e6)}; }

struct DayResult {
  int64_t answered = 0;  // connected + abandoned, as the ledger counts them
  int64_t abandoned = 0;
  int64_t dials = 0;
  int64_t connects = 0;  // put through to an agent
  double talk_seconds = 0;
  double logged_in_seconds = 0;
  double warm_up_seconds = -1;  // until the pacer stopped warming up (-1: it did not)
  // The running 30-day rate (earlier days and this one so far, as the
  // ledger counts) reached max-abandon-rate at some moment: the store would
  // have paused the campaign there. The lab dials on, to compare the rest.
  bool would_pause = false;
  // --diag: by the regime of the pacer's last decision (kRegimes), the time
  // spent in it, the agent-seconds agents sat available in it, and the
  // answered and abandoned calls whose outcome came in it.
  std::array<double, 4> regime_seconds{}, regime_idle{};
  std::array<int64_t, 4> regime_answered{}, regime_abandoned{};
};

// The pacer's regime at its last decision, for --diag.
constexpr std::array<const char*, 4> kRegimes = {"warm-up", "governed", "capped", "margin"};

struct RunResult {
  std::string pacer;
  Scenario scenario;
  uint64_t seed = 0;
  std::vector<DayResult> days;
  double wall_seconds = 0;

  double talk_min_per_agent_hour() const {
    double talk = 0, logged = 0;
    for (const DayResult& d : days) {
      talk += d.talk_seconds;
      logged += d.logged_in_seconds;
    }
    return logged > 0 ? (talk / 60) / (logged / 3600) : 0;
  }
  double rate_all() const {
    int64_t a = 0, b = 0;
    for (const DayResult& d : days) {
      a += d.answered;
      b += d.abandoned;
    }
    return a > 0 ? static_cast<double>(b) / static_cast<double>(a) : 0;
  }
  double dials_per_connect() const {
    int64_t a = 0, c = 0;
    for (const DayResult& d : days) {
      a += d.dials;
      c += d.connects;
    }
    return c > 0 ? static_cast<double>(a) / static_cast<double>(c) : 0;
  }
};

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

PacingConfig lab_config(const std::string& name, const LabOptions& o) {
  PacingConfig config;
  config.mode = *parse_pacing_mode(name);
  config.lines_per_agent = o.lines_per_agent;
  config.max_lines_per_agent = o.max_lines;
  config.target_abandon_rate = o.target;
  config.max_abandon_rate = o.max_rate;
  return config;
}

std::unique_ptr<Pacer> lab_pacer(const std::string& name, const LabOptions& o) {
  const PacingConfig config = lab_config(name, o);
  if (config.mode == PacingMode::kPredictive) {
    return std::make_unique<PredictivePacer>(config, o.tuning);
  }
  return make_pacer(config);
}

// One day of one campaign: the Engine's pacing loop, without the store.
class LabDay {
 public:
  LabDay(Pacer& pacer, const PacingConfig& config, const SimConfig& sim, WallTime start, int day,
         Micros shift, const AbandonRates& ledger)
      : pacer_(pacer),
        loop_(start),
        sim_(loop_, sim),
        day_(day),
        shift_(shift),
        config_(config),
        ledger_(ledger) {}

  DayResult run() {
    loop_.schedule_after(shift_, [this] {
      open_ = false;  // the day's calling ends; calls in flight finish
      if (review_timer_) loop_.cancel(*review_timer_);
      review_timer_.reset();
    });
    sim_.start([this](const ContactEvent& e) { on_event(e); });
    loop_.run();
    const SimStats s = sim_.stats();
    DayResult r;
    r.answered = s.outcome(Outcome::kConnected) + s.outcome(Outcome::kAbandoned);
    r.abandoned = s.outcome(Outcome::kAbandoned);
    r.dials = s.calls_placed;
    r.connects = s.connected;
    r.talk_seconds = std::chrono::duration<double>(s.busy_time).count();
    r.logged_in_seconds = std::chrono::duration<double>(s.logged_in_time).count();
    r.warm_up_seconds = warm_up_seconds_;
    r.would_pause = would_pause_;
    r.regime_seconds = diag_.regime_seconds;
    r.regime_idle = diag_.regime_idle;
    r.regime_answered = diag_.regime_answered;
    r.regime_abandoned = diag_.regime_abandoned;
    return r;
  }

 private:
  PacerSnapshot snapshot() const {
    PacerSnapshot p;
    p.now = loop_.wall_now();
    p.agents_available = available_;
    p.agents_busy = busy_;
    p.agents_after_call_work = acw_;
    p.dialing = dialing_;
    p.talking = talking_;
    return p;
  }

  void count(AgentState s, int d) {
    switch (s) {
      case AgentState::kAvailable:
        available_ += d;
        break;
      case AgentState::kBusy:
        busy_ += d;
        break;
      case AgentState::kAfterCallWork:
        acw_ += d;
        break;
      case AgentState::kOffline:
        break;
    }
  }

  void on_agent(const ContactEvent& e) {
    auto [it, inserted] = agents_.try_emplace(e.agent_id, AgentState::kOffline);
    const AgentState before = it->second;
    if (before == e.agent_state) return;
    it->second = e.agent_state;
    count(before, -1);
    count(e.agent_state, +1);
    pacer_.on_agent_state(e, before);
  }

  // One answered call into the running 30-day tally, as the store's ledger
  // counts it (at the connect, or at the end of one never put through), and
  // the store's rule for pausing a campaign on it.
  void ledger(bool abandoned) {
    ++ledger_.answered_30d;
    if (abandoned) ++ledger_.abandoned_30d;
    if (ledger_.over_max()) would_pause_ = true;
  }

  void tick() {
    const WallTime t = loop_.wall_now();
    if (open_ && ticked_) {
      const double dt = std::chrono::duration<double>(t - ticked_at_).count();
      diag_.regime_seconds[regime_] += dt;
      diag_.regime_idle[regime_] += dt * available_;
    }
    ticked_ = true;
    ticked_at_ = t;
  }

  void on_event(const ContactEvent& e) {
    tick();
    if (e.kind == ContactEvent::Kind::kAgentState) {
      on_agent(e);
    } else {
      auto it = calls_.find(e.contact_id);
      if (it == calls_.end()) return;  // can't happen: the id arrives first
      PacedCall& call = it->second;
      if (e.kind == ContactEvent::Kind::kCallConnected) {
        if (call.connected_at) return;
        --dialing_;
        ++talking_;
        if (!e.agent_id.empty()) {  // as the Engine: the agent is busy from now on
          ContactEvent busy;
          busy.kind = ContactEvent::Kind::kAgentState;
          busy.at = e.at;
          busy.agent_id = e.agent_id;
          busy.agent_state = AgentState::kBusy;
          on_agent(busy);
        }
        call.connected_at = e.at;
        if (e.answered_at) call.answered_at = e.answered_at;
        ledger(false);
        pacer_.on_call_connected(call, e);
      } else {
        --(call.connected_at ? talking_ : dialing_);
        if (e.answered_at && !call.answered_at) call.answered_at = e.answered_at;
        if (e.outcome == Outcome::kConnected || e.outcome == Outcome::kAbandoned) {
          ++diag_.regime_answered[regime_];
          if (e.outcome == Outcome::kAbandoned) ++diag_.regime_abandoned[regime_];
          if (!call.connected_at) ledger(e.outcome == Outcome::kAbandoned);
        }
        pacer_.on_call_ended(call, e);
        calls_.erase(it);
      }
    }
    pump();
  }

  void schedule_review(std::optional<WallTime> at) {
    if (at && review_at_ && *review_at_ <= *at && review_timer_) return;
    if (review_timer_) loop_.cancel(*review_timer_);
    review_timer_.reset();
    review_at_.reset();
    if (!at || !open_) return;
    const auto delay =
        std::max(Micros{0}, std::chrono::duration_cast<Micros>(*at - loop_.wall_now()));
    review_at_ = at;
    review_timer_ = loop_.schedule_after(delay, [this] {
      tick();
      review_timer_.reset();
      review_at_.reset();
      pump();
    });
  }

  void pump() {
    // The Engine pumps again once its claim is placed; the pacer then sees
    // its own calls dialing.
    for (int round = 0; round < 4 && open_; ++round) {
      const PaceDecision d = pacer_.decide(snapshot());
      if (warm_up_seconds_ < 0) {
        // From the first decision (the first agent's login) to the first
        // made with forecasts.
        const double t = std::chrono::duration<double>(loop_.now() - MonoTime{}).count();
        if (first_decision_seconds_ < 0) first_decision_seconds_ = t;
        if (!pacer_.status().warming_up) warm_up_seconds_ = t - first_decision_seconds_;
      }
      schedule_review(d.review_at);
      {
        const PacerStatus st = pacer_.status();
        const PacerSnapshot now = snapshot();
        const bool capped =
            now.dialing + now.talking + std::max(0, d.calls) >= max_calls_in_flight(config_, now);
        regime_ = st.warming_up                          ? 0
                  : st.note.starts_with("pacing within") ? 1
                  : capped                               ? 2
                                                         : 3;
      }
      if (d.calls <= 0) return;
      for (int i = 0; i < d.calls; ++i) place();
    }
  }

  void place() {
    ++dialing_;
    const uint64_t n = next_call_++;
    CallRequest r;
    r.phone = fmt::format("+1202{:07d}", n % 10'000'000);
    r.client_token = fmt::format("d{}-{}", day_, n);
    sim_.start_call(r, [this](absl::StatusOr<std::string> id) {
      if (!id.ok()) {  // throttled: not placed (the lab does not retry)
        --dialing_;
        pacer_.on_throttled(loop_.wall_now());
        pump();
        return;
      }
      PacedCall call;
      call.placed_at = loop_.wall_now();
      calls_.emplace(*id, call);
      pacer_.on_call_placed(call.placed_at);
    });
  }

  Pacer& pacer_;
  VirtualLoop loop_;
  Simulator sim_;
  const int day_;
  const Micros shift_;
  const PacingConfig config_;  // for --diag's cap
  bool open_ = true;
  std::unordered_map<std::string, AgentState> agents_;
  std::unordered_map<std::string, PacedCall> calls_;
  int available_ = 0, busy_ = 0, acw_ = 0, dialing_ = 0, talking_ = 0;
  uint64_t next_call_ = 0;
  double warm_up_seconds_ = -1;
  double first_decision_seconds_ = -1;
  DayResult diag_;
  size_t regime_ = 0;
  bool ticked_ = false;
  WallTime ticked_at_{};
  std::optional<TimerId> review_timer_;
  std::optional<WallTime> review_at_;
  AbandonRates ledger_;  // the 30 days so far
  bool would_pause_ = false;
};

RunResult run_one(const std::string& pacer_name, const Scenario& sc, uint64_t seed,
                  const LabOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  RunResult result;
  result.pacer = pacer_name;
  result.scenario = sc;
  result.seed = seed;
  std::unique_ptr<Pacer> pacer = lab_pacer(pacer_name, o);
  const Micros shift{static_cast<int64_t>(o.shift_hours * 3600e6)};
  // 09:00 New York on a Tuesday, as `simulate` starts.
  const WallTime first{std::chrono::milliseconds{1'767'708'000'000}};
  for (int d = 0; d < sc.days; ++d) {
    AbandonRates ledger;
    ledger.today = fmt::format("day-{}", d + 1);
    ledger.max_rate = o.max_rate;
    for (int back = std::max(0, d - 29); back < d; ++back) {
      ledger.answered_30d += result.days[back].answered;
      ledger.abandoned_30d += result.days[back].abandoned;
    }
    pacer->on_ledger(ledger);
    SimConfig sim;
    sim.seed = mix64(seed * 1'000'003 + static_cast<uint64_t>(d));
    sim.agents = sc.agents;
    sim.shift = shift;
    sim.talk_mean = Micros{static_cast<int64_t>(o.talk_seconds * 1e6)};
    sim.acw_mean = Micros{static_cast<int64_t>(o.acw_seconds * 1e6)};
    sim.answer_rate = sc.answer_rate;
    sim.busy_rate = o.busy_rate;
    sim.answer_drift = o.answer_drift;
    sim.machine_rate = o.machine_rate;
    sim.amd_delay = secs(o.amd_delay_seconds);
    sim.patience = secs(o.patience_seconds);
    sim.login_spread = secs(o.login_spread_seconds);
    sim.break_every = secs(o.break_every_seconds);
    sim.break_length = secs(o.break_length_seconds);
    if (absl::Status valid = sim.validate(); !valid.ok()) {
      std::fprintf(stderr, "pacing_lab: %s\n", std::string(valid.message()).c_str());
      std::exit(2);
    }
    // Calling ends when the last agent's shift does.
    LabDay day(*pacer, lab_config(pacer_name, o), sim, first + std::chrono::hours(24) * d, d, shift + sim.login_spread, ledger);
    result.days.push_back(day.run());
  }
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const size_t end = comma == std::string::npos ? s.size() : comma;
    if (end > start) out.push_back(s.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

int default_days(int agents) {
  if (agents <= 20) return 30;
  if (agents <= 100) return 5;
  return 1;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "pacing_lab: %s\n"
               "usage: pacing_lab [--table] [--agents 5,20,100,1000] [--answer 0.1,0.2,0.35]\n"
               "  [--days N (default 30 for <= 20 agents, 5 for <= 100, else 1)] [--seeds 10]\n"
               "  [--pacers power,progressive,vicidial-adapt,predictive] [--jobs 2] [--runs] [--diag]\n"
               "  [--talk 120] [--acw 15] [--shift-hours 8] [--busy-rate 0.05]\n"
               "  [--target 0.025] [--lines-per-agent 1.5] [--max-lines 3]\n"
               "  realism (seconds): [--answer-drift 0h=0.25,4h=0.15,8h=0.30] [--machine-rate R]\n"
               "  [--amd-delay S] [--patience S] [--login-spread S] [--break-every S --break-length S]\n"
               "  [--z-start X] [--z-gain X] [--steer-to X] [--governor-at X] [--governor-lookahead S]\n"
               "  [--no-governor] [--memory-outcomes N] [--memory-seconds S]\n",
               why.c_str());
  std::exit(2);
}

double number(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') usage(fmt::format("{}: not a number: '{}'", flag, v));
  return d;
}

}  // namespace
}  // namespace pd

int main(int argc, char** argv) {
  using namespace pd;
  std::vector<int> agents = {5, 20, 100, 1000};
  std::vector<double> answers = {0.10, 0.20, 0.35};
  std::vector<std::string> pacers = {"power", "progressive", "vicidial-adapt", "predictive"};
  int seeds = 10;
  int jobs = 2;
  int days = 0;
  bool runs = false;
  bool diag = false;
  LabOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--table") {
      // the defaults are the table
    } else if (flag == "--agents") {
      agents.clear();
      for (const std::string& a : split(value())) agents.push_back(static_cast<int>(number(flag, a)));
    } else if (flag == "--answer") {
      answers.clear();
      for (const std::string& a : split(value())) answers.push_back(number(flag, a));
    } else if (flag == "--pacers") {
      pacers = split(value());
      for (const std::string& p : pacers) {
        if (!parse_pacing_mode(p)) usage(fmt::format("--pacers: unknown pacer '{}' (expected {})", p, kPacingModes));
      }
    } else if (flag == "--seeds") {
      seeds = static_cast<int>(number(flag, value()));
    } else if (flag == "--jobs") {
      jobs = std::max(1, static_cast<int>(number(flag, value())));
    } else if (flag == "--days") {
      days = static_cast<int>(number(flag, value()));
    } else if (flag == "--runs") {
      runs = true;
    } else if (flag == "--diag") {
      runs = diag = true;
    } else if (flag == "--talk") {
      o.talk_seconds = number(flag, value());
    } else if (flag == "--acw") {
      o.acw_seconds = number(flag, value());
    } else if (flag == "--shift-hours") {
      o.shift_hours = number(flag, value());
    } else if (flag == "--busy-rate") {
      o.busy_rate = number(flag, value());
    } else if (flag == "--target") {
      o.target = number(flag, value());
    } else if (flag == "--lines-per-agent") {
      o.lines_per_agent = number(flag, value());
    } else if (flag == "--max-lines") {
      o.max_lines = number(flag, value());
    } else if (flag == "--answer-drift") {
      auto drift = parse_answer_drift(value());
      if (!drift.ok()) usage(std::string(drift.status().message()));
      o.answer_drift = *drift;
    } else if (flag == "--machine-rate") {
      o.machine_rate = number(flag, value());
    } else if (flag == "--amd-delay") {
      o.amd_delay_seconds = number(flag, value());
    } else if (flag == "--patience") {
      o.patience_seconds = number(flag, value());
    } else if (flag == "--login-spread") {
      o.login_spread_seconds = number(flag, value());
    } else if (flag == "--break-every") {
      o.break_every_seconds = number(flag, value());
    } else if (flag == "--break-length") {
      o.break_length_seconds = number(flag, value());
    } else if (flag == "--z-start") {
      o.tuning.z_start = number(flag, value());
    } else if (flag == "--z-gain") {
      o.tuning.z_gain = number(flag, value());
    } else if (flag == "--steer-to") {
      o.tuning.steer_to = number(flag, value());
    } else if (flag == "--governor-at") {
      o.tuning.governor_at = number(flag, value());
    } else if (flag == "--governor-lookahead") {
      o.tuning.governor_lookahead_seconds = number(flag, value());
    } else if (flag == "--no-governor") {
      o.tuning.governor = false;
    } else if (flag == "--memory-outcomes") {
      o.tuning.memory_outcomes = number(flag, value());
    } else if (flag == "--memory-seconds") {
      o.tuning.memory_seconds = number(flag, value());
    } else {
      usage("unknown flag " + flag);
    }
  }

  struct Work {
    std::string pacer;
    Scenario sc;
    uint64_t seed;
    double cost;
  };
  std::vector<Work> work;
  for (int a : agents) {
    for (double ans : answers) {
      const Scenario sc{a, ans, days > 0 ? days : default_days(a)};
      for (const std::string& p : pacers) {
        for (int s = 1; s <= seeds; ++s) {
          work.push_back({p, sc, static_cast<uint64_t>(s),
                          static_cast<double>(a) * sc.days / std::max(0.05, ans)});
        }
      }
    }
  }
  // Longest first, so the workers finish together.
  std::stable_sort(work.begin(), work.end(), [](const Work& x, const Work& y) { return x.cost > y.cost; });
  std::vector<RunResult> results(work.size());
  std::atomic<size_t> next{0};
  std::mutex out;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int j = 0; j < jobs; ++j) {
    workers.emplace_back([&] {
      for (size_t i; (i = next++) < work.size();) {
        results[i] = run_one(work[i].pacer, work[i].sc, work[i].seed, o);
        if (runs) {
          const RunResult& r = results[i];
          double worst = 0;
          std::string rates;
          for (const DayResult& d : r.days) {
            const double rate = d.answered ? static_cast<double>(d.abandoned) / d.answered : 0;
            worst = std::max(worst, rate);
            rates += fmt::format("{}{:.2f}", rates.empty() ? "" : " ", 100 * rate);
          }
          std::lock_guard lock(out);
          std::printf("%s agents=%d answer=%.2f seed=%llu days=%d talk=%.2f abandon=%.2f%% "
                      "worst-day=%.2f%% dials/connect=%.2f warm-up=%.1fmin wall=%.1fs day-rates=[%s]\n",
                      r.pacer.c_str(), r.scenario.agents, r.scenario.answer_rate,
                      static_cast<unsigned long long>(r.seed), r.scenario.days,
                      r.talk_min_per_agent_hour(), 100 * r.rate_all(), 100 * worst,
                      r.dials_per_connect(), r.days.front().warm_up_seconds / 60, r.wall_seconds,
                      rates.c_str());
          if (diag) {
            // Per regime over the run: share of time, agents available on
            // average, abandon rate of the outcomes that came in it.
            std::string line;
            for (size_t g = 0; g < kRegimes.size(); ++g) {
              double t = 0, idle = 0, total = 0;
              int64_t ans = 0, ab = 0;
              for (const DayResult& d : r.days) {
                for (double x : d.regime_seconds) total += x;
                t += d.regime_seconds[g];
                idle += d.regime_idle[g];
                ans += d.regime_answered[g];
                ab += d.regime_abandoned[g];
              }
              line += fmt::format("  {}: {:.1f}% of time, {:.2f} available, {} answered, {:.2f}% abandoned\n",
                                  kRegimes[g], total > 0 ? 100 * t / total : 0, t > 0 ? idle / t : 0, ans,
                                  ans ? 100.0 * static_cast<double>(ab) / static_cast<double>(ans) : 0);
            }
            std::printf("%s", line.c_str());
          }
          std::fflush(stdout);
        }
      }
    });
  }
  for (std::thread& t : workers) t.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // The table: one row per scenario and pacer, over its seeds.
  const double bound = 60 * o.talk_seconds / (o.talk_seconds + o.acw_seconds);
  std::printf("\n| agents | answer | days | pacer | talk min/agent-h | %% of bound | abandon/day mean | "
              "abandon/day worst | days > 3%% | 30-day mean | 30-day worst seed | runs 30-day <= 3%% | "
              "runs paused | dials/connect | warm-up min |\n"
              "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  std::map<std::tuple<int, double, size_t>, std::vector<const RunResult*>> rows;
  for (const RunResult& r : results) {
    const size_t pi = static_cast<size_t>(
        std::find(pacers.begin(), pacers.end(), r.pacer) - pacers.begin());
    rows[{r.scenario.agents, r.scenario.answer_rate, pi}].push_back(&r);
  }
  for (const auto& [key, rs] : rows) {
    double talk = 0, day_sum = 0, day_worst = 0, rate_sum = 0, rate_worst = 0, dpc = 0, warm = 0;
    int64_t day_count = 0, days_over = 0, runs_ok = 0, runs_paused = 0;
    for (const RunResult* r : rs) {
      talk += r->talk_min_per_agent_hour();
      for (const DayResult& d : r->days) {
        const double rate = d.answered ? static_cast<double>(d.abandoned) / d.answered : 0;
        day_sum += rate;
        day_worst = std::max(day_worst, rate);
        days_over += rate > 0.03 ? 1 : 0;
        ++day_count;
      }
      rate_sum += r->rate_all();
      rate_worst = std::max(rate_worst, r->rate_all());
      runs_ok += r->rate_all() <= 0.03 ? 1 : 0;
      runs_paused += std::any_of(r->days.begin(), r->days.end(),
                                 [](const DayResult& d) { return d.would_pause; })
                         ? 1
                         : 0;
      dpc += r->dials_per_connect();
      warm += std::max(0.0, r->days.front().warm_up_seconds) / 60;
    }
    const double n = static_cast<double>(rs.size());
    std::printf("| %d | %.0f%% | %d | %s | %.1f | %.0f%% | %.2f%% | %.2f%% | %lld/%lld | %.2f%% | %.2f%% | "
                "%lld/%zu | %lld/%zu | %.2f | %.1f |\n",
                std::get<0>(key), 100 * std::get<1>(key), rs.front()->scenario.days,
                rs.front()->pacer.c_str(), talk / n, 100 * talk / n / bound,
                100 * day_sum / static_cast<double>(std::max<int64_t>(1, day_count)), 100 * day_worst,
                static_cast<long long>(days_over), static_cast<long long>(day_count),
                100 * rate_sum / n, 100 * rate_worst, static_cast<long long>(runs_ok), rs.size(),
                static_cast<long long>(runs_paused), rs.size(), dpc / n, warm / n);
  }
  std::printf("\n%zu runs, %d jobs, %.0f s wall; bound %.1f talk-min/agent-hour\n", results.size(),
              jobs, wall, bound);
  for (const std::string& p : pacers) {
    auto pacer = lab_pacer(p, o);
    if (to_string(pacer->status().mode) != p) {
      std::printf("note: pacer '%s' is not built yet: it ran as %s\n", p.c_str(),
                  std::string(to_string(pacer->status().mode)).c_str());
    }
  }
  return 0;
}
