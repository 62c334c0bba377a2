#include "cli/commands.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "compliance/policy.h"
#include "compliance/region_rules.h"
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
  // Messages echo file names, list values and store contents.
  *ctx.err << "powerdialer: " << escape_controls(message_for(status, Audience::kCli, ctx.program))
           << "\n";
  return kError;
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

// "5 invalid phone, 2 missing custid": the counts by reason, largest first.
std::string reasons_text(const std::map<std::string, int64_t>& by_reason) {
  std::vector<std::pair<std::string, int64_t>> sorted(by_reason.begin(), by_reason.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [reason, rows] : sorted) {
    if (!out.empty()) out += ", ";
    std::string words = escape_controls(reason);
    std::replace(words.begin(), words.end(), '_', ' ');
    if (const size_t at = words.find("custid"); at != std::string::npos) {
      words.replace(at, 6, "custID");
    }
    out += cat(rows, " ", words);
  }
  return out;
}

}  // namespace

int cmd_init(const Context& ctx) {
  if (auto s = check_campaign_name(ctx.campaign); !s.ok()) return fail(ctx, s);
  auto store = open_store(ctx.db_path, /*create=*/true);
  if (!store.ok()) return fail(ctx, store.status());
  auto campaign = (*store)->init_campaign(ctx.campaign);
  if (!campaign.ok()) return fail(ctx, campaign.status());
  *ctx.out << "campaign '" << campaign->name << "' is ready in " << store_display_name(ctx.db_path) << " (state "
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
  *ctx.out << key << " = " << escape_controls(*valid) << "\n";
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
  *ctx.out << escape_controls(value_or_default(*stored, *k)) << "\n";
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
    const std::string v = escape_controls(value_or_default(*stored, k));
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
  // A dialer that died (killed, crashed) leaves the campaign `running`;
  // it must not block the next load.
  auto settled = stop_if_dialer_dead(*o->store, o->campaign, system_clock().wall_now());
  if (!settled.ok()) return fail(ctx, settled.status());

  ImportOptions options;
  options.default_region = config->default_region;
  options.workers = workers;
  const std::string shown_location = escape_controls(location);
  // As many as the store keeps: thousands of lines on a terminal help no
  // one, and the counts by reason follow.
  options.on_reject = [&, printed = int64_t{0}](int64_t line, std::string_view reason) mutable {
    if (printed++ < kMaxRejectsKept) {
      *ctx.err << shown_location << ": line " << line << ": " << escape_controls(reason) << "\n";
    }
  };
  Store& store = *o->store;
  const CampaignId id = o->campaign.id;
  auto summary = import_list(
      **in, location,
      [&]() { return store.begin_list(id, append ? LoadMode::kAppend : LoadMode::kReplace); },
      options);
  if (!summary.ok()) return fail(ctx, summary.status());
  if (summary->rejected > kMaxRejectsKept) {
    *ctx.err << shown_location << ": " << summary->rejected - kMaxRejectsKept
             << " more rejected row(s) not listed; all " << summary->rejected
             << " by reason: " << reasons_text(summary->rejected_by_reason) << "\n";
  }
  auto st = store.status(id);
  if (!st.ok()) return fail(ctx, st.status());
  *ctx.out << (append ? "appended " : "loaded ") << summary->loaded
           << (append ? " new phone(s) from " : " phone(s) from ") << shown_location << ": "
           << summary->rejected << " row(s) rejected, " << summary->duplicates
           << (append ? " duplicate(s) or already listed skipped" : " duplicate(s) skipped")
           << "; campaign '" << o->campaign.name << "' now has " << st->customers
           << " customer(s) with " << st->phones << " phone(s)\n";
  return kOk;
}

