#include "engine/simulation.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "compliance/callee.h"
#include "core/config_keys.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "io/list_import.h"
#include "io/results_export.h"
#include "store/memory/memory_store.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {

absl::StatusOr<SimulationReport> run_simulation(const SimulationSpec& spec) {
  PD_RETURN_IF_ERROR(spec.sim.validate());
  if (spec.list.empty() && spec.customers < 1) {
    return absl::InvalidArgumentError("--customers must be at least 1");
  }
  if (!spec.store.empty() && std::filesystem::exists(spec.store)) {
    return absl::AlreadyExistsError(
        cat("--store ", spec.store, ": the file exists; a simulation keeps its store only in a "
            "new file"));
  }
  for (const auto& [key, value] : spec.config) {
    PD_RETURN_IF_ERROR(validate_config_value(key, value).status());
  }
  // How many customers the list can hold: the generated ones, or at most
  // one per line of the file (a count, not a parse: a cheap upper bound).
  int64_t most_customers = spec.customers;
  if (!spec.list.empty()) {
    std::ifstream in(spec.list, std::ios::binary);
    if (!in) return absl::NotFoundError(cat(spec.list, ": cannot open"));
    most_customers = 0;
    char buf[1 << 16];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      most_customers += std::count(buf, buf + in.gcount(), '\n');
    }
    ++most_customers;  // a last line without a line feed
  }
  const bool in_memory = spec.store.empty() && most_customers <= kMemoryStoreMaxCustomers;
  // A throw-away SQLite file lives in a folder of its own; a kept store is
  // removed again when the simulation fails: a half-run store proves
  // nothing, and its file would refuse the next attempt.
  struct Cleanup {
    std::filesystem::path dir;
    std::string kept_store;
    bool succeeded = false;
    ~Cleanup() {
      std::error_code ec;
      if (!dir.empty()) std::filesystem::remove_all(dir, ec);
      if (succeeded || kept_store.empty()) return;
      for (const char* suffix : {"", "-wal", "-shm"}) {
        std::filesystem::remove(kept_store + suffix, ec);
      }
    }
  } cleanup{{}, spec.store};
  // Client tokens seed the simulator's choices: pin them so a seed repeats.
  constexpr std::string_view kInstanceId = "sim";
  std::unique_ptr<Store> store;
  if (in_memory) {
    std::unique_ptr<MemoryStore> memory = MemoryStore::create();
    memory->pin_instance_id(kInstanceId);
    store = std::move(memory);
  } else {
    std::string path = spec.store;
    if (path.empty()) {
      char tmpl[] = "/tmp/powerdialer-sim-XXXXXX";
      if (::mkdtemp(tmpl) == nullptr) {
        return absl::InternalError("cannot create a temporary directory in /tmp");
      }
      cleanup.dir = tmpl;
      path = (cleanup.dir / "sim.db").string();
    }
    // Readable even if this process is killed; no syncs (nothing resumes
    // from it).
    PD_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> sqlite,
                        SqliteStore::open(path, true, SqliteStore::Durability::kNoSync));
    PD_RETURN_IF_ERROR(sqlite->pin_instance_id(kInstanceId));
    store = std::move(sqlite);
  }
  PD_ASSIGN_OR_RETURN(Campaign campaign, store->init_campaign("simulate"));
  for (const auto& [key, value] : spec.config) {
    PD_ASSIGN_OR_RETURN(std::string valid, validate_config_value(key, value));
    PD_RETURN_IF_ERROR(store->set_config(campaign.id, key, valid));
  }

  if (!spec.list.empty()) {
    std::ifstream in(spec.list, std::ios::binary);
    if (!in) return absl::NotFoundError(cat(spec.list, ": cannot open"));
    PD_RETURN_IF_ERROR(import_list(
                           in, spec.list,
                           [&] { return store->begin_list(campaign.id, LoadMode::kReplace); },
                           ImportOptions{})
                           .status());
  } else {
    // Generated customers with well-formed US numbers, streamed to the store.
    PD_ASSIGN_OR_RETURN(std::unique_ptr<ListWriter> writer,
                        store->begin_list(campaign.id, LoadMode::kReplace));
    // Placed as an import places them (all in Washington DC's zone), so
    // the calling window applies as it would to a loaded list.
    PD_ASSIGN_OR_RETURN(const CalleeFacts callee, resolve_callee("+12022000000", "", ""));
    for (int64_t i = 0; i < spec.customers; ++i) {
      const int64_t n = 2'000'000 + (i * 7919) % 7'999'999;
      PD_RETURN_IF_ERROR(writer
                             ->add(fmt::format("S{:08d}", i), fmt::format("+1202{:07d}", n),
                                   "{}", i + 2, callee)
                             .status());
    }
    PD_RETURN_IF_ERROR(writer->commit());
  }

  SimulationReport report;
  report.store = in_memory ? "memory" : "sqlite";
  report.agents = spec.sim.agents;
  PD_ASSIGN_OR_RETURN(CampaignStatus before, store->status(campaign.id));
  report.customers = before.customers;

  PD_ASSIGN_OR_RETURN(auto stored_config, store->config(campaign.id));
  PD_ASSIGN_OR_RETURN(CampaignConfig config, CampaignConfig::from(stored_config, campaign.name));
  config.retry = spec.retry;
  VirtualLoop loop(spec.start.value_or(kDefaultSimulationStart));
  // SQLite: one commit per few thousand operations (nothing resumes from
  // this store; a commit each would measure the disk, not the dialer). In
  // memory a commit costs nothing, and a batch would copy every table.
  InlineStoreExecutor executor(*store, loop, /*ops_per_commit=*/in_memory ? 1 : 4096);
  Simulator sim(loop, spec.sim);
  EngineOptions options;
  options.owner = "simulate";
  options.seed = spec.sim.seed;
  Engine engine(loop, executor, sim, campaign, config, options);
  std::optional<absl::Status> result;
  report.state = CampaignState::kRunning;
  const MonoTime sim_start = loop.now();
  const auto wall_start = std::chrono::steady_clock::now();
  engine.start([&](absl::Status s, CampaignState state) {
    result = s;
    report.state = state;
    loop.stop();
  });
  loop.run();
  executor.drain();
  // A batch that could not commit lost operations the engine had acted on:
  // the figures would not add up.
  if (!executor.batch_failure().ok()) {
    return absl::InternalError(cat("the simulation's store lost a batch of operations: ",
                                   executor.batch_failure().message()));
  }
  report.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  report.sim_seconds = static_cast<double>((loop.now() - sim_start).count()) / 1e6;
  report.events = loop.tasks_run();
  if (result && !result->ok()) {
    // A rule that stopped the dialling (the 30-day abandon rate reached
    // max-abandon-rate) is an outcome of the run, with figures worth
    // reporting; anything else is a failed simulation.
    if (!absl::IsFailedPrecondition(*result)) return *result;
    report.stop_reason = std::string(result->message());
  }
  report.engine = engine.stats();
  report.sim = sim.stats();
  PD_ASSIGN_OR_RETURN(report.status, store->status(campaign.id));
  PacingFigures& pacing = report.pacing;
  pacing.pacer = engine.pacing();
  const WallTime first = spec.start.value_or(kDefaultSimulationStart);
  PD_RETURN_IF_ERROR(store->for_each_attempt(campaign.id, [&](const AttemptRecord& a) {
    if (!a.outcome || !a.ended_at) return;
    const bool connected = *a.outcome == Outcome::kConnected;
    if (!connected && *a.outcome != Outcome::kAbandoned) return;
    if (connected && a.answered_at && *a.ended_at > *a.answered_at) {
      pacing.talk_seconds +=
          std::chrono::duration<double>(*a.ended_at - *a.answered_at).count();
    }
    const auto day = static_cast<size_t>(std::max<int64_t>(
        0, std::chrono::floor<std::chrono::days>(*a.ended_at - first).count()));
    if (pacing.answered_by_day.size() <= day) {
      pacing.answered_by_day.resize(day + 1, 0);
      pacing.abandon_rate_by_day.resize(day + 1, 0);  // abandons, divided below
    }
    ++pacing.answered;
    ++pacing.answered_by_day[day];
    if (!connected) {
      ++pacing.abandoned;
      pacing.abandon_rate_by_day[day] += 1;
    }
  }));
  for (size_t d = 0; d < pacing.answered_by_day.size(); ++d) {
    if (pacing.answered_by_day[d] > 0) {
      pacing.abandon_rate_by_day[d] /= static_cast<double>(pacing.answered_by_day[d]);
    }
  }
  if (pacing.answered > 0) {
    pacing.abandon_rate =
        static_cast<double>(pacing.abandoned) / static_cast<double>(pacing.answered);
  }
  const double logged_in_hours = static_cast<double>(report.sim.logged_in_time.count()) / 3.6e9;
  if (logged_in_hours > 0) {
    pacing.talk_minutes_per_agent_hour = pacing.talk_seconds / 60.0 / logged_in_hours;
  }
  if (report.engine.agent_seconds > 0) {
    pacing.lines_per_agent = report.engine.line_seconds / report.engine.agent_seconds;
  }
  if (report.engine.connects > 0) {
    pacing.dials_per_connect =
        static_cast<double>(report.engine.dials) / static_cast<double>(report.engine.connects);
  }
  if (!spec.results.empty()) {
    std::ofstream out(spec.results, std::ios::binary);
    if (!out) return absl::PermissionDeniedError(cat(spec.results, ": cannot write"));
    PD_RETURN_IF_ERROR(export_results(*store, campaign.id, out).status());
  }
  cleanup.succeeded = true;
  return report;
}

}  // namespace pd
