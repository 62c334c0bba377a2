#include "cli/dialer_commands.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <date/tz.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <tuple>

#include "cli/demo_list.h"
#include "cli/signal_watcher.h"
#include "core/event_loop.h"
#include "core/start_time.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "engine/campaign_control.h"
#include "engine/engine.h"
#include "engine/simulation.h"
#include "io/list_import.h"
#include "io/results_export.h"
#include "server/http_server.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "telephony/backend.h"

namespace pd::cli {
namespace {

std::string clock_text(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  return fmt::format("{:02d}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60);
}

// The live progress display: redrawn in place on a terminal, plain lines
// every few seconds otherwise.
class Progress {
 public:
  Progress(std::ostream& out, bool live, std::string campaign)
      : out_(out), live_(live), campaign_(std::move(campaign)) {}

  void update(const EngineStats& e, const CampaignStatus* st, double sim_seconds,
              double real_seconds, bool final) {
    const int64_t done =
        st ? count(*st, CustomerState::kReached) + count(*st, CustomerState::kExhausted) +
                 count(*st, CustomerState::kSuppressed)
           : 0;
    const std::string line1 =
        fmt::format("{} [{}]  sim {}  real {}", campaign_, final ? "finished" : "running",
                    clock_text(sim_seconds), clock_text(real_seconds));
    const std::string line2 = fmt::format(
        "  customers {}/{} done | agents {} talking, {} after-call work, {} available | dials {}, "
        "connects {}, abandons {}, in flight {}",
        done, st ? st->customers : 0, e.agents_busy, e.agents_after_call_work, e.agents_available,
        e.dials, e.connects, e.abandons, e.dialing + e.talking);
    if (live_) {
      if (drawn_) out_ << "\x1b[1A\r\x1b[2K";
      out_ << line1 << "\n\x1b[2K" << line2 << std::flush;
      if (final) out_ << "\n";
      drawn_ = true;
    } else if (final || real_seconds - last_plain_ >= 5) {
      out_ << line1 << line2 << "\n" << std::flush;
      last_plain_ = real_seconds;
    }
  }

 private:
  static int64_t count(const CampaignStatus& st, CustomerState s) {
    auto it = st.customers_by_state.find(s);
    return it == st.customers_by_state.end() ? 0 : it->second;
  }
  std::ostream& out_;
  bool live_;
  std::string campaign_;
  bool drawn_ = false;
  double last_plain_ = -1e9;
};

void print_summary(std::ostream& out, const CampaignStatus& st) {
  auto count = [&](CustomerState s) {
    auto it = st.customers_by_state.find(s);
    return it == st.customers_by_state.end() ? int64_t{0} : it->second;
  };
  out << fmt::format("customers {}: {} reached, {} exhausted, {} suppressed, {} still to call\n",
                     st.customers, count(CustomerState::kReached),
                     count(CustomerState::kExhausted), count(CustomerState::kSuppressed),
                     count(CustomerState::kPending) + count(CustomerState::kDialing));
  out << fmt::format("attempts  {}:", st.attempts);
  for (const auto& [o, n] : st.attempts_by_outcome) out << " " << n << " " << to_string(o) << ",";
  out << fmt::format(" {} in flight\n", st.attempts_in_flight);
}

// `--start` moves the dialer's clock, and the calling windows with it: on
// the simulator that rings no one, but through Amazon Connect it is allowed
// only against a stand-in on this machine (tests), never a contact centre
// that rings real phones at what would be the wrong hour.
absl::Status check_start_backend(const BackendOptions& backend, const CampaignConfig& config) {
  if (backend.backend != "connect") return absl::OkStatus();
  std::string_view host = config.connect_endpoint;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (host.substr(0, scheme.size()) == scheme) host.remove_prefix(scheme.size());
  }
  host = host.substr(0, host.find('/'));
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') == std::string_view::npos ? host.npos : host.find(']') - 1);
  } else {
    host = host.substr(0, host.rfind(':'));
  }
  if (!config.connect_endpoint.empty() && is_loopback_host(host)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "--start with --backend connect is only for a Connect stand-in on this machine "
      "(connect-endpoint on a loopback address, given the same --start): against Amazon "
      "Connect a moved clock would put calls outside the callees' calling windows");
}

// "YYYY-MM-DD 12:00 America/New_York" for the New York date at `now`.
std::string demo_start_text(WallTime now) {
  const auto local = date::make_zoned("America/New_York", now).get_local_time();
  const date::year_month_day day{std::chrono::floor<date::days>(local)};
  return fmt::format("{:04d}-{:02d}-{:02d} 12:00 America/New_York", int(day.year()),
                     unsigned(day.month()), unsigned(day.day()));
}

}  // namespace

