#include "server/status_cache.h"

#include <algorithm>

#include "core/status_macros.h"
#include "engine/campaign_control.h"

namespace pd {

StatusCache::StatusCache(std::unique_ptr<Store> store) : store_(std::move(store)) {}

absl::Status StatusCache::refresh_version() {
  PD_ASSIGN_OR_RETURN(uint64_t v, store_->data_version());
  if (!have_version_ || v != version_) {
    // The version is read before the data, so what is read next is at
    // least this new: a commit in between costs one more read, never a
    // stale answer.
    campaigns_.reset();
    statuses_.clear();
    pacing_.clear();
    version_ = v;
    have_version_ = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<CampaignStatus> StatusCache::status_locked(CampaignId id) {
  if (auto it = statuses_.find(id); it != statuses_.end()) return it->second;
  PD_ASSIGN_OR_RETURN(CampaignStatus st, store_->status(id));
  ++reads_;
  statuses_[id] = st;
  return st;
}

absl::StatusOr<const std::vector<Campaign>*> StatusCache::campaigns_locked() {
  if (!campaigns_) {
    PD_ASSIGN_OR_RETURN(campaigns_, store_->list_campaigns());
  }
  return &*campaigns_;
}

absl::StatusOr<std::vector<Campaign>> StatusCache::campaigns() {
  std::lock_guard<std::mutex> lock(mu_);
  PD_RETURN_IF_ERROR(refresh_version());
  PD_ASSIGN_OR_RETURN(const std::vector<Campaign>* campaigns, campaigns_locked());
  return *campaigns;
}

absl::StatusOr<CampaignStatus> StatusCache::status(CampaignId id) {
  std::lock_guard<std::mutex> lock(mu_);
  PD_RETURN_IF_ERROR(refresh_version());
  return status_locked(id);
}

absl::StatusOr<std::vector<CampaignStatus>> StatusCache::all() {
  std::lock_guard<std::mutex> lock(mu_);
  PD_RETURN_IF_ERROR(refresh_version());
  PD_ASSIGN_OR_RETURN(const std::vector<Campaign>* campaigns, campaigns_locked());
  std::vector<CampaignStatus> out;
  out.reserve(campaigns->size());
  for (const Campaign& c : *campaigns) {
    PD_ASSIGN_OR_RETURN(CampaignStatus st, status_locked(c.id));
    out.push_back(std::move(st));
  }
  return out;
}

absl::StatusOr<std::optional<DialerHealth>> StatusCache::dialer(const Campaign& campaign,
                                                                WallTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  return dialer_health(*store_, campaign, now);
}

absl::StatusOr<StatusCache::CampaignView> StatusCache::view(std::string_view name, WallTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  PD_RETURN_IF_ERROR(refresh_version());
  PD_ASSIGN_OR_RETURN(const std::vector<Campaign>* campaigns, campaigns_locked());
  auto it = std::find_if(campaigns->begin(), campaigns->end(),
                         [&](const Campaign& c) { return c.name == name; });
  CampaignId id = 0;
  if (it != campaigns->end()) {
    id = it->id;
  } else {
    // Not listed: the store says why, in its own words (or finds it, made
    // since the version was read: the list is read again next time).
    PD_ASSIGN_OR_RETURN(Campaign found, store_->find_campaign(name));
    campaigns_.reset();
    id = found.id;
  }
  CampaignView out;
  PD_ASSIGN_OR_RETURN(out.status, status_locked(id));
  PD_ASSIGN_OR_RETURN(out.pacing, pacing_locked(out.status));
  PD_ASSIGN_OR_RETURN(out.dialer, dialer_health(*store_, out.status.campaign, now));
  return out;
}

absl::StatusOr<CampaignPacing> StatusCache::pacing(const CampaignStatus& status) {
  std::lock_guard<std::mutex> lock(mu_);
  PD_RETURN_IF_ERROR(refresh_version());
  return pacing_locked(status);
}

absl::StatusOr<CampaignPacing> StatusCache::pacing_locked(const CampaignStatus& status) {
  const CampaignId id = status.campaign.id;
  if (auto it = pacing_.find(id); it != pacing_.end()) return it->second;
  PD_ASSIGN_OR_RETURN(CampaignPacing p,
                      read_campaign_pacing(*store_, status.campaign, status.abandon));
  pacing_[id] = p;
  return p;
}

int64_t StatusCache::reads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reads_;
}

}  // namespace pd
