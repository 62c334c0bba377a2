// What a user can do next about an error, said once by the code that finds
// it and spelled by each front end in its own words: the command line names
// a command ('powerdialer load FILE'), the HTTP API a request
// (PUT /api/campaigns/NAME/list). Shared code (store, engine, config)
// attaches a Remedy to the Status it returns instead of writing a command
// into its message, so an API client is never told to run a program on the
// server, nor shown where it is installed.
//
// Thread-safety: plain functions over their arguments.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace pd {

enum class Remedy {
  kCreateCampaign,  // the campaign does not exist
  kLoadList,        // the campaign has no dialing list
  kStopCampaign,    // another dialer runs the campaign
  kSetConfig,       // a configuration value is missing or wrong (`key`; "KEY" for several)
};

struct Advice {
  Remedy step;
  std::string campaign;
  std::string key;  // kSetConfig
};

// `status` (unchanged when OK) carrying `advice`.
absl::Status with_advice(absl::Status status, const Advice& advice);
std::optional<Advice> advice_of(const absl::Status& status);

// Who reads a message: someone at the server's command line, or an API
// client.
enum class Audience { kCli, kApi };

// The status's message followed by its advice for `who`, e.g.
// "campaign 'spring' has no dialing list; load one with 'powerdialer load FILE'"
// or "...; upload one with PUT /api/campaigns/spring/list". `program` is how
// the CLI was invoked (unused for the API).
std::string message_for(const absl::Status& status, Audience who,
                        std::string_view program = "powerdialer");

}  // namespace pd
