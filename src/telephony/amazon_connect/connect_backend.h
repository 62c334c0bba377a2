// Builds the Amazon Connect ContactCenter for one campaign from its
// configuration: checks the keys it needs, resolves region, endpoints and
// credentials, sets the API rate limits, and starts reading the event
// streams (so a missing stream or permission fails before any call).
// Thread-safety: call on the loop's thread before the loop runs the engine.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/config_keys.h"
#include "core/event_loop.h"
#include "store/store_executor.h"
#include "telephony/amazon_connect/connect_contact_center.h"

namespace pd::connect {

struct ConnectBackendContext {
  std::string campaign;      // checkpoints are kept per campaign and stream
  std::string db_path;       // the store, for reading checkpoints on the consumer thread
  StoreExecutor* executor;   // for writing them, in order with the engine's work
  std::function<void(const absl::Status&)> log;  // problems worth a line; may be empty
};

// kFailedPrecondition naming the missing config keys (connectid,
// contactflow, queue, agent-stream or ctr-stream), advising how to set them
// for `campaign` (core/advice.h).
absl::Status check_connect_config(const CampaignConfig& config, std::string_view campaign = {});

absl::StatusOr<std::unique_ptr<ConnectContactCenter>> make_connect_contact_center(
    EventLoop& loop, const CampaignConfig& config, const ConnectBackendContext& context);

}  // namespace pd::connect
