#include "server/api.h"

#include <charconv>
#include <iostream>

#include "absl/strings/str_split.h"
#include "core/advice.h"
#include "core/clock.h"
#include "core/config_keys.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "engine/campaign_control.h"
#include "engine/compliance_report.h"
#include "io/dnc_file.h"
#include "io/files_folder.h"
#include "io/list_import.h"
#include "io/object_io.h"
#include "io/phone.h"
#include "io/status_json.h"
#include "server/live_feed.h"

namespace pd {
namespace {

using json = nlohmann::json;

// The error naming the config key it is about: as sent, unless it is too
// long to be one, when it is cut short as every echo of input is.
ApiResponse error_with_key(const absl::Status& status, std::string_view key) {
  ApiResponse r = api_error(status);
  r.body["key"] = key.size() <= kMaxEcho ? std::string(key) : echo(key);
  return r;
}

// A configuration value the request got wrong (an unknown key included) is
// bad input: 400, naming the key.
ApiResponse bad_config(const absl::Status& status, std::string_view key) {
  ApiResponse r = error_with_key(status, key);
  r.status = 400;
  return r;
}

// The config keys that name a local file (or an s3:// object).
bool names_a_file(std::string_view key) { return key == "inputfile" || key == "outputfile"; }

// Parses a request body that must be a JSON object.
absl::StatusOr<json> parse_object(std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("the request body is not valid JSON");
  if (!j.is_object()) return absl::InvalidArgumentError("the request body must be a JSON object");
  return j;
}

// A ListWriter that asks `check` before committing: an upload cut short
// must not replace the list with its first half.
class GuardedWriter final : public ListWriter {
 public:
  GuardedWriter(std::unique_ptr<ListWriter> inner, const std::function<absl::Status()>& check)
      : inner_(std::move(inner)), check_(check) {}
  absl::StatusOr<bool> add(std::string_view cust_id, std::string_view phone_e164,
                           std::string_view attributes_json, int64_t line,
                           const CalleeFacts& callee) override {
    return inner_->add(cust_id, phone_e164, attributes_json, line, callee);
  }
  absl::Status reject(int64_t line, std::string_view reason) override {
    return inner_->reject(line, reason);
  }
  absl::Status count_rejects(const std::map<std::string, int64_t>& by_reason) override {
    return inner_->count_rejects(by_reason);
  }
  absl::Status commit() override {
    if (check_) PD_RETURN_IF_ERROR(check_());
    return inner_->commit();
  }

 private:
  std::unique_ptr<ListWriter> inner_;
  const std::function<absl::Status()>& check_;
};

}  // namespace

std::optional<LiveStats> live_while_running(const CampaignHost& host, const Campaign& campaign) {
  if (campaign.state != CampaignState::kRunning && campaign.state != CampaignState::kStopping) {
    return std::nullopt;
  }
  return host.live(campaign.name);
}

int http_status_for(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 408;
    default:
      return 500;
  }
}

ApiResponse api_error(const absl::Status& status) {
  return {http_status_for(status), {{"error", message_for(status, Audience::kApi)}}};
}

StorePool::StorePool(std::string db_path, size_t max_idle)
    : db_path_(std::move(db_path)), max_idle_(max_idle) {}

StorePool::~StorePool() = default;

absl::StatusOr<StorePool::Handle> StorePool::acquire() {
  std::unique_ptr<Store> store;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      store = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!store) {
    auto opened = open_store(db_path_, /*create=*/false);
    if (!opened.ok()) {
      // The store's own words name its file and the command that fixes it:
      // for the operator's log, not for an API client.
      std::cerr << "powerdialer serve: " << sv(opened.status().message()) << "\n";
      return absl::UnavailableError("the server cannot open its store; its log says why");
    }
    store = *std::move(opened);
  }
  return Handle(store.release(), [this](Store* s) {
    std::unique_ptr<Store> owned(s);
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(owned));
  });
}

Api::Api(StorePool& stores, CampaignHost* host, std::string files_folder, StatusCache* statuses,
         NodeAgent* node)
    : stores_(stores),
      host_(host),
      files_folder_(std::move(files_folder)),
      statuses_(statuses),
      node_(node) {}

absl::StatusOr<CampaignStatus> Api::status_of(Store& store, CampaignId id) {
  return statuses_ ? statuses_->status(id) : store.status(id);
}

