// The subcommands, as plain functions over a Context so tests and the HTTP
// API can reuse them without a process. Each returns the process exit code
// and writes user output to ctx.out and one-line errors to ctx.err.
#pragma once

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "core/types.h"
#include "io/status_json.h"

namespace pd::cli {

struct Context {
  std::string db_path = "powerdialer.db";
  std::string campaign = "default";
  std::string program = "powerdialer";  // how the user invoked us, for hints
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
};

// Shared by the command files.
inline constexpr int kOk = 0;
inline constexpr int kError = 1;
// Prints "powerdialer: <message>" on ctx.err and returns kError.
int fail(const Context& ctx, const absl::Status& status);
// outcomes_json: io/status_json.h.

int cmd_init(const Context& ctx);
int cmd_config_set(const Context& ctx, const std::string& key, const std::string& value);
int cmd_config_unset(const Context& ctx, const std::string& key);
int cmd_config_get(const Context& ctx, const std::string& key);
int cmd_config_list(const Context& ctx, bool json);
int cmd_load(const Context& ctx, const std::optional<std::string>& file, bool append, int workers);
int cmd_status(const Context& ctx, bool json);
int cmd_results(const Context& ctx, const std::optional<std::string>& output);
int cmd_campaigns(const Context& ctx, bool json);
// The store-wide region rules (compliance/region_rules.h): print the rules
// in force; validate FILE (local or s3://) and store it, or change nothing.
int cmd_rules_show(const Context& ctx);
int cmd_rules_load(const Context& ctx, const std::string& file);
// The rows the last load rejected, "line N: reason" (or JSON), in line order.
int cmd_rejects(const Context& ctx, bool json);
// Copies every campaign, list, attempt, token, checkpoint and do-not-call
// entry from store `from` into the new, empty store `to` (an SQLite file or
// a postgresql:// URL either way; store/store_copy.h).
int cmd_migrate(const Context& ctx, const std::string& from, const std::string& to);

}  // namespace pd::cli
