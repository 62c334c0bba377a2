#include "cli/commands.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "core/advice.h"
#include "core/clock.h"
#include "core/config_keys.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "engine/campaign_control.h"
#include "io/list_import.h"
#include "io/object_io.h"
#include "io/results_export.h"
#include "io/status_json.h"
#include "server/api_tokens.h"
#include "store/store.h"

namespace pd::cli {

int fail(const Context& ctx, const absl::Status& status) {
  *ctx.err << "powerdialer: " << message_for(status, Audience::kCli, ctx.program) << "\n";
  return kError;
}

nlohmann::json outcomes_json(const std::map<Outcome, int64_t>& by_outcome) {
  return pd::outcomes_json(by_outcome);
}

namespace {

// The store and the campaign every command but init works on.
struct Opened {
  std::unique_ptr<Store> store;
  Campaign campaign;
};

absl::StatusOr<Opened> open_campaign(const Context& ctx) {
  PD_RETURN_IF_ERROR(check_campaign_name(ctx.campaign));
  Opened o;
  PD_ASSIGN_OR_RETURN(o.store, open_store(ctx.db_path, /*create=*/false));
  PD_ASSIGN_OR_RETURN(o.campaign, o.store->find_campaign(ctx.campaign));
  return o;
}

std::string value_or_default(const std::map<std::string, std::string>& stored,
                             const ConfigKey& key) {
  auto it = stored.find(std::string(key.name));
  return it != stored.end() ? it->second : std::string(key.default_value);
}

}  // namespace

int cmd_init(const Context& ctx) {
  if (auto s = check_campaign_name(ctx.campaign); !s.ok()) return fail(ctx, s);
  auto store = open_store(ctx.db_path, /*create=*/true);
  if (!store.ok()) return fail(ctx, store.status());
  auto campaign = (*store)->init_campaign(ctx.campaign);
  if (!campaign.ok()) return fail(ctx, campaign.status());
  *ctx.out << "campaign '" << campaign->name << "' is ready in " << ctx.db_path << " (state "
           << to_string(campaign->state) << ")\n";
  // The first init makes the HTTP API's first token: shown this once.
  auto tokens = (*store)->api_tokens();
  if (!tokens.ok()) return fail(ctx, tokens.status());
  if (tokens->empty()) {
    auto token = create_api_token(**store, "default", system_clock().wall_now());
    if (!token.ok()) return fail(ctx, token.status());
    *ctx.out << "API token for 'powerdialer serve' (shown only now; revoke with 'token revoke "
                "default'): "
             << *token << "\n";
  }
  return kOk;
}

int cmd_config_set(const Context& ctx, const std::string& key, const std::string& value) {
  auto valid = validate_config_value(key, value);
  if (!valid.ok()) return fail(ctx, valid.status());
  auto o = open_campaign(ctx);
  if (!o.ok()) return fail(ctx, o.status());
  if (auto s = o->store->set_config(o->campaign.id, key, *valid); !s.ok()) return fail(ctx, s);
  *ctx.out << key << " = " << *valid << "\n";
  return kOk;
}

int cmd_config_unset(const Context& ctx, const std::string& key) {
  const ConfigKey* k = find_config_key(key);
  if (k == nullptr) return fail(ctx, validate_config_value(key, "").status());
  auto o = open_campaign(ctx);
  if (!o.ok()) return fail(ctx, o.status());
  if (auto s = o->store->unset_config(o->campaign.id, key); !s.ok()) return fail(ctx, s);
  *ctx.out << key << " = " << k->default_value
           << (k->default_value.empty() ? "(unset)" : " (default)") << "\n";
  return kOk;
}

int cmd_config_get(const Context& ctx, const std::string& key) {
  const ConfigKey* k = find_config_key(key);
  if (k == nullptr) return fail(ctx, validate_config_value(key, "").status());
  auto o = open_campaign(ctx);
  if (!o.ok()) return fail(ctx, o.status());
  auto stored = o->store->config(o->campaign.id);
  if (!stored.ok()) return fail(ctx, stored.status());
  *ctx.out << value_or_default(*stored, *k) << "\n";
  return kOk;
}

int cmd_config_list(const Context& ctx, bool json) {
  auto o = open_campaign(ctx);
  if (!o.ok()) return fail(ctx, o.status());
  auto stored = o->store->config(o->campaign.id);
  if (!stored.ok()) return fail(ctx, stored.status());
  if (json) {
    *ctx.out << config_values_json(*stored).dump(2) << "\n";
    return kOk;
  }
  for (const ConfigKey& k : all_config_keys()) {
    const std::string v = value_or_default(*stored, k);
    *ctx.out << fmt::format("{:<15} {:<38} {}\n", k.name, v.empty() ? "(unset)" : v, k.description);
  }
  return kOk;
}

int cmd_load(const Context& ctx, const std::optional<std::string>& file, bool append, int workers) {
  auto o = open_campaign(ctx);
  if (!o.ok()) return fail(ctx, o.status());
  auto stored = o->store->config(o->campaign.id);
  if (!stored.ok()) return fail(ctx, stored.status());
  auto config = CampaignConfig::from(*stored, o->campaign.name);
  if (!config.ok()) return fail(ctx, config.status());
  std::string location = file.value_or(config->input_location());
  if (location.empty()) {
    return fail(ctx, absl::InvalidArgumentError(
                         "no file given and no 'inputfile' configured; use 'powerdialer load "
                         "FILE' or 'powerdialer config set inputfile FILE'"));
  }
  auto in = open_input(location, object_io_options(*config));
  if (!in.ok()) return fail(ctx, in.status());

  ImportOptions options;
  options.default_region = config->default_region;
  options.workers = workers;
  options.on_reject = [&](int64_t line, std::string_view reason) {
    *ctx.err << location << ": line " << line << ": " << reason << "\n";
  };
  Store& store = *o->store;
  const CampaignId id = o->campaign.id;
  auto summary = import_list(
      **in, location,
      [&]() { return store.begin_list(id, append ? LoadMode::kAppend : LoadMode::kReplace); },
      options);
  if (!summary.ok()) return fail(ctx, summary.status());
  auto st = store.status(id);
  if (!st.ok()) return fail(ctx, st.status());
  *ctx.out << "loaded " << summary->loaded << " phone(s) from " << location << ": "
           << summary->rejected << " row(s) rejected, " << summary->duplicates
           << " duplicate(s) skipped; campaign '" << o->campaign.name << "' now has "
           << st->customers << " customer(s) with " << st->phones << " phone(s)\n";
  return kOk;
}

int cmd_status(const Context& ctx, bool json) {
  auto o = open_campaign(ctx);
  if (!o.ok()) return fail(ctx, o.status());
  auto st = o->store->status(o->campaign.id);
  if (!st.ok()) return fail(ctx, st.status());
  const nlohmann::json j = campaign_status_json(*st);
  if (json) {
    *ctx.out << j.dump(2) << "\n";
    return kOk;
  }
  auto& out = *ctx.out;
  out << fmt::format("campaign   {} ({})\n", st->campaign.name, to_string(st->campaign.state));
  out << fmt::format("customers  {}: {} pending, {} dialing, {} reached, {} exhausted\n",
                     st->customers, j["customers_by_state"]["pending"].get<int64_t>(),
                     j["customers_by_state"]["dialing"].get<int64_t>(),
                     j["customers_by_state"]["reached"].get<int64_t>(),
                     j["customers_by_state"]["exhausted"].get<int64_t>());
  out << fmt::format("phones     {}\n", st->phones);
  out << fmt::format("rejected   {} row(s) at the last load\n", st->rejected_rows);
  out << fmt::format("attempts   {} ({} in flight)", st->attempts, st->attempts_in_flight);
  for (auto& [name, n] : j["attempts_by_outcome"].items()) {
    if (n.get<int64_t>() > 0) out << ", " << n.get<int64_t>() << " " << name;
  }
  out << "\n";
  return kOk;
}

int cmd_results(const Context& ctx, const std::optional<std::string>& output) {
  auto o = open_campaign(ctx);
  if (!o.ok()) return fail(ctx, o.status());
  if (!output || *output == "-") {
    auto rows = export_results(*o->store, o->campaign.id, *ctx.out);
    return rows.ok() ? kOk : fail(ctx, rows.status());
  }
  auto stored = o->store->config(o->campaign.id);
  if (!stored.ok()) return fail(ctx, stored.status());
  auto config = CampaignConfig::from(*stored, o->campaign.name);
  if (!config.ok()) return fail(ctx, config.status());
  auto object = open_output(*output, object_io_options(*config));
  if (!object.ok()) return fail(ctx, object.status());
  auto rows = export_results(*o->store, o->campaign.id, (*object)->stream());
  if (!rows.ok()) return fail(ctx, rows.status());
  if (auto s = (*object)->commit(); !s.ok()) return fail(ctx, s);
  *ctx.err << "wrote " << *rows << " attempt(s) to " << *output << "\n";
  return kOk;
}

int cmd_rejects(const Context& ctx, bool json) {
  auto o = open_campaign(ctx);
  if (!o.ok()) return fail(ctx, o.status());
  nlohmann::json j = nlohmann::json::array();
  auto s = o->store->for_each_reject(o->campaign.id, [&](int64_t line, std::string_view reason) {
    if (json) {
      j.push_back({{"line", line}, {"reason", reason}});
    } else {
      *ctx.out << "line " << line << ": " << reason << "\n";
    }
  });
  if (!s.ok()) return fail(ctx, s);
  if (json) *ctx.out << j.dump(2) << "\n";
  return kOk;
}

int cmd_campaigns(const Context& ctx, bool json) {
  auto store = open_store(ctx.db_path, /*create=*/false);
  if (!store.ok()) return fail(ctx, store.status());
  auto list = (*store)->list_campaigns();
  if (!list.ok()) return fail(ctx, list.status());
  nlohmann::json j = nlohmann::json::array();
  for (const Campaign& c : *list) {
    if (json) {
      j.push_back({{"campaign", c.name}, {"state", to_string(c.state)}});
    } else {
      *ctx.out << fmt::format("{:<30} {}\n", c.name, to_string(c.state));
    }
  }
  if (json) *ctx.out << j.dump(2) << "\n";
  return kOk;
}

}  // namespace pd::cli
