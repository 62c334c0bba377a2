// Creates the contact centre a dialer dials through, from the `--backend`
// choice and its flags. The one place a backend is chosen, shared by `run`
// and `serve` (the Amazon Connect backend plugs in here).
// Thread-safety: make_contact_center is a plain function; the returned
// ContactCenter lives on `loop`'s thread like every ContactCenter.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config_keys.h"
#include "core/event_loop.h"
#include "store/store_executor.h"
#include "telephony/contact_center.h"
#include "telephony/simulator/simulator.h"

namespace pd {

struct BackendOptions {
  std::string backend = "sim";  // "sim": the built-in simulator; "connect": Amazon Connect
  SimConfig sim;                // --backend sim
};

// What one campaign's contact centre needs from the process running it.
struct BackendContext {
  std::string campaign;
  std::string db_path;                // Connect: stream checkpoints are read from here
  StoreExecutor* executor = nullptr;  // and written through here, in order
};

// Checks the options before anything is opened: kInvalidArgument naming
// the unknown backend or the bad flag.
absl::Status validate_backend(const BackendOptions& options);
// Checks --speed for the backend: (0, 10000] for the simulator; Amazon
// Connect dials in real time only (1).
absl::Status validate_speed(const BackendOptions& options, double speed);

// Whether the campaign's pacing can run on this backend: kFailedPrecondition
// saying why and what to set when it cannot. On Amazon Connect,
// vicidial-adapt is refused (a benchmark baseline for simulations), and so
// are progressive and predictive without a `queue`: they place more calls
// than there are free agents, which is only safe when the contact flow puts
// an answered call into a queue to wait for the next free agent.
absl::Status check_pacing_backend(const BackendOptions& options, const CampaignConfig& config);

// A contact centre for one campaign (`config` carries its instance, queue
// and contact flow). REQUIRES: validate_backend(options).ok(). Fails with
// check_pacing_backend's reason before anything else.
// For Connect this checks the campaign's Connect keys, resolves region,
// endpoints and credentials, and starts reading the event streams (network
// calls): a missing stream or permission fails here, before any call.
absl::StatusOr<std::unique_ptr<ContactCenter>> make_contact_center(const BackendOptions& options,
                                                                   EventLoop& loop,
                                                                   const CampaignConfig& config,
                                                                   const BackendContext& context);

}  // namespace pd