int cmd_run(const Context& ctx, const RunOptions& options) {
  BackendOptions backend;
  backend.backend = options.backend;
  backend.sim = options.sim;
  if (auto s = validate_backend(backend); !s.ok()) return fail(ctx, s);
  if (auto s = validate_speed(backend, options.speed); !s.ok()) return fail(ctx, s);
  std::optional<WallTime> start_at;
  if (!options.start.empty()) {
    auto t = parse_start_time(options.start, "--start");
    if (!t.ok()) return fail(ctx, t.status());
    start_at = *t;
  }
  auto setup = open_store(ctx.db_path, /*create=*/false);
  if (!setup.ok()) return fail(ctx, setup.status());
  auto plan = prepare_campaign_start(**setup, ctx.campaign);
  if (!plan.ok()) return fail(ctx, plan.status());
  const Campaign* campaign = &plan->campaign;
  const CampaignConfig* config = &plan->config;
  if (start_at) {
    if (auto s = check_start_backend(backend, *config); !s.ok()) return fail(ctx, s);
    if (auto s = check_clock_start(**setup, *start_at, "--start"); !s.ok()) return fail(ctx, s);
  }
  // The simulator's clock resumes after the times already recorded; Amazon
  // Connect's events carry real time, so its loop keeps the real clock.
  WallTime clock_not_before{};
  if (backend.backend == "sim" && !start_at) {
    auto start = simulated_clock_start(**setup);
    if (!start.ok()) return fail(ctx, start.status());
    clock_not_before = *start;
  }
  setup->reset();

  const bool live = options.live_display.value_or(::isatty(STDERR_FILENO) == 1);
  const auto real_start = std::chrono::steady_clock::now();
  auto real_seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - real_start).count();
  };

  std::optional<absl::Status> outcome;
  CampaignState final_state = CampaignState::kStopped;
  {
    const WallTime wall_start =
        start_at.value_or(std::max(system_clock().wall_now(), clock_not_before));
    RealTimeLoop loop(options.speed, system_clock(), RealTimeLoop::StartAt{wall_start});
    Engine* engine_ptr = nullptr;
    SignalWatcher signals([&] {
      loop.post([&] {
        if (engine_ptr != nullptr) {
          *ctx.err << (live ? "\n" : "")
                   << "stopping: calls in flight finish first (Ctrl-C again to quit now)\n";
          engine_ptr->request_stop();
        }
      });
    });
    auto exec_store = open_store(ctx.db_path, /*create=*/false);
    if (!exec_store.ok()) return fail(ctx, exec_store.status());
    ThreadedStoreExecutor executor(std::move(*exec_store), loop);
    auto contact_center =
        make_contact_center(backend, loop, *config, {campaign->name, ctx.db_path, &executor});
    if (!contact_center.ok()) return fail(ctx, contact_center.status());
    EngineOptions eo;
    eo.owner = new_dialer_owner_id();
    eo.heartbeat =
        std::chrono::duration_cast<Micros>(std::chrono::milliseconds(500) * options.speed);
    eo.seed = options.sim.seed;
    Engine engine(loop, executor, **contact_center, *campaign, *config, eo);
    engine_ptr = &engine;

    const MonoTime sim_start = loop.now();
    Progress progress(*ctx.err, live, campaign->name);
    std::optional<CampaignStatus> snapshot;
    std::function<void()> tick = [&] {
      if (engine.finished()) return;
      const CampaignId id = campaign->id;
      executor.submit([&, id](Store& s) -> StoreExecutor::Completion {
        auto st = s.status(id);
        return [&, st] {
          if (st.ok()) snapshot = *st;
          progress.update(engine.stats(), snapshot ? &*snapshot : nullptr,
                          static_cast<double>((loop.now() - sim_start).count()) / 1e6,
                          real_seconds(), false);
        };
      });
      loop.schedule_after(
          std::chrono::duration_cast<Micros>(std::chrono::seconds(1) * options.speed), tick);
    };
    if (backend.backend == "connect") {
      *ctx.err << fmt::format("dialing campaign '{}' through Amazon Connect instance {}\n",
                              campaign->name, config->connect_instance_id);
    } else {
      *ctx.err << fmt::format(
          "dialing campaign '{}' on the simulator: {} agents, {}x real time\n", campaign->name,
          options.sim.agents, options.speed);
    }
    engine.start([&](absl::Status s, CampaignState state) {
      outcome = s;
      final_state = state;
      loop.stop();
    });
    tick();
    loop.run();
    executor.drain();
    auto final_store = open_store(ctx.db_path, false);
    if (final_store.ok()) {
      auto st = (*final_store)->status(campaign->id);
      if (st.ok()) snapshot = *st;
    }
    progress.update(engine.stats(), snapshot ? &*snapshot : nullptr,
                    static_cast<double>((loop.now() - sim_start).count()) / 1e6, real_seconds(),
                    true);
    if (snapshot) print_summary(*ctx.out, *snapshot);
  }
  if (outcome && !outcome->ok()) return fail(ctx, *outcome);
  *ctx.out << "campaign '" << campaign->name << "' is " << to_string(final_state) << "\n";
  if (final_state == CampaignState::kDone && !config->output_file.empty()) {
    *ctx.out << "results: " << config->output_file << "\n";
  }
  return kOk;
}