json Api::summary_json(const CampaignStatus& st) const {
  json out = {
      {"name", st.campaign.name},
      {"state", to_string(st.campaign.state)},
      {"customers", st.customers},
      {"attempts", st.attempts},
      {"reached", customers_in(st, CustomerState::kReached)},
      {"exhausted", customers_in(st, CustomerState::kExhausted)},
      {"suppressed", customers_in(st, CustomerState::kSuppressed)},
      {"pending",
       customers_in(st, CustomerState::kPending) + customers_in(st, CustomerState::kDialing)},
      {"in_flight", st.attempts_in_flight},
  };
  // Which contact centre this server dials: "sim" or "connect".
  if (host_) out["backend"] = host_->backend();
  return out;
}

ApiResponse Api::list_campaigns() {
  auto store = stores_.acquire();
  if (!store.ok()) return api_error(store.status());
  auto list = (*store)->list_campaigns();
  if (!list.ok()) return api_error(list.status());
  json out = json::array();
  const WallTime now = system_clock().wall_now();
  for (const Campaign& c : *list) {
    auto st = status_of(**store, c.id);
    if (!st.ok()) return api_error(st.status());
    json summary = summary_json(*st);
    // The node (dialer) that runs it: a live lease's owner.
    auto dialer = dialer_health(**store, st->campaign, now);
    if (!dialer.ok()) return api_error(dialer.status());
    summary["node"] = *dialer && (*dialer)->responding ? json((*dialer)->owner) : json(nullptr);
    out.push_back(std::move(summary));
  }
  return {200, {{"campaigns", std::move(out)}}};
}

ApiResponse Api::create_campaign(std::string_view body) {
  auto j = parse_object(body);
  if (!j.ok()) return api_error(j.status());
  auto name = j->find("name");
  if (name == j->end() || !name->is_string()) {
    return api_error(absl::InvalidArgumentError("'name' (a string) is required"));
  }
  const std::string n = name->get<std::string>();
  if (auto s = check_campaign_name(n); !s.ok()) return api_error(s);
  auto store = stores_.acquire();
  if (!store.ok()) return api_error(store.status());
  auto existing = (*store)->find_campaign(n);
  if (existing.ok()) {
    return api_error(absl::AlreadyExistsError(cat("campaign ", echo(n), " exists")));
  }
  if (!absl::IsNotFound(existing.status())) return api_error(existing.status());
  auto created = (*store)->init_campaign(n);
  if (!created.ok()) return api_error(created.status());
  auto st = (*store)->status(created->id);
  if (!st.ok()) return api_error(st.status());
  return {201, summary_json(*st)};
}

ApiResponse Api::get_campaign(std::string_view name) {
  if (auto s = check_campaign_name(name); !s.ok()) return api_error(s);
  auto store = stores_.acquire();
  if (!store.ok()) return api_error(store.status());
  auto c = (*store)->find_campaign(name);
  if (!c.ok()) return api_error(c.status());
  auto st = status_of(**store, c->id);
  if (!st.ok()) return api_error(st.status());
  auto dialer = dialer_health(**store, st->campaign, system_clock().wall_now());
  if (!dialer.ok()) return api_error(dialer.status());
  st->dialer = *dialer;
  json out = campaign_status_json(*st);
  // The node (dialer) that runs it: its live lease's owner.
  out["node"] = *dialer && (*dialer)->responding ? json((*dialer)->owner) : json(nullptr);
  if (host_) out["backend"] = host_->backend();
  const std::optional<LiveStats> live =
      host_ ? live_while_running(*host_, st->campaign) : std::nullopt;
  out["live"] = live_json(live);
  // Through the cache when there is one: the configuration is read again
  // only after a commit, as the status is.
  auto pacing = statuses_ ? statuses_->pacing(*st)
                          : read_campaign_pacing(**store, st->campaign, st->abandon);
  if (!pacing.ok()) return api_error(pacing.status());
  if (live && live->pacing) pacing->live = live->pacing;  // fresher than the store's
  out["pacing"] = pacing_json(pacing->config, st->abandon, pacing->live);
  return {200, std::move(out)};
}

