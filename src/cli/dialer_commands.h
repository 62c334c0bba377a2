// The commands that dial: run, stop, simulate, demo.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "telephony/simulator/simulator.h"

namespace pd::cli {

struct RunOptions {
  std::string backend = "sim";
  double speed = 1.0;  // simulator only: virtual seconds per real second
  // `--start`: the dialer's clock starts at this moment (core/start_time.h)
  // instead of now; empty: now.
  std::string start;
  SimConfig sim;
  // Live display on a terminal; plain log lines otherwise.
  std::optional<bool> live_display;  // default: when stderr is a terminal
};

int cmd_run(const Context& ctx, const RunOptions& options);
int cmd_stop(const Context& ctx);

struct SimulateOptions {
  SimConfig sim;
  int64_t customers = 1000;
  std::string list;     // a CSV instead of generated customers
  std::string results;  // write the results CSV here
  int max_attempts = 1;
  std::string retry_delay = "5m";
  std::string start;  // the virtual clock's first moment; empty: 2026-01-01T00:00:00Z
  std::string store;  // keep the simulation's store in this new file (campaign "simulate")
  // "KEY=VALUE" campaign configuration (validated like `config set`).
  std::vector<std::string> config;
  // Pacing flags (the `pacing`, `lines-per-agent` and `target-abandon-rate`
  // keys; empty: as --config or the defaults have them).
  std::string pacing;
  std::string lines_per_agent;
  std::string target_abandon_rate;
};
int cmd_simulate(const Context& ctx, const SimulateOptions& options);

struct DemoOptions {
  std::string dir = "powerdialer-demo";
  double speed = 20.0;
  SimConfig sim;
};
int cmd_demo(const Context& ctx, const DemoOptions& options);

}  // namespace pd::cli