int cmd_stop(const Context& ctx) {
  auto store = open_store(ctx.db_path, /*create=*/false);
  if (!store.ok()) return fail(ctx, store.status());
  auto campaign = (*store)->find_campaign(ctx.campaign);
  if (!campaign.ok()) return fail(ctx, campaign.status());
  auto stopped = request_campaign_stop(**store, *campaign);
  if (!stopped.ok()) return fail(ctx, stopped.status());
  if (*stopped == StopResult::kStoppedNow) {
    *ctx.out << "no dialer is running campaign '" << campaign->name
             << "'; it is stopped now (calls a dead dialer left in flight are resolved by the "
                "next run)\n";
    return kOk;
  }
  if (*stopped == StopResult::kAlreadyStopping) {
    *ctx.out << "campaign '" << campaign->name << "' is already stopping\n";
    return kOk;
  }
  *ctx.out << "stop requested: campaign '" << campaign->name
           << "' dials nothing new; calls in flight finish, then it is stopped\n";
  return kOk;
}

int cmd_simulate(const Context& ctx, const SimulateOptions& options) {
  SimulationSpec spec;
  spec.sim = options.sim;
  spec.customers = options.customers;
  spec.list = options.list;
  spec.results = options.results;
  auto retry_delay = validate_config_value("retry-delay", options.retry_delay);
  if (!retry_delay.ok()) return fail(ctx, retry_delay.status());
  auto max_attempts = validate_config_value("max-attempts", std::to_string(options.max_attempts));
  if (!max_attempts.ok()) return fail(ctx, max_attempts.status());
  spec.retry.max_attempts_per_phone = options.max_attempts;
  spec.retry.retry_delay = *parse_duration(*retry_delay);
  if (!options.start.empty()) {
    auto start = parse_start_time(options.start, "--start");
    if (!start.ok()) return fail(ctx, start.status());
    spec.start = *start;
  }
  spec.store = options.store;
  for (const std::string& item : options.config) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail(ctx, absl::InvalidArgumentError(
                           cat("--config ", echo(item), ": expected KEY=VALUE, e.g. "
                                                        "calling-hours=09:00-17:00")));
    }
    auto valid = validate_config_value(item.substr(0, eq), item.substr(eq + 1));
    if (!valid.ok()) {
      return fail(ctx, absl::Status(valid.status().code(),
                                    cat("--config ", echo(item), ": ", valid.status().message())));
    }
    spec.config[item.substr(0, eq)] = *valid;
  }
  // The pacing flags are the keys under a name of their own; over --config.
  for (const auto& [flag, key, value] :
       {std::tuple{"--pacing", "pacing", &options.pacing},
        std::tuple{"--lines-per-agent", "lines-per-agent", &options.lines_per_agent},
        std::tuple{"--target-abandon-rate", "target-abandon-rate", &options.target_abandon_rate}}) {
    if (value->empty()) continue;
    auto valid = validate_config_value(key, *value);
    if (!valid.ok()) {
      return fail(ctx, absl::Status(valid.status().code(),
                                    cat(flag, " ", echo(*value), ": ", valid.status().message())));
    }
    spec.config[key] = *valid;
  }

  auto r = run_simulation(spec);
  if (!r.ok()) return fail(ctx, r.status());
  auto count = [&](CustomerState s) {
    auto it = r->status.customers_by_state.find(s);
    return it == r->status.customers_by_state.end() ? int64_t{0} : it->second;
  };
  const double logged_in = static_cast<double>(r->sim.logged_in_time.count()) / 1e6;
  const nlohmann::json j = {
      {"agents", r->agents},
      {"customers", r->customers},
      {"dials", r->engine.dials},
      {"connects", r->engine.connects},
      {"abandons", r->engine.abandons},
      {"agent_occupancy", r->sim.agent_occupancy},
      {"dialer_idle_seconds", r->engine.dialer_idle_seconds},
      {"dialer_idle_ratio", logged_in > 0 ? r->engine.dialer_idle_seconds / logged_in : 0.0},
      {"logged_in_agent_seconds", logged_in},
      {"sim_seconds", r->sim_seconds},
      {"wall_seconds", r->wall_seconds},
      {"events", r->events},
      {"state", std::string(to_string(r->state))},
      {"customers_reached", count(CustomerState::kReached)},
      {"customers_exhausted", count(CustomerState::kExhausted)},
      {"customers_suppressed", count(CustomerState::kSuppressed)},
      {"customers_left", count(CustomerState::kPending) + count(CustomerState::kDialing)},
      {"attempts", r->status.attempts},
      {"attempts_by_outcome", outcomes_json(r->status.attempts_by_outcome)},
      {"dial_latency_us",
       {{"samples", r->engine.dial_latency.count()},
        {"p50", r->engine.dial_latency.quantile(0.5).count()},
        {"p99", r->engine.dial_latency.quantile(0.99).count()},
        {"max", r->engine.dial_latency.max().count()}}},
      {"seed", options.sim.seed},
      {"store", r->store},
      // Pacing: the mode and what it achieved (status shows the same).
      {"pacing", std::string(to_string(r->pacing.pacer.mode))},
      {"lines_per_agent", r->pacing.lines_per_agent},
      {"target_abandon_rate", r->pacing.pacer.target_abandon_rate},
      {"talk_seconds", r->pacing.talk_seconds},
      {"talk_minutes_per_agent_hour", r->pacing.talk_minutes_per_agent_hour},
      {"answered", r->pacing.answered},
      {"abandon_rate", r->pacing.abandon_rate},
      {"abandon_rate_by_day", r->pacing.abandon_rate_by_day},
      {"answered_by_day", r->pacing.answered_by_day},
      {"dials_per_connect", r->pacing.dials_per_connect},
      {"pacer_note", r->pacing.pacer.note},
      {"stop_reason", r->stop_reason},
  };
  if (!r->stop_reason.empty()) *ctx.err << "powerdialer: " << r->stop_reason << "\n";
  *ctx.out << j.dump(2) << "\n";
  return kOk;
}

