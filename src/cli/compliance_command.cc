#include "cli/compliance_command.h"

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/strings.h"
#include "engine/campaign_control.h"
#include "engine/compliance_report.h"
#include "store/store.h"

namespace pd::cli {

int cmd_compliance(const Context& ctx, bool json, bool all) {
  if (!all) {
    if (auto s = check_campaign_name(ctx.campaign); !s.ok()) return fail(ctx, s);
  }
  auto store = open_store(ctx.db_path, /*create=*/false);
  if (!store.ok()) return fail(ctx, store.status());
  std::vector<Campaign> campaigns;
  if (all) {
    auto list = (*store)->list_campaigns();
    if (!list.ok()) return fail(ctx, list.status());
    campaigns = *std::move(list);
  } else {
    auto c = (*store)->find_campaign(ctx.campaign);
    if (!c.ok()) return fail(ctx, c.status());
    campaigns.push_back(*c);
  }
  int64_t violations = 0;
  nlohmann::json reports = nlohmann::json::array();
  std::string text;
  for (const Campaign& c : campaigns) {
    auto report = compliance_report(**store, c, system_clock().wall_now());
    if (!report.ok()) return fail(ctx, report.status());
    violations += report->violations();
    if (json) {
      reports.push_back(compliance_json(*report));
    } else {
      text += cat(text.empty() ? "" : "\n", compliance_text(*report));
    }
  }
  if (json) {
    const nlohmann::json out =
        all ? nlohmann::json{{"violations", violations}, {"campaigns", std::move(reports)}}
            : reports.at(0);
    *ctx.out << out.dump(2) << "\n";
  } else {
    if (all) {
      text += violations == 0
                  ? cat("\nall ", campaigns.size(), " campaign(s): no violations\n")
                  : cat("\nall ", campaigns.size(), " campaign(s): ", violations, " VIOLATIONS\n");
    }
    *ctx.out << text;
  }
  return violations == 0 ? kOk : kViolations;
}

}  // namespace pd::cli