int cmd_status(const Context& ctx, bool json) {
  auto o = open_campaign(ctx);
  if (!o.ok()) return fail(ctx, o.status());
  auto st = o->store->status(o->campaign.id);
  if (!st.ok()) return fail(ctx, st.status());
  auto dialer = dialer_health(*o->store, st->campaign, system_clock().wall_now());
  if (!dialer.ok()) return fail(ctx, dialer.status());
  st->dialer = *dialer;
  auto pacing = read_campaign_pacing(*o->store, st->campaign, st->abandon);
  if (!pacing.ok()) return fail(ctx, pacing.status());
  nlohmann::json j = campaign_status_json(*st);
  j["pacing"] = pacing_json(pacing->config, st->abandon, pacing->live);
  if (json) {
    *ctx.out << j.dump(2) << "\n";
    return kOk;
  }
  auto& out = *ctx.out;
  std::string state(to_string(st->campaign.state));
  if (st->dialer && !st->dialer->responding) {
    state += cat("; ", escape_controls(st->dialer->problem));
  }
  if (st->abandon.over_max()) state += cat("; paused: ", st->abandon.pause_reason());
  out << fmt::format("campaign   {} ({})\n", escape_controls(st->campaign.name), state);
  out << fmt::format("customers  {}: {} pending, {} dialing, {} reached, {} exhausted\n",
                     st->customers, j["customers_by_state"]["pending"].get<int64_t>(),
                     j["customers_by_state"]["dialing"].get<int64_t>(),
                     j["customers_by_state"]["reached"].get<int64_t>(),
                     j["customers_by_state"]["exhausted"].get<int64_t>());
  out << fmt::format("phones     {}\n", st->phones);
  out << fmt::format("rejected   {} row(s) at the last load", st->rejects.rows);
  if (st->rejects.rows > 0) out << ": " << reasons_text(st->rejects.by_reason);
  if (st->rejects.rows > st->rejects.listed) {
    out << fmt::format(" ({} listed by 'rejects', {} more not listed)", st->rejects.listed,
                       st->rejects.rows - st->rejects.listed);
  }
  out << "\n";
  // When a rule holds the next customer: what lets go, and when.
  if (j.contains("waiting") && st->campaign.state != CampaignState::kDone) {
    const auto until = parse_iso8601(j["waiting"]["until"].get<std::string>());
    const WallTime now = system_clock().wall_now();
    if (until && *until > now) {
      out << fmt::format("waiting    {}, in {}\n", escape_controls(j["waiting"]["text"].get<std::string>()),
                         wait_duration_text(now, *until));
    }
  }
  out << fmt::format("attempts   {} ({} in flight)", st->attempts, st->attempts_in_flight);
  for (auto& [name, n] : j["attempts_by_outcome"].items()) {
    if (n.get<int64_t>() > 0) out << ", " << n.get<int64_t>() << " " << name;
  }
  out << "\n";
  const AbandonRates& a = st->abandon;
  out << fmt::format(
      "abandons   today {} ({} of {} answered), 30 days {} ({} of {}); max-abandon-rate {}\n",
      format_abandon_rate(a.rate_today()), a.abandoned_today, a.answered_today,
      format_abandon_rate(a.rate_30d()), a.abandoned_30d, a.answered_30d, format_rate(a.max_rate));
  out << "pacing     "
      << escape_controls(pacing_text(pacing->config, a, pacing->live, system_clock().wall_now(),
                                     pacing->running)) << "\n";
  return kOk;
}

int cmd_rules_show(const Context& ctx) {
  auto store = open_store(ctx.db_path, /*create=*/false);
  if (!store.ok()) return fail(ctx, store.status());
  auto stored = (*store)->setting(kRegionRulesSetting);
  if (!stored.ok()) return fail(ctx, stored.status());
  if (!stored->has_value()) {
    *ctx.out << "# No region rules stored: these built-in defaults apply ('rules load FILE' "
                "stores yours).\n";
  }
  *ctx.out << region_rules_text_or_default(stored->value_or(""));
  return kOk;
}