int cmd_demo(const Context& ctx, const DemoOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return fail(ctx, absl::PermissionDeniedError(cat(options.dir, ": ", ec.message())));
  Context demo = ctx;
  demo.db_path = (fs::path(options.dir) / "powerdialer.db").string();
  demo.campaign = "demo";
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(demo.db_path + suffix, ec);
  const std::string list = (fs::path(options.dir) / "demo-list.csv").string();
  const std::string results = (fs::path(options.dir) / "results.csv").string();
  {
    std::ofstream out(list, std::ios::binary);
    out << demo_list_csv();
    if (!out) return fail(ctx, absl::PermissionDeniedError(cat(list, ": cannot write")));
  }
  auto& out = *ctx.out;
  out << "powerdialer demo: a campaign on the built-in simulated contact centre\n"
      << "  store " << demo.db_path << ", list " << list << "\n\n";
  if (int rc = cmd_init(demo); rc != kOk) return rc;
  out << "\nloading the list (two rows are bad on purpose, to show how rejects are reported):\n";
  if (int rc = cmd_load(demo, list, false, 1); rc != kOk) return rc;
  if (int rc = cmd_config_set(demo, "outputfile", results); rc != kOk) return rc;
  out << "\n"
      << options.sim.agents << " simulated agents; every call placed the moment an agent is free.\n"
      << "Time runs " << options.speed << "x faster than real time. Ctrl-C stops gracefully.\n\n"
      << std::flush;
  RunOptions run;
  run.speed = options.speed;
  run.sim = options.sim;
  // The demo's clock starts at noon in New York today (09:00 on the west
  // coast), so every number on its list is inside the default calling
  // window (08:00-21:00 where the callee is), whatever the hour it is run at.
  run.start = demo_start_text(system_clock().wall_now());
  if (int rc = cmd_run(demo, run); rc != kOk) return rc;
  out << "\nNext: look at " << results << ", or try\n"
      << "  " << ctx.program << " --db " << demo.db_path << " --campaign demo status\n"
      << "  " << ctx.program << " simulate --agents 1000 --customers 400000 --shift 8h\n";
  return kOk;
}

}  // namespace pd::cli