ApiResponse Api::get_config(std::string_view name) {
  if (auto s = check_campaign_name(name); !s.ok()) return api_error(s);
  auto store = stores_.acquire();
  if (!store.ok()) return api_error(store.status());
  auto c = (*store)->find_campaign(name);
  if (!c.ok()) return api_error(c.status());
  auto stored = (*store)->config(c->id);
  if (!stored.ok()) return api_error(stored.status());
  json keys = json::array();
  for (const ConfigKey& k : all_config_keys()) {
    json key = {{"name", k.name},
                {"description", k.description},
                {"default", k.default_value.empty() ? json(nullptr) : json(k.default_value)}};
    // The allowed values, so a form offers a choice instead of free text.
    if (k.kind == ConfigKind::kChoice) {
      std::vector<std::string> choices =
          absl::StrSplit(absl::string_view(k.choices.data(), k.choices.size()), '|');
      key["choices"] = std::move(choices);
    }
    keys.push_back(std::move(key));
  }
  return {200, {{"config", config_values_json(*stored)}, {"keys", std::move(keys)}}};
}

ApiResponse Api::compliance(std::string_view name) {
  if (auto s = check_campaign_name(name); !s.ok()) return api_error(s);
  auto store = stores_.acquire();
  if (!store.ok()) return api_error(store.status());
  auto c = (*store)->find_campaign(name);
  if (!c.ok()) return api_error(c.status());
  auto report = compliance_report(**store, *c, system_clock().wall_now());
  if (!report.ok()) return api_error(report.status());
  return {200, compliance_json(*report)};
}

ApiResponse Api::patch_config(std::string_view name, std::string_view body) {
  if (auto s = check_campaign_name(name); !s.ok()) return api_error(s);
  auto j = parse_object(body);
  if (!j.ok()) return api_error(j.status());
  // Everything is validated before anything changes.
  std::map<std::string, std::optional<std::string>> changes;
  for (const auto& [key, value] : j->items()) {
    const ConfigKey* known = find_config_key(key);
    if (known == nullptr) return bad_config(validate_config_value(key, "").status(), key);
    // An endpoint decides where the server sends requests signed with its
    // AWS credentials: the server's operator sets it (config set, or
    // AWS_ENDPOINT_URL_*), never an API client.
    if (known->kind == ConfigKind::kUrl) {
      return {403,
              {{"error", cat(key, " is set only by the server's operator (on the server: ",
                             "config set, or AWS_ENDPOINT_URL_*), not through the API")},
               {"key", key}}};
    }
    if (value.is_null()) {
      changes[key] = std::nullopt;
      continue;
    }
    std::string text;
    if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_number()) {
      text = value.dump();
    } else {
      return bad_config(
          absl::InvalidArgumentError(cat("invalid value for ", key, ": a string or null")), key);
    }
    auto valid = validate_config_value(key, text);
    if (!valid.ok()) return bad_config(valid.status(), key);
    changes[key] = *valid;
  }
  auto store = stores_.acquire();
  if (!store.ok()) return api_error(store.status());
  auto c = (*store)->find_campaign(name);
  if (!c.ok()) return api_error(c.status());
  if (auto refused = keep_files_in_folder(**store, c->id, changes)) return *refused;
  if (!changes.empty()) {
    Store& s = **store;
    if (auto b = s.begin_batch(); !b.ok()) return api_error(b);
    for (const auto& [key, value] : changes) {
      absl::Status done = value ? s.set_config(c->id, key, *value) : s.unset_config(c->id, key);
      if (!done.ok()) {
        s.abort_batch();
        return error_with_key(done, key);
      }
    }
    if (auto committed = s.commit_batch(); !committed.ok()) {
      s.abort_batch();
      return api_error(committed);
    }
  }
  return get_config(name);
}

std::optional<ApiResponse> Api::keep_files_in_folder(
    Store& store, CampaignId id, std::map<std::string, std::optional<std::string>>& changes) const {
  // A bare inputfile name with io-bucket set is that bucket's object
  // (CampaignConfig::input_location), not a local file.
  std::optional<std::string> bucket;
  if (auto it = changes.find("io-bucket"); it != changes.end()) {
    bucket = it->second;
  } else {
    auto stored = store.config(id);
    if (!stored.ok()) return api_error(stored.status());
    if (auto s = stored->find("io-bucket"); s != stored->end()) bucket = s->second;
  }
  for (auto& [key, value] : changes) {
    if (!names_a_file(key) || !value || is_s3_location(*value)) continue;
    if (key == "inputfile" && bucket && value->find('/') == std::string::npos) continue;
    if (files_folder_.empty()) {
      return bad_config(absl::InvalidArgumentError(cat(key,
                                                       ": this server takes no local files; "
                                                       "use s3://bucket/key")),
                        key);
    }
    // Stored as the absolute path, so the command line and the server
    // agree on which file it is.
    auto inside = path_in_folder(files_folder_, key, *value);
    if (!inside.ok()) return bad_config(inside.status(), key);
    value = *std::move(inside);
  }
  return std::nullopt;
}

