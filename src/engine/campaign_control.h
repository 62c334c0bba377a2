// The operator's campaign controls shared by the command line (`run`,
// `stop`, `init`) and the HTTP API (`serve`): campaign-name rules, the
// checks before a campaign starts, dialer identities and leases, and the
// graceful stop request. Plain functions over a Store, so both front ends
// say the same things in the same words.
//
// Thread-safety: the functions use only their arguments; a Store is used by
// one thread at a time (see store.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config_keys.h"
#include "store/store.h"

namespace pd {

// 1-64 letters, digits, '-', '_' or '.', but not "." or ".."; kInvalidArgument
// naming the name (cut short when long).
absl::Status check_campaign_name(std::string_view name);

// "host:pid:random": unique per dialer run, and says where to look for the
// holder of a lease.
std::string new_dialer_owner_id();

// A lease left by a dialer on this machine whose process is gone (killed,
// crashed) is broken at once instead of waiting for it to lapse.
absl::Status break_dead_lease(Store& store, CampaignId id);

// How the dialer of `campaign` is doing, by its lease, at `now`: nullopt
// unless the campaign is running or stopping. Not responding when no lease
// is held, when the lease lapsed, or when it names a process on this
// machine that is gone. Reads only.
absl::StatusOr<std::optional<DialerHealth>> dialer_health(Store& store, const Campaign& campaign,
                                                          WallTime now);

// A campaign left running or stopping by a dialer that is certainly dead
// (see dialer_health) is marked stopped and its lease dropped, so that a
// load or a new run may go ahead; the next run resolves the calls it left
// in flight. Returns the campaign as it is now (unchanged when its dialer
// is alive or it was not running).
absl::StatusOr<Campaign> stop_if_dialer_dead(Store& store, const Campaign& campaign, WallTime now);

// What a dialer needs to start a campaign.
struct StartPlan {
  Campaign campaign;
  CampaignConfig config;
};

// Checks that campaign `name` can be started by a new dialer: it exists,
// its configuration is valid, it has a dialing list, and no live dialer
// holds it (a dead dialer's lease is broken on the way). kNotFound,
// kFailedPrecondition (no list; held by another process, named) or the
// configuration's error, each with its advice (core/advice.h).
// The engine still takes the lease itself; this only refuses early and
// clearly.
absl::StatusOr<StartPlan> prepare_campaign_start(Store& store, std::string_view name);

// Where a simulated contact centre's clock (at any --speed) starts, given to
// RealTimeLoop as `wall_not_before`: just after the latest time the store
// has recorded, when that is later than the real time now. A run killed at
// --speed N leaves times ahead of the real clock; the next run's times must
// follow them, or its results would end calls before they started.
// WallTime{} (no constraint) when the store holds no attempt.
absl::StatusOr<WallTime> simulated_clock_start(Store& store);

// Checks a clock asked to start at `requested` (`--start`, named by
// `option` in errors): kFailedPrecondition when the store recorded an
// attempt at or after it, naming both times. A clock that went back would
// put results out of order and make rolling-window caps and lockouts count
// calls from its future.
absl::Status check_clock_start(Store& store, WallTime requested, std::string_view option);

// What a stop request did.
enum class StopResult {
  kRequested,        // running: the dialer dials nothing new and finishes
  kAlreadyStopping,  // a stop was requested before
  kStoppedNow,       // no live dialer held it: it is `stopped` at once
};
// Asks whichever process runs `campaign` to stop gracefully (the store is
// the channel: the dialer's heartbeat sees `stopping`). A campaign whose
// dialer died is stopped at once. kFailedPrecondition when it is not
// running.
absl::StatusOr<StopResult> request_campaign_stop(Store& store, const Campaign& campaign);

}  // namespace pd
