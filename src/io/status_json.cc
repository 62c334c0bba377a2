#include "io/status_json.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "compliance/policy.h"
#include "core/config_keys.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/time_format.h"

namespace pd {

nlohmann::json outcomes_json(const std::map<Outcome, int64_t>& by_outcome) {
  nlohmann::json j = nlohmann::json::object();
  for (int i = 0; i < kOutcomeCount; ++i) {
    const auto o = static_cast<Outcome>(i);
    auto it = by_outcome.find(o);
    j[std::string(to_string(o))] = it == by_outcome.end() ? 0 : it->second;
  }
  return j;
}

int64_t customers_in(const CampaignStatus& status, CustomerState state) {
  auto it = status.customers_by_state.find(state);
  return it == status.customers_by_state.end() ? 0 : it->second;
}

nlohmann::json reject_counts_json(const RejectCounts& rejects) {
  nlohmann::json by_reason = nlohmann::json::object();
  for (const auto& [reason, rows] : rejects.by_reason) by_reason[reason] = rows;
  return {
      {"rejected_rows", rejects.rows},
      {"rejects_by_reason", std::move(by_reason)},
      {"rejects_not_listed", std::max<int64_t>(0, rejects.rows - rejects.listed)},
  };
}

absl::Status write_rejects_json(Store& store, CampaignId id, std::ostream& out) {
  PD_ASSIGN_OR_RETURN(RejectCounts counts, store.reject_counts(id));
  std::string head = reject_counts_json(counts).dump(2);
  head.pop_back();  // the closing brace: the rows follow
  while (!head.empty() && (head.back() == '\n' || head.back() == ' ')) head.pop_back();
  out << head << ",\n  \"rejects\": [";
  bool first = true;
  PD_RETURN_IF_ERROR(store.for_each_reject(id, [&](int64_t line, std::string_view reason) {
    out << (first ? "\n    " : ",\n    ")
        << nlohmann::json{{"line", line}, {"reason", reason}}.dump(
               -1, ' ', false, nlohmann::json::error_handler_t::replace);
    first = false;
  }));
  out << (first ? "]\n}\n" : "\n  ]\n}\n");
  return out ? absl::OkStatus() : absl::UnavailableError("the rejects could not be written out");
}

nlohmann::json dialer_json(const std::optional<DialerHealth>& dialer) {
  if (!dialer) return nullptr;
  return {
      {"owner", dialer->owner.empty() ? nlohmann::json(nullptr) : nlohmann::json(dialer->owner)},
      {"lease_until", dialer->lease_until ? nlohmann::json(format_iso8601(*dialer->lease_until))
                                          : nlohmann::json(nullptr)},
      {"responding", dialer->responding},
      {"problem",
       dialer->problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(dialer->problem)},
  };
}

nlohmann::json abandon_rates_json(const AbandonRates& a) {
  return {
      {"day", a.today},
      {"answered_today", a.answered_today},
      {"abandoned_today", a.abandoned_today},
      {"today", format_abandon_rate(a.rate_today())},
      {"answered_30d", a.answered_30d},
      {"abandoned_30d", a.abandoned_30d},
      {"rate_30d", format_abandon_rate(a.rate_30d())},
      {"max", format_rate(a.max_rate)},
      {"paused", a.over_max()},
      {"reason", a.over_max() ? nlohmann::json(cat("paused: ", a.pause_reason()))
                              : nlohmann::json(nullptr)},
  };
}

nlohmann::json waiting_json(const CampaignStatus& st) {
  // A compliance rule holds the customer callable next: say which and until
  // when, so "nothing is being dialled" reads as a rule, not a fault.
  if (st.next_callable_held.empty() || !st.next_callable_at) return nullptr;
  return {{"held", st.next_callable_held},
          {"until", format_iso8601(*st.next_callable_at)},
          {"text", waiting_text(st.next_callable_held, *st.next_callable_at)}};
}

nlohmann::json campaign_status_json(const CampaignStatus& st) {
  nlohmann::json by_state = nlohmann::json::object();
  for (auto s : {CustomerState::kPending, CustomerState::kDialing, CustomerState::kReached,
                 CustomerState::kExhausted, CustomerState::kSuppressed}) {
    by_state[std::string(to_string(s))] = customers_in(st, s);
  }
  nlohmann::json j = {
      {"campaign", st.campaign.name},
      {"state", to_string(st.campaign.state)},
      {"dialer", dialer_json(st.dialer)},
      {"customers", st.customers},
      {"customers_by_state", by_state},
      {"phones", st.phones},
      {"attempts", st.attempts},
      {"attempts_in_flight", st.attempts_in_flight},
      {"attempts_by_outcome", outcomes_json(st.attempts_by_outcome)},
  };
  j.update(reject_counts_json(st.rejects));
  j["abandon_rate"] = abandon_rates_json(st.abandon);
  // Only a real time: a customer never called is callable from the epoch,
  // which would read as "1970" (then someone is callable at once).
  if (st.next_callable_at && st.next_callable_at->time_since_epoch().count() > 0) {
    j["next_callable_at"] = format_iso8601(*st.next_callable_at);
  }
  if (nlohmann::json w = waiting_json(st); !w.is_null()) j["waiting"] = std::move(w);
  return j;
}

std::string pacing_setting_key(CampaignId id) { return cat("pacing/", id); }

nlohmann::json live_pacing_json(const LivePacing& live) {
  return {{"mode", live.mode},
          {"lines_per_agent", live.lines_per_agent},
          {"warming_up", live.warming_up},
          {"throttled", live.throttled},
          {"note", live.note},
          {"at", format_iso8601(live.at)}};
}

std::optional<LivePacing> parse_live_pacing(std::string_view text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto mode = j.find("mode");
  auto lines = j.find("lines_per_agent");
  auto at = j.find("at");
  if (mode == j.end() || !mode->is_string() || lines == j.end() || !lines->is_number() ||
      at == j.end() || !at->is_string())
    return std::nullopt;
  const std::optional<WallTime> when = parse_iso8601(at->get_ref<const std::string&>());
  if (!when) return std::nullopt;
  LivePacing live;
  live.mode = mode->get<std::string>();
  live.lines_per_agent = lines->get<double>();
  live.at = *when;
  if (auto w = j.find("warming_up"); w != j.end() && w->is_boolean()) live.warming_up = *w;
  if (auto t = j.find("throttled"); t != j.end() && t->is_number_integer()) live.throttled = *t;
  if (auto n = j.find("note"); n != j.end() && n->is_string()) live.note = *n;
  return live;
}

absl::StatusOr<std::optional<LivePacing>> read_live_pacing(Store& store,
                                                          const Campaign& campaign) {
  if (campaign.state != CampaignState::kRunning && campaign.state != CampaignState::kStopping)
    return std::optional<LivePacing>();
  PD_ASSIGN_OR_RETURN(std::optional<std::string> text,
                      store.setting(pacing_setting_key(campaign.id)));
  if (!text) return std::optional<LivePacing>();
  return parse_live_pacing(*text);
}

CampaignConfig shown_config(const std::map<std::string, std::string>& stored,
                            std::string_view campaign, const AbandonRates& abandon) {
  auto config = CampaignConfig::from(stored, campaign);
  CampaignConfig shown = config.ok() ? *config : CampaignConfig{};
  if (!config.ok()) {
    if (auto m = stored.find("pacing"); m != stored.end()) shown.pacing = m->second;
  }
  shown.max_abandon_rate = abandon.max_rate;
  return shown;
}

absl::StatusOr<CampaignPacing> read_campaign_pacing(Store& store, const Campaign& campaign,
                                                    const AbandonRates& abandon) {
  PD_ASSIGN_OR_RETURN(auto stored, store.config(campaign.id));
  CampaignPacing out;
  out.config = shown_config(stored, campaign.name, abandon);
  PD_ASSIGN_OR_RETURN(out.live, read_live_pacing(store, campaign));
  out.running = campaign.state == CampaignState::kRunning ||
                campaign.state == CampaignState::kStopping;
  return out;
}

namespace {
// Rates as fractions rounded to 0.01 percentage points: what a person can
// read, and a value a program compares without noise.
double rate_value(double rate) { return std::round(rate * 10000) / 10000; }
}  // namespace

nlohmann::json pacing_json(const CampaignConfig& config, const AbandonRates& abandon,
                           const std::optional<LivePacing>& live) {
  const bool over = abandon.answered_30d > 0 && abandon.rate_30d() > config.target_abandon_rate;
  return {
      {"mode", config.pacing},
      {"lines_per_agent",
       live ? nlohmann::json(std::round(live->lines_per_agent * 100) / 100) : nlohmann::json()},
      {"configured_lines_per_agent", config.lines_per_agent},
      {"max_lines_per_agent", config.max_lines_per_agent},
      {"abandon_rate_today", rate_value(abandon.rate_today())},
      {"abandon_rate_30d", rate_value(abandon.rate_30d())},
      {"target_abandon_rate", config.target_abandon_rate},
      {"max_abandon_rate", config.max_abandon_rate},
      {"over_target", over},
      {"warming_up", live ? live->warming_up : false},
      {"throttled", live ? live->throttled : 0},
      {"note", live && !live->note.empty() ? nlohmann::json(live->note) : nlohmann::json()},
      {"updated_at", live ? nlohmann::json(format_iso8601(live->at)) : nlohmann::json()},
  };
}

std::string pacing_text(const CampaignConfig& config, const AbandonRates& abandon,
                        const std::optional<LivePacing>& live, WallTime now, bool running) {
  std::string out = config.pacing;
  if (live) {
    out += fmt::format(", {:.2f} lines per agent", live->lines_per_agent);
    if (live->warming_up) out += " (warming up: dialling as power mode)";
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - live->at).count();
    if (age >= 60) out += fmt::format(" as of {} ago", wait_duration_text(live->at, now));
  } else {
    out += running ? ", starting" : ", not dialling";
  }
  if (config.pacing == "progressive") {
    out += fmt::format(" (lines-per-agent {}, max {})", fmt::format("{:g}", config.lines_per_agent),
                       fmt::format("{:g}", config.max_lines_per_agent));
  } else if (config.pacing != "power") {
    out += fmt::format(" (max-lines-per-agent {:g})", config.max_lines_per_agent);
  }
  out += cat("; abandons today ", format_abandon_rate(abandon.rate_today()), ", 30 days ",
             format_abandon_rate(abandon.rate_30d()), ", target ",
             format_rate(config.target_abandon_rate), " (max ", format_rate(config.max_abandon_rate),
             ")");
  if (abandon.answered_30d > 0 && abandon.rate_30d() > config.target_abandon_rate)
    out += ": over target";
  if (live && !live->note.empty()) out += cat("; ", live->note);
  return out;
}

nlohmann::json config_values_json(const std::map<std::string, std::string>& stored) {
  nlohmann::json j = nlohmann::json::object();
  for (const ConfigKey& k : all_config_keys()) {
    auto it = stored.find(std::string(k.name));
    const std::string v = it != stored.end() ? it->second : std::string(k.default_value);
    j[std::string(k.name)] = v.empty() ? nlohmann::json(nullptr) : nlohmann::json(v);
  }
  return j;
}

}  // namespace pd