ApiResponse Api::load_list(std::string_view name, bool append, std::istream& csv,
                           const std::function<absl::Status()>& before_commit) {
  if (auto s = check_campaign_name(name); !s.ok()) return api_error(s);
  if (host_ && host_->running_here(name)) {
    return api_error(absl::FailedPreconditionError(
        cat("campaign ", echo(name), " is running; stop it before loading a list")));
  }
  auto store = stores_.acquire();
  if (!store.ok()) return api_error(store.status());
  auto c = (*store)->find_campaign(name);
  if (!c.ok()) return api_error(c.status());
  auto stored = (*store)->config(c->id);
  if (!stored.ok()) return api_error(stored.status());
  auto config = CampaignConfig::from(*stored, c->name);
  if (!config.ok()) return api_error(config.status());
  if (node_ != nullptr) {
    // Among dialer nodes, a running campaign whose dialer died is not
    // stopped by a load: a node takes it over within a heartbeat.
    if (c->state == CampaignState::kRunning || c->state == CampaignState::kStopping) {
      return api_error(with_advice(
          absl::FailedPreconditionError(cat("campaign ", echo(name), " is ", to_string(c->state),
                                            "; stop it before loading a list")),
          {Remedy::kStopCampaign, c->name, ""}));
    }
  } else if (auto settled = stop_if_dialer_dead(**store, *c, system_clock().wall_now());
             !settled.ok()) {
    // A dialer that died elsewhere must not block the load.
    return api_error(settled.status());
  }

  json rejects = json::array();
  ImportOptions options;
  options.default_region = config->default_region;
  options.workers = 1;  // a threaded server does not fork phone workers
  options.on_reject = [&](int64_t line, std::string_view reason) {
    if (rejects.size() < kMaxRejectsShown) rejects.push_back({{"line", line}, {"reason", reason}});
  };
  Store& s = **store;
  const CampaignId id = c->id;
  auto summary = import_list(
      csv, cat("campaign '", name, "' list"),
      [&]() -> absl::StatusOr<std::unique_ptr<ListWriter>> {
        PD_ASSIGN_OR_RETURN(auto writer,
                            s.begin_list(id, append ? LoadMode::kAppend : LoadMode::kReplace));
        return std::unique_ptr<ListWriter>(
            std::make_unique<GuardedWriter>(std::move(writer), before_commit));
      },
      options);
  if (!summary.ok()) {
    ApiResponse r = api_error(summary.status());
    if (!rejects.empty()) r.body["rejects"] = std::move(rejects);
    return r;
  }
  auto st = s.status(id);
  if (!st.ok()) return api_error(st.status());
  return {200,
          {{"loaded", summary->loaded},
           {"rejected", summary->rejected},
           {"rejected_by_reason", summary->rejected_by_reason},
           {"duplicates", summary->duplicates},
           {"customers", st->customers},
           {"phones", st->phones},
           {"rejects", std::move(rejects)}}};
}

ApiResponse Api::start(std::string_view name) {
  if (host_ == nullptr) return api_error(absl::UnavailableError("this server does not dial"));
  if (auto s = host_->start(name); !s.ok()) return api_error(s);
  return {202, {{"state", "running"}}};
}

