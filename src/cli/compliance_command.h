// `powerdialer compliance`: the proof that the rules held (see
// engine/compliance_report.h).
#pragma once

#include "cli/commands.h"

namespace pd::cli {

// Exit status when the audit finds a violation, so a CI job or a cron
// check fails on it (errors are kError).
inline constexpr int kViolations = 2;

// One campaign (ctx.campaign), or every campaign of the store with `all`.
int cmd_compliance(const Context& ctx, bool json, bool all);

}  // namespace pd::cli
