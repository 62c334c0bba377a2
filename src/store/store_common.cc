#include "store/store_common.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "core/status_macros.h"
#include "core/strings.h"

namespace pd::store_common {

int64_t wall_now_ms() {
  return std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_hex(size_t bytes) {
  std::random_device rd;
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < bytes; ++i) {
    const unsigned v = rd() & 0xff;
    out += kHex[v >> 4];
    out += kHex[v & 0xf];
  }
  return out;
}

absl::StatusOr<CampaignState> state_from(std::string_view text) {
  auto s = parse_campaign_state(text);
  if (!s) return absl::DataLossError(cat("unknown campaign state '", text, "'"));
  return *s;
}

std::string client_token(std::string_view instance_id, AttemptId attempt, int64_t started_ms) {
  return cat("pd-", instance_id, "-", attempt, "-", started_ms);
}

std::string ledger_day(WallTime t, std::string_view zone) {
  std::chrono::sys_days day = std::chrono::floor<std::chrono::days>(t);
  if (!zone.empty()) {
    try {
      const date::time_zone* z = date::locate_zone(zone);
      const auto local = z->to_local(t);
      day = std::chrono::sys_days(
          std::chrono::floor<std::chrono::days>(local).time_since_epoch());
    } catch (const std::exception&) {
      // An unknown zone cannot be stored (default-timezone is validated);
      // should one appear, UTC days are still days.
    }
  }
  const std::chrono::year_month_day ymd{day};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

std::string days_before(const std::string& day, int n) {
  int y = 0;
  unsigned m = 0, d = 0;
  std::sscanf(day.c_str(), "%d-%u-%u", &y, &m, &d);
  const std::chrono::sys_days earlier =
      std::chrono::sys_days(std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}) -
      std::chrono::days{n};
  return ledger_day(std::chrono::time_point_cast<Millis>(earlier), "");
}

absl::StatusOr<Verdict> caps_verdict(const CompliancePolicy& policy, const CalleeFacts& callee,
                                     std::string_view phone_e164, std::string_view cust_id,
                                     WallTime now, const CapLookup& lets_go) {
  const CompliancePolicy::PhoneCaps phone = policy.phone_caps_in(callee.region);
  const CompliancePolicy::CallCaps& customer = policy.customer_caps;
  if (!phone.caps.any() && !customer.any()) {
    Verdict v = Verdict::not_checked();
    v.rule = rule::kCap;
    return v;
  }
  // Every cap reached holds the customer; they wait for the one that lets
  // go last.
  std::optional<WallTime> until;
  std::string why;
  auto check = [&](bool per_customer, std::string_view key, int cap, Millis window,
                   std::string name) -> absl::Status {
    if (cap <= 0) return absl::OkStatus();
    PD_ASSIGN_OR_RETURN(std::optional<WallTime> t, lets_go(per_customer, key, cap, window));
    if (t && (!until || *t > *until)) {
      until = t;
      why = std::move(name);
    }
    return absl::OkStatus();
  };
  const std::string region = phone.region_24h || phone.region_7d ? cat(" ", callee.region) : "";
  PD_RETURN_IF_ERROR(check(false, phone_e164, phone.caps.per_24h, k24h,
                           cat("max-calls-per-24h", phone.region_24h ? region : "")));
  PD_RETURN_IF_ERROR(check(false, phone_e164, phone.caps.per_7d, k7d,
                           cat("max-calls-per-7d", phone.region_7d ? region : "")));
  PD_RETURN_IF_ERROR(check(true, cust_id, customer.per_24h, k24h, "max-customer-calls-per-24h"));
  PD_RETURN_IF_ERROR(check(true, cust_id, customer.per_7d, k7d, "max-customer-calls-per-7d"));
  if (until) return Verdict::defer(rule::kCap, std::max(*until, now + Millis{1}), why);
  Verdict v = Verdict::dial();
  v.rule = rule::kCap;
  return v;
}

absl::Status abandon_rate_paused(std::string_view campaign, const AbandonRates& rates) {
  return absl::FailedPreconditionError(
      cat("campaign '", campaign, "' paused: ", rates.pause_reason(), " (today ",
          format_abandon_rate(rates.rate_today()),
          "); it dials again when days leave the 30-day window or max-abandon-rate is raised"));
}

absl::StatusOr<std::string_view> disposition_code(std::string_view raw) {
  const std::string_view code = trim(raw);
  if (!is_disposition_code(code)) {
    return absl::InvalidArgumentError(
        cat("invalid disposition ", echo(raw),
            ": expected a code of 1-64 letters, digits, '_', '-' or '.'"));
  }
  return code;
}

absl::Status check_callback_at(std::string_view code, const DispositionRule* rule,
                               const std::optional<WallTime>& callback_at) {
  if (!callback_at || (rule != nullptr && rule->action == DispositionAction::kCallback)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      cat("callback_at is only for a code the campaign's dispositions map to callback; ", code,
          rule == nullptr ? " is not in the map" : cat(" is ", to_string(rule->action))));
}

}  // namespace pd::store_common
