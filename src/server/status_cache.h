// Campaign statuses for the live feed and the API, read again only when the
// store changed. Store::status() reads counts the store keeps in the same
// transactions as the changes (a few index lookups, whatever the list's
// size; it scanned the rows before schema version 6), and the cache spares
// even those while nothing commits: it keeps what it read with the store's
// data version at the time, and reads again only after another connection
// has committed, so an idle server reads nothing.
//
// Thread-safety: thread-safe. One store connection serves one caller at a
// time; a caller who waits for another's read then reuses its result.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config_keys.h"
#include "io/status_json.h"
#include "store/store.h"

namespace pd {

class StatusCache {
 public:
  // REQUIRES: `store` is a connection of its own that this cache alone
  // uses and that never writes (its data version moves only when others
  // commit).
  explicit StatusCache(std::unique_ptr<Store> store);

  // Every campaign, in the store's order.
  absl::StatusOr<std::vector<Campaign>> campaigns();
  // Store::status(id), as of the store's last commit.
  absl::StatusOr<CampaignStatus> status(CampaignId id);
  // status() of every campaign, as of one data version.
  absl::StatusOr<std::vector<CampaignStatus>> all();
  // read_campaign_pacing(), as of the store's last commit.
  absl::StatusOr<CampaignPacing> pacing(const CampaignStatus& status);

  // What GET /api/campaigns/NAME shows of campaign `name`, read for one
  // request with one check of the data version (each round trip counts
  // on a database server): its status and pacing as of the last commit,
  // and its dialer's lease as of now. kNotFound as Store::find_campaign.
  struct CampaignView {
    CampaignStatus status;
    CampaignPacing pacing;
    std::optional<DialerHealth> dialer;
  };
  absl::StatusOr<CampaignView> view(std::string_view name, WallTime now);

  // How the dialer of a running or stopping campaign is doing (its lease;
  // a cheap lookup, made on every call: a lease lapses without a commit).
  absl::StatusOr<std::optional<DialerHealth>> dialer(const Campaign& campaign, WallTime now);

  // Statuses read from the store so far (not reused): for tests and the
  // benchmark.
  int64_t reads() const;

 private:
  // REQUIRES: mu_ held.
  absl::Status refresh_version();
  absl::StatusOr<CampaignStatus> status_locked(CampaignId id);
  absl::StatusOr<CampaignPacing> pacing_locked(const CampaignStatus& status);
  // The campaigns as of the version read last (read once per version).
  absl::StatusOr<const std::vector<Campaign>*> campaigns_locked();

  mutable std::mutex mu_;
  std::unique_ptr<Store> store_;                    // guarded by mu_
  bool have_version_ = false;                       // guarded by mu_
  uint64_t version_ = 0;                            // guarded by mu_
  std::optional<std::vector<Campaign>> campaigns_;  // guarded by mu_
  std::map<CampaignId, CampaignStatus> statuses_;   // guarded by mu_
  std::map<CampaignId, CampaignPacing> pacing_;     // guarded by mu_
  int64_t reads_ = 0;                               // guarded by mu_
};

}  // namespace pd