ApiResponse Api::set_disposition(std::string_view name, std::string_view attempt_ref,
                                 std::string_view body) {
  if (auto s = check_campaign_name(name); !s.ok()) return api_error(s);
  auto j = parse_object(body);
  if (!j.ok()) return api_error(j.status());
  for (const auto& [key, value] : j->items()) {
    if (key != "disposition" && key != "callback_at") {
      return api_error(absl::InvalidArgumentError(
          cat("unknown field ", echo(key), "; expected 'disposition' and optional 'callback_at'")));
    }
  }
  auto code = j->find("disposition");
  if (code == j->end() || !code->is_string()) {
    return api_error(absl::InvalidArgumentError("'disposition' (a string) is required"));
  }
  std::optional<WallTime> callback_at;
  if (auto at = j->find("callback_at"); at != j->end() && !at->is_null()) {
    if (at->is_string()) callback_at = parse_iso8601(at->get_ref<const std::string&>());
    if (!callback_at) {
      return api_error(absl::InvalidArgumentError(
          "'callback_at' must be an RFC 3339 time such as 2026-12-03T15:00:00Z"));
    }
  }
  auto store = stores_.acquire();
  if (!store.ok()) return api_error(store.status());
  auto c = (*store)->find_campaign(name);
  if (!c.ok()) return api_error(c.status());
  AttemptId attempt = 0;
  auto [end, ec] = std::from_chars(attempt_ref.data(), attempt_ref.data() + attempt_ref.size(),
                                   attempt);
  if (ec != std::errc() || end != attempt_ref.data() + attempt_ref.size() || attempt <= 0) {
    auto found = (*store)->find_attempt_by_contact(attempt_ref);
    if (!found.ok()) return api_error(found.status());
    if (!*found || (*found)->campaign != c->name) {
      return api_error(absl::NotFoundError(
          cat("no attempt with id or contact id ", echo(attempt_ref), " in campaign ", echo(name))));
    }
    attempt = (*found)->id;
  }
  const WallTime now = system_clock().wall_now();
  auto done = (*store)->set_disposition(c->id, attempt, code->get<std::string>(), callback_at, now);
  if (!done.ok()) return api_error(done.status());
  json out = {{"attempt", attempt},
              {"disposition", std::string(trim(code->get<std::string>()))},
              {"action", done->action.empty() ? json(nullptr) : json(done->action)},
              {"applied", done->applied},
              {"callable_at", done->callable_at ? json(format_iso8601(*done->callable_at))
                                                : json(nullptr)}};
  return {200, std::move(out)};
}

ApiResponse Api::stop(std::string_view name) {
  if (host_ == nullptr) return api_error(absl::UnavailableError("this server does not dial"));
  auto r = host_->stop(name);
  if (!r.ok()) return api_error(r.status());
  return {202, {{"state", *r == StopResult::kStoppedNow ? "stopped" : "stopping"}}};
}

ApiResponse Api::nodes() {
  auto store = stores_.acquire();
  if (!store.ok()) return api_error(store.status());
  const WallTime now = system_clock().wall_now();
  auto view = read_nodes(**store, now);
  if (!view.ok()) return api_error(view.status());
  json nodes = json::array();
  for (const NodeView& n : view->nodes) {
    nodes.push_back({{"id", n.node.id},
                     {"until", format_iso8601(n.node.until)},
                     {"draining", n.node.draining},
                     {"campaigns", n.campaigns}});
  }
  return {200,
          {{"this_node", node_ ? json(node_->id()) : json(nullptr)},
           {"nodes", std::move(nodes)},
           {"unheld", view->unheld}}};
}

ApiResponse Api::drain_node() {
  if (node_ == nullptr) return api_error(absl::UnavailableError("this server is not a dialer node"));
  std::vector<std::string> handing = node_->drain();
  auto others = node_->others_serving();
  json out = {{"node", node_->id()}, {"draining", true}, {"handing_over", handing}};
  if (others.ok()) out["other_nodes_serving"] = *others;
  return {202, std::move(out)};
}

absl::StatusOr<Api::CampaignSource> Api::campaign_source(std::string_view name) {
  PD_RETURN_IF_ERROR(check_campaign_name(name));
  CampaignSource src;
  PD_ASSIGN_OR_RETURN(src.store, stores_.acquire());
  PD_ASSIGN_OR_RETURN(Campaign c, src.store->find_campaign(name));
  src.campaign = c.id;
  return src;
}

}  // namespace pd

// ---------------------------------------------------------------------------
// The do-not-call list.

namespace pd {
namespace {

// A JSON string member, or `fallback` when absent; an error for another type.
absl::StatusOr<std::string> string_member(const nlohmann::json& j, const char* key,
                                          std::string fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) return absl::InvalidArgumentError(cat("'", key, "' must be a string"));
  return it->get<std::string>();
}

absl::StatusOr<std::optional<WallTime>> expires_member(const std::string& text) {
  if (text.empty()) return std::optional<WallTime>();
  auto t = parse_dnc_expires(text);
  if (!t.ok()) return absl::InvalidArgumentError(cat("'expires': ", t.status().message()));
  return std::optional<WallTime>(*t);
}

absl::Status check_region(std::string_view region) {
  if (is_supported_region(to_upper(region))) return absl::OkStatus();
  return absl::InvalidArgumentError(cat("'region': unknown region ", echo(region),
                                        " (expected an ISO 3166 two-letter code such as US)"));
}

}  // namespace

