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
#include "core/time_format.h"

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

namespace {

// The pid of a lease owner ("host:pid:random") on this machine whose
// process is gone; 0 otherwise (another machine, or alive, or unknown).
pid_t gone_local_process(const std::string& owner) {
  const size_t a = owner.find(':');
  const size_t b = a == std::string::npos ? a : owner.find(':', a + 1);
  if (a == std::string::npos || b == std::string::npos) return 0;
  if (owner.substr(0, a) != hostname()) return 0;
  const pid_t pid = static_cast<pid_t>(std::strtol(owner.c_str() + a + 1, nullptr, 10));
  if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) return pid;
  return 0;
}

}  // namespace

absl::Status break_dead_lease(Store& store, CampaignId id) {
  PD_ASSIGN_OR_RETURN(auto lease, store.lease(id));
  if (!lease) return absl::OkStatus();
  if (gone_local_process(lease->owner) != 0) return store.break_lease(id);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<DialerHealth>> dialer_health(Store& store, const Campaign& campaign,
                                                          WallTime now) {
  if (campaign.state != CampaignState::kRunning && campaign.state != CampaignState::kStopping) {
    return std::nullopt;
  }
  PD_ASSIGN_OR_RETURN(auto lease, store.lease(campaign.id));
  DialerHealth h;
  if (!lease) {
    // A dialer takes the lease before it marks the campaign running and
    // gives it up only after marking it stopped or done.
    h.responding = false;
    h.problem = "no dialer holds it";
    return h;
  }
  h.owner = lease->owner;
  h.lease_until = lease->until;
  if (const pid_t pid = gone_local_process(h.owner); pid != 0) {
    h.responding = false;
    h.problem = cat("dialer process ", pid, " on this machine has exited");
  } else if (lease->until <= now) {
    h.responding = false;
    h.problem = cat("dialer not responding since ", format_iso8601(lease->until));
  }
  return h;
}

absl::StatusOr<Campaign> stop_if_dialer_dead(Store& store, const Campaign& campaign, WallTime now) {
  // One transaction from the look at the lease to the stop, so a dialer
  // starting meanwhile is never stopped by mistake.
  PD_RETURN_IF_ERROR(store.begin_batch());
  absl::StatusOr<Campaign> result = [&]() -> absl::StatusOr<Campaign> {
    PD_ASSIGN_OR_RETURN(Campaign current, store.campaign(campaign.id));
    PD_ASSIGN_OR_RETURN(std::optional<DialerHealth> health, dialer_health(store, current, now));
    if (!health || health->responding) return current;
    if (!health->owner.empty()) PD_RETURN_IF_ERROR(store.release_lease(current.id, health->owner));
    return store.transition(current.id, {CampaignState::kRunning, CampaignState::kStopping},
                            CampaignState::kStopped);
  }();
  if (!result.ok()) {
    store.abort_batch();
    return result;
  }
  if (absl::Status s = store.commit_batch(); !s.ok()) {
    store.abort_batch();
    return s;
  }
  return result;
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
  if (lease && lease->until > system_clock().wall_now()) {
    return with_advice(absl::FailedPreconditionError(cat(
                           "campaign '", plan.campaign.name,
                           "' is being run by another powerdialer process (", lease->owner, ")")),
                       {Remedy::kStopCampaign, plan.campaign.name, ""});
  }
  return plan;
}

absl::StatusOr<WallTime> simulated_clock_start(Store& store) {
  PD_ASSIGN_OR_RETURN(std::optional<WallTime> latest, store.latest_recorded_time());
  if (!latest) return WallTime{};
  return *latest + Millis(1);
}

absl::Status check_clock_start(Store& store, WallTime requested, std::string_view option) {
  PD_ASSIGN_OR_RETURN(std::optional<WallTime> latest, store.latest_recorded_time());
  if (!latest || *latest < requested) return absl::OkStatus();
  return absl::FailedPreconditionError(
      cat(option, " ", format_iso8601(requested), " is not after the latest time this store "
          "recorded (", format_iso8601(*latest), "): a clock that went back would put results out "
          "of order and count calls from its future against contact caps and lockouts; start "
          "later, or use a new store (--db)"));
}

absl::StatusOr<StopResult> request_campaign_stop(Store& store, const Campaign& campaign) {
  // Nobody holds the lease (the dialer was killed): there is no one to
  // finish the calls, so the campaign is stopped now; the next run resolves
  // whatever the dead process left in flight.
  if (campaign.state == CampaignState::kRunning || campaign.state == CampaignState::kStopping) {
    PD_RETURN_IF_ERROR(break_dead_lease(store, campaign.id));
    PD_ASSIGN_OR_RETURN(auto lease, store.lease(campaign.id));
    if (!lease || lease->until <= system_clock().wall_now()) {
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
