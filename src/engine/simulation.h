// A whole campaign on a virtual clock: the real Engine, the real SQLite
// store (a throw-away file) and the Simulator, run as fast as the machine
// allows. Used by `powerdialer simulate` and the benchmarks.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "telephony/simulator/simulator.h"

namespace pd {

struct SimulationSpec {
  SimConfig sim;
  int64_t customers = 1000;  // generated, one phone each, unless `list` is set
  std::string list;          // a CSV dialing list instead
  RetryRules retry;
  std::string results;  // also write the results CSV here
};

struct SimulationReport {
  int agents = 0;
  int64_t customers = 0;
  CampaignState state = CampaignState::kIdle;  // kDone, or kRunning if agents logged off first
  EngineStats engine;
  SimStats sim;
  CampaignStatus status;
  double sim_seconds = 0;
  double wall_seconds = 0;
  uint64_t events = 0;  // loop tasks run
};

absl::StatusOr<SimulationReport> run_simulation(const SimulationSpec& spec);

}  // namespace pd
