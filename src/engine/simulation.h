// A whole campaign on a virtual clock: the real Engine, a Store (in memory,
// or an SQLite file to keep) and the Simulator, run as fast as the machine
// allows. Used by `powerdialer simulate` and the benchmarks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

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
  // The virtual clock's first moment; nullopt: kDefaultSimulationStart.
  std::optional<WallTime> start;
  // Keep the store in this SQLite file (which must not exist), so status,
  // results and compliance can read it after. Without it the store is in
  // memory (or a throw-away file past kMemoryStoreMaxCustomers). The
  // figures are the same either way: the same seed gives the same run.
  std::string store;
  // Campaign configuration (keys and values as `config set` takes them);
  // max-attempts and retry-delay come from `retry`.
  std::map<std::string, std::string> config;
};

// Lists up to this many customers are simulated on a store in memory
// (MemoryStore, ~0.7 KB a customer); longer ones on a throw-away SQLite
// file, whose page cache is capped, so memory stays bounded whatever the
// list's size.
inline constexpr int64_t kMemoryStoreMaxCustomers = 1'000'000;

// A Tuesday morning, 09:00 in New York (14:00 UTC): the generated customers'
// numbers (+1 202, Washington DC) are inside the default calling window
// (08:00-21:00 callee-local) for the whole of a 12-hour shift, and it does
// not depend on the hour the simulation is run at.
inline constexpr WallTime kDefaultSimulationStart{std::chrono::milliseconds{1'767'708'000'000}};

// How the pacing did, from the store's attempts (what the results CSV
// holds) and the engine's counts.
struct PacingFigures {
  PacerStatus pacer;           // the pacer's own view at the end
  double lines_per_agent = 0;  // calls in flight per logged-in agent, mean over the run
  double talk_seconds = 0;     // connected calls, from the agent's answer to the end
  // talk minutes per logged-in agent-hour (60 * talk / logged-in time)
  double talk_minutes_per_agent_hour = 0;
  int64_t answered = 0;  // connected + abandoned, as the abandon ledger counts
  int64_t abandoned = 0;
  double abandon_rate = 0;  // abandoned / answered over the run
  // Per simulated day (24 h from the virtual clock's start, by the call's
  // end): abandoned / answered, 0 for a day with nothing answered.
  std::vector<double> abandon_rate_by_day;
  std::vector<int64_t> answered_by_day;
  double dials_per_connect = 0;  // 0 with nothing connected
};

struct SimulationReport {
  // Where the run's store was: "memory" (MemoryStore) or "sqlite" (the
  // kept --store file, or a throw-away one for a long list).
  std::string store;
  int agents = 0;
  int64_t customers = 0;
  CampaignState state = CampaignState::kIdle;  // kDone, or kRunning if agents logged off first
  EngineStats engine;
  SimStats sim;
  CampaignStatus status;
  double sim_seconds = 0;
  double wall_seconds = 0;
  uint64_t events = 0;  // loop tasks run
  // Why the campaign stopped before its list or shift ended (a compliance
  // rule: the abandon rate reached max-abandon-rate); empty otherwise.
  std::string stop_reason;
  PacingFigures pacing;
};

absl::StatusOr<SimulationReport> run_simulation(const SimulationSpec& spec);

}  // namespace pd
