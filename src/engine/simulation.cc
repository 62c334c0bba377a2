#include "engine/simulation.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "compliance/callee.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "io/list_import.h"
#include "io/results_export.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {

absl::StatusOr<SimulationReport> run_simulation(const SimulationSpec& spec) {
  PD_RETURN_IF_ERROR(spec.sim.validate());
  if (spec.list.empty() && spec.customers < 1) {
    return absl::InvalidArgumentError("--customers must be at least 1");
  }
  char tmpl[] = "/tmp/powerdialer-sim-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    return absl::InternalError("cannot create a temporary directory in /tmp");
  }
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{tmpl};
  PD_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store,
                      SqliteStore::open((cleanup.dir / "sim.db").string(), true,
                                        /*durable=*/false));
  // Client tokens seed the simulator's choices: pin them so a seed repeats.
  PD_RETURN_IF_ERROR(store->pin_instance_id("sim"));
  PD_ASSIGN_OR_RETURN(Campaign campaign, store->init_campaign("simulate"));

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
  report.agents = spec.sim.agents;
  PD_ASSIGN_OR_RETURN(CampaignStatus before, store->status(campaign.id));
  report.customers = before.customers;

  CampaignConfig config;
  config.retry = spec.retry;
  VirtualLoop loop;
  // One commit per few thousand operations: the store is throw-away, and
  // per-operation syncs would measure the disk, not the dialer.
  InlineStoreExecutor executor(*store, loop, /*ops_per_commit=*/4096);
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
  report.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  report.sim_seconds = static_cast<double>((loop.now() - sim_start).count()) / 1e6;
  report.events = loop.tasks_run();
  if (result && !result->ok()) return *result;
  report.engine = engine.stats();
  report.sim = sim.stats();
  PD_ASSIGN_OR_RETURN(report.status, store->status(campaign.id));
  if (!spec.results.empty()) {
    std::ofstream out(spec.results, std::ios::binary);
    if (!out) return absl::PermissionDeniedError(cat(spec.results, ": cannot write"));
    PD_RETURN_IF_ERROR(export_results(*store, campaign.id, out).status());
  }
  return report;
}

}  // namespace pd