int cmd_rules_load(const Context& ctx, const std::string& file) {
  auto store = open_store(ctx.db_path, /*create=*/false);
  if (!store.ok()) return fail(ctx, store.status());
  auto in = open_input(file);
  if (!in.ok()) return fail(ctx, in.status());
  std::string text{std::istreambuf_iterator<char>(**in), std::istreambuf_iterator<char>()};
  if ((*in)->bad()) {
    return fail(ctx, absl::DataLossError(cat(file, ": read failed; nothing was changed")));
  }
  // Checked whole before anything is stored: a bad file changes nothing.
  auto rules = RegionRules::parse(text, file);
  if (!rules.ok()) {
    return fail(ctx, absl::InvalidArgumentError(
                         cat(rules.status().message(), "; the region rules were not changed")));
  }
  if (absl::Status s = (*store)->set_setting(kRegionRulesSetting, text); !s.ok()) {
    return fail(ctx, s);
  }
  *ctx.out << "loaded region rules for " << rules->all().size() << " region(s) from "
           << escape_controls(file) << "; every campaign of " << escape_controls(store_display_name(ctx.db_path))
           << " dials under them from its next claim\n";
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
  auto& out = *ctx.out;
  // Row by row, never the whole answer in memory.
  if (json) {
    if (auto s = write_rejects_json(*o->store, o->campaign.id, out); !s.ok()) return fail(ctx, s);
    return kOk;
  }
  auto counts = o->store->reject_counts(o->campaign.id);
  if (!counts.ok()) return fail(ctx, counts.status());
  auto s = o->store->for_each_reject(o->campaign.id, [&](int64_t line, std::string_view reason) {
    out << "line " << line << ": " << escape_controls(reason) << "\n";
  });
  if (!s.ok()) return fail(ctx, s);
  if (counts->rows > counts->listed) {
    out << fmt::format("... {} more rejected row(s) not listed; all {} by reason: {}\n",
                       counts->rows - counts->listed, counts->rows,
                       reasons_text(counts->by_reason));
  }
  return kOk;
}

int cmd_campaigns(const Context& ctx, bool json) {
  auto store = open_store(ctx.db_path, /*create=*/false);
  if (!store.ok()) return fail(ctx, store.status());
  auto list = (*store)->list_campaigns();
  if (!list.ok()) return fail(ctx, list.status());
  nlohmann::json j = nlohmann::json::array();
  const WallTime now = system_clock().wall_now();
  for (const Campaign& c : *list) {
    auto dialer = dialer_health(**store, c, now);
    if (!dialer.ok()) return fail(ctx, dialer.status());
    if (json) {
      j.push_back({{"campaign", c.name},
                   {"state", to_string(c.state)},
                   {"dialer_responding",
                    *dialer ? nlohmann::json((*dialer)->responding) : nlohmann::json(nullptr)}});
    } else {
      std::string state(to_string(c.state));
      if (*dialer && !(*dialer)->responding) {
        state += cat(" (", escape_controls((*dialer)->problem), ")");
      }
      *ctx.out << fmt::format("{:<30} {}\n", escape_controls(c.name), state);
    }
  }
  if (json) *ctx.out << j.dump(2) << "\n";
  return kOk;
}

int cmd_migrate(const Context& ctx, const std::string& from, const std::string& to) {
  if (from == to) {
    return fail(ctx, absl::InvalidArgumentError("--from and --to name the same store"));
  }
  auto source = open_store(from, /*create=*/false);
  if (!source.ok()) return fail(ctx, source.status());
  auto dest = open_store(to, /*create=*/true);
  if (!dest.ok()) return fail(ctx, dest.status());
  auto report = copy_store(**source, **dest, [&](std::string_view table, int64_t rows) {
    *ctx.out << fmt::format("{:<20} {:>12} rows\n", table, rows) << std::flush;
  });
  if (!report.ok()) {
    return fail(ctx, absl::Status(report.status().code(),
                                  cat("migrate from ", store_display_name(from), " to ",
                                      store_display_name(to), ": ", report.status().message(),
                                      " (nothing was copied)")));
  }
  *ctx.out << "copied " << report->total() << " rows from " << store_display_name(from) << " to "
           << store_display_name(to) << "\n";
  return kOk;
}

}  // namespace pd::cli
