#include "telephony/backend.h"

#include <iostream>

#include "core/strings.h"
#include "telephony/amazon_connect/connect_backend.h"

namespace pd {

absl::Status validate_backend(const BackendOptions& options) {
  if (options.backend == "connect") return absl::OkStatus();
  if (options.backend != "sim") {
    return absl::InvalidArgumentError(
        cat("unknown backend '", options.backend,
            "': use sim (the built-in simulator) or connect (Amazon Connect)"));
  }
  return options.sim.validate();
}

absl::Status validate_speed(const BackendOptions& options, double speed) {
  if (!(speed > 0 && speed <= 10000)) {
    return absl::InvalidArgumentError("--speed must be above 0 and at most 10000");
  }
  if (options.backend == "connect" && speed != 1) {
    return absl::InvalidArgumentError(
        "--speed is for the simulator; Amazon Connect dials in real time");
  }
  return absl::OkStatus();
}

absl::Status check_pacing_backend(const BackendOptions& options, const CampaignConfig& config) {
  if (options.backend != "connect") return absl::OkStatus();
  if (config.pacing == "vicidial-adapt") {
    return absl::FailedPreconditionError(
        cat("pacing vicidial-adapt is a benchmark baseline for the "
            "simulator (simulate, run --backend sim) and never dials Amazon Connect: set pacing "
            "to predictive, progressive or power (`powerdialer config set pacing predictive`)"));
  }
  if ((config.pacing == "progressive" || config.pacing == "predictive") &&
      config.queue_id.empty()) {
    return absl::FailedPreconditionError(
        cat("pacing ", config.pacing,
            " places more calls than there are free agents, which is only safe when the contact "
            "flow puts each answered call into a queue to wait for the next agent; no `queue` is "
            "configured, so an answered call could find no agent and no queue. Set the queue "
            "the contact flow transfers to (`powerdialer config set queue QUEUE_ID`; see the "
            "README's contact flow), or set pacing to power"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ContactCenter>> make_contact_center(const BackendOptions& options,
                                                                   EventLoop& loop,
                                                                   const CampaignConfig& config,
                                                                   const BackendContext& context) {
  if (auto s = validate_backend(options); !s.ok()) return s;
  if (auto s = check_pacing_backend(options, config); !s.ok()) return s;
  if (options.backend == "connect") {
    connect::ConnectBackendContext c{context.campaign, context.db_path, context.executor,
                                     [campaign = context.campaign](const absl::Status& s) {
                                       std::cerr << "powerdialer: campaign '" << campaign
                                                 << "': " << sv(s.message()) << "\n";
                                     }};
    auto cc = connect::make_connect_contact_center(loop, config, c);
    if (!cc.ok()) return cc.status();
    return std::unique_ptr<ContactCenter>(std::move(*cc));
  }
  SimConfig sim = options.sim;
  // Contact ids stay in the store after the run: the next run's must differ.
  if (sim.run_id.empty()) sim.run_id = new_sim_run_id();
  return std::unique_ptr<ContactCenter>(std::make_unique<Simulator>(loop, std::move(sim)));
}

}  // namespace pd