ApiResponse Api::dnc_check(std::string_view number, std::string_view region) {
  if (auto s = check_region(region); !s.ok()) return api_error(s);
  auto e164 = normalize_dnc_number(number, region);
  if (!e164.ok()) return api_error(e164.status());
  auto store = stores_.acquire();
  if (!store.ok()) return api_error(store.status());
  auto entry = (*store)->find_dnc(*e164);
  if (!entry.ok()) return api_error(entry.status());
  return {200, dnc_check_json(*e164, *entry, system_clock().wall_now())};
}

ApiResponse Api::dnc_add(std::string_view body) {
  auto j = parse_object(body);
  if (!j.ok()) return api_error(j.status());
  auto numbers = j->find("numbers");
  if (numbers == j->end() || !numbers->is_array() || numbers->empty()) {
    return api_error(
        absl::InvalidArgumentError("'numbers' (a non-empty array of phone numbers) is required"));
  }
  auto source = string_member(*j, "source", "api");
  if (!source.ok()) return api_error(source.status());
  if (auto s = check_dnc_source(*source); !s.ok()) return api_error(s);
  auto expires_text = string_member(*j, "expires", "");
  if (!expires_text.ok()) return api_error(expires_text.status());
  auto expires = expires_member(*expires_text);
  if (!expires.ok()) return api_error(expires.status());
  auto region = string_member(*j, "region", "US");
  if (!region.ok()) return api_error(region.status());
  if (auto s = check_region(*region); !s.ok()) return api_error(s);
  // Every number is checked before any is added.
  std::vector<std::string> e164;
  for (size_t i = 0; i < numbers->size(); ++i) {
    const json& n = (*numbers)[i];
    if (!n.is_string()) {
      return api_error(absl::InvalidArgumentError(cat("'numbers'[", i, "] must be a string")));
    }
    auto e = normalize_dnc_number(n.get<std::string>(), *region);
    if (!e.ok()) {
      return api_error(absl::InvalidArgumentError(cat("'numbers'[", i, "]: ", e.status().message())));
    }
    e164.push_back(*std::move(e));
  }
  auto store = stores_.acquire();
  if (!store.ok()) return api_error(store.status());
  auto writer = (*store)->begin_dnc({system_clock().wall_now(), ""});
  if (!writer.ok()) return api_error(writer.status());
  for (const std::string& n : e164) {
    if (auto s = (*writer)->add(n, *source, *expires); !s.ok()) return api_error(s);
  }
  auto done = (*writer)->commit();
  if (!done.ok()) return api_error(done.status());
  return {200, {{"added", e164}, {"source", *source}, {"total", done->total}}};
}

ApiResponse Api::dnc_remove(std::string_view number, std::string_view region) {
  if (auto s = check_region(region); !s.ok()) return api_error(s);
  auto e164 = normalize_dnc_number(number, region);
  if (!e164.ok()) return api_error(e164.status());
  auto store = stores_.acquire();
  if (!store.ok()) return api_error(store.status());
  auto removed = (*store)->remove_dnc({*e164});
  if (!removed.ok()) return api_error(removed.status());
  return {200, {{"number", *e164}, {"removed", *removed}}};
}

ApiResponse Api::dnc_load_file(std::string_view body) {
  auto j = parse_object(body);
  if (!j.ok()) return api_error(j.status());
  DncLoadRequest request;
  auto file = string_member(*j, "file", "");
  if (!file.ok()) return api_error(file.status());
  if (file->empty()) {
    return api_error(absl::InvalidArgumentError(
        "'file' (a file in the server's files folder, or s3://bucket/key) is required; or send "
        "the file itself as the body (text/csv or multipart/form-data)"));
  }
  request.file = *file;
  for (auto [key, target] : {std::pair{"source", &request.source},
                             std::pair{"expires", &request.expires},
                             std::pair{"region", &request.region}}) {
    auto v = string_member(*j, key, *target);
    if (!v.ok()) return api_error(v.status());
    *target = *v;
  }
  if (auto r = j->find("replace_source"); r != j->end() && !r->is_null()) {
    if (!r->is_boolean()) {
      return api_error(absl::InvalidArgumentError("'replace_source' must be true or false"));
    }
    request.replace_source = r->get<bool>();
  }
  if (request.source.empty()) request.source = dnc_source_for_file(request.file);
  ObjectIoOptions io;
  if (!is_s3_location(request.file)) {
    if (files_folder_.empty()) {
      return api_error(absl::InvalidArgumentError(
          "'file': this server takes no local files; use s3://bucket/key or upload the file"));
    }
    // open_input keeps a local path inside the folder (no links followed).
    io.files_folder = files_folder_;
  }
  auto in = open_input(request.file, io);
  if (!in.ok()) return api_error(in.status());
  return run_dnc_load(request, **in, request.file, nullptr);
}

