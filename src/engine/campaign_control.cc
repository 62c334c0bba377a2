#include "engine/campaign_control.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <random>

#include "core/advice.h"
#include "core/clock.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace pd {
namespace {

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

absl::Status check_campaign_name(std::string_view name) {
  const bool ok =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
  if (!ok) {
    return absl::InvalidArgumentError(
        cat("invalid campaign name ", echo(name), ": use 1-64 letters, digits, '-', '_' or '.'"));
  }
  // A URL path cannot name them (/api/campaigns/.. is the parent), and as
  // file names they are folders.
  if (name == "." || name == "..") {
    return absl::InvalidArgumentError(
        cat("invalid campaign name ", echo(name), ": '.' and '..' are not names"));
  }
  return absl::OkStatus();
}

std::string new_dialer_owner_id() {
  std::random_device rd;
  return fmt::format("{}:{}:{:08x}", hostname(), ::getpid(), rd());
}

absl::Status break_dead_lease(Store& store, CampaignId id) {
  PD_ASSIGN_OR_RETURN(auto lease, store.lease(id));
  if (!lease) return absl::OkStatus();
  const std::string& owner = lease->first;
  const size_t a = owner.find(':');
  const size_t b = owner.find(':', a + 1);
  if (a == std::string::npos || b == std::string::npos) return absl::OkStatus();
  if (owner.substr(0, a) != hostname()) return absl::OkStatus();
  const pid_t pid = static_cast<pid_t>(std::strtol(owner.c_str() + a + 1, nullptr, 10));
  if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) return store.break_lease(id);
  return absl::OkStatus();
}

absl::StatusOr<StartPlan> prepare_campaign_start(Store& store, std::string_view name) {
  StartPlan plan;
  PD_ASSIGN_OR_RETURN(plan.campaign, store.find_campaign(name));
  PD_ASSIGN_OR_RETURN(auto stored, store.config(plan.campaign.id));
  PD_ASSIGN_OR_RETURN(plan.config, CampaignConfig::from(stored, plan.campaign.name));
  PD_ASSIGN_OR_RETURN(CampaignStatus before, store.status(plan.campaign.id));
  if (before.customers == 0) {
    return with_advice(absl::FailedPreconditionError(
                           cat("campaign '", plan.campaign.name, "' has no dialing list")),
                       {Remedy::kLoadList, plan.campaign.name, ""});
  }
  PD_RETURN_IF_ERROR(break_dead_lease(store, plan.campaign.id));
  PD_ASSIGN_OR_RETURN(auto lease, store.lease(plan.campaign.id));
  if (lease && lease->second > system_clock().wall_now()) {
    return with_advice(absl::FailedPreconditionError(cat(
                           "campaign '", plan.campaign.name,
                           "' is being run by another powerdialer process (", lease->first, ")")),
                       {Remedy::kStopCampaign, plan.campaign.name, ""});
  }
  return plan;
}

absl::StatusOr<StopResult> request_campaign_stop(Store& store, const Campaign& campaign) {
  // Nobody holds the lease (the dialer was killed): there is no one to
  // finish the calls, so the campaign is stopped now; the next run resolves
  // whatever the dead process left in flight.
  if (campaign.state == CampaignState::kRunning || campaign.state == CampaignState::kStopping) {
    PD_RETURN_IF_ERROR(break_dead_lease(store, campaign.id));
    PD_ASSIGN_OR_RETURN(auto lease, store.lease(campaign.id));
    if (!lease || lease->second <= system_clock().wall_now()) {
      PD_RETURN_IF_ERROR(store
                             .transition(campaign.id,
                                         {CampaignState::kRunning, CampaignState::kStopping},
                                         CampaignState::kStopped)
                             .status());
      return StopResult::kStoppedNow;
    }
  }
  if (campaign.state == CampaignState::kStopping) return StopResult::kAlreadyStopping;
  auto moved = store.transition(campaign.id, {CampaignState::kRunning}, CampaignState::kStopping);
  if (!moved.ok()) {
    if (!absl::IsFailedPrecondition(moved.status())) return moved.status();
    return absl::FailedPreconditionError(cat(
        "campaign '", campaign.name, "' is not running (it is ", to_string(campaign.state), ")"));
  }
  return StopResult::kRequested;
}

}  // namespace pd