ApiResponse Api::dnc_load(const DncLoadRequest& request, std::istream& csv,
                          const std::function<absl::Status()>& before_commit) {
  DncLoadRequest r = request;
  if (r.source.empty()) r.source = "upload";
  return run_dnc_load(r, csv, "the uploaded do-not-call list", before_commit);
}

ApiResponse Api::run_dnc_load(const DncLoadRequest& request, std::istream& in,
                              std::string_view name,
                              const std::function<absl::Status()>& before_commit) {
  if (auto s = check_region(request.region); !s.ok()) return api_error(s);
  if (auto s = check_dnc_source(request.source); !s.ok()) return api_error(s);
  auto expires = expires_member(request.expires);
  if (!expires.ok()) return api_error(expires.status());
  auto store = stores_.acquire();
  if (!store.ok()) return api_error(store.status());

  json rejects = json::array();
  DncImportOptions options;
  options.default_region = request.region;
  options.source = request.source;
  options.expires_at = *expires;
  options.workers = 1;  // a threaded server does not fork phone workers
  options.on_reject = [&](int64_t line, std::string_view reason) {
    if (rejects.size() < kMaxRejectsShown) rejects.push_back({{"line", line}, {"reason", reason}});
  };
  // The upload's end is checked before the load commits, so a cut-short
  // upload never lands as half a list.
  class Guarded final : public DncWriter {
   public:
    Guarded(std::unique_ptr<DncWriter> inner, const std::function<absl::Status()>& check)
        : inner_(std::move(inner)), check_(check) {}
    absl::Status add(std::string_view e164, std::string_view source,
                     std::optional<WallTime> expires_at) override {
      return inner_->add(e164, source, expires_at);
    }
    absl::StatusOr<DncLoadResult> commit() override {
      if (check_) PD_RETURN_IF_ERROR(check_());
      return inner_->commit();
    }

   private:
    std::unique_ptr<DncWriter> inner_;
    const std::function<absl::Status()>& check_;
  };
  Store& s = **store;
  const DncLoadOptions load{system_clock().wall_now(),
                            request.replace_source ? request.source : std::string()};
  auto summary = import_dnc(
      in, name,
      [&]() -> absl::StatusOr<std::unique_ptr<DncWriter>> {
        PD_ASSIGN_OR_RETURN(auto writer, s.begin_dnc(load));
        return std::unique_ptr<DncWriter>(std::make_unique<Guarded>(std::move(writer), before_commit));
      },
      options);
  if (!summary.ok()) {
    ApiResponse r = api_error(summary.status());
    if (!rejects.empty()) r.body["rejects"] = std::move(rejects);
    return r;
  }
  return {200,
          {{"loaded", summary->load.written},
           {"source", request.source},
           {"rejected", summary->rejected},
           {"rejected_by_reason", summary->rejected_by_reason},
           {"replaced", summary->load.replaced},
           {"total", summary->load.total},
           {"rejects", std::move(rejects)}}};
}

absl::StatusOr<StorePool::Handle> Api::dnc_source(DncQuery& query, std::string_view after_raw) {
  if (!query.source.empty()) PD_RETURN_IF_ERROR(check_dnc_source(query.source));
  if (!trim(after_raw).empty()) {
    auto after = normalize_dnc_number(after_raw, "US");
    if (!after.ok()) return absl::InvalidArgumentError(cat("'after': ", after.status().message()));
    query.after = *after;
  }
  if (query.limit < 0) return absl::InvalidArgumentError("'limit' must be 0 (all) or more");
  return stores_.acquire();
}

}  // namespace pd
