// `powerdialer dnc ...`: the store-wide do-not-call list. It is shared by
// every campaign of the store, so these commands take --db but no
// --campaign. Numbers are normalised to E.164 as list numbers are, those
// without '+' read as numbers of --region (default US).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace pd::cli {

struct DncOptions {
  std::string source;   // empty: the file's name (load), "manual" (add)
  std::string expires;  // empty: never (YYYY-MM-DD or RFC 3339)
  bool replace_source = false;
  std::string region = "US";
  int workers = 0;  // phone-validation processes for load (0: one per core)
  bool json = false;
};

// Loads FILE (local or s3://): one number per line, or a CSV with a number
// column (see io/dnc_file.h). Rejected rows go to stderr with their line.
int cmd_dnc_load(const Context& ctx, const std::string& file, const DncOptions& options);
int cmd_dnc_add(const Context& ctx, const std::vector<std::string>& numbers,
                const DncOptions& options);
int cmd_dnc_remove(const Context& ctx, const std::vector<std::string>& numbers,
                   const DncOptions& options);
// CSV (number,source,added_at,expires) or a JSON array, streamed.
int cmd_dnc_list(const Context& ctx, const DncOptions& options);
// Whether NUMBER is on the list now, and its entry.
int cmd_dnc_check(const Context& ctx, const std::string& number, const DncOptions& options);

}  // namespace pd::cli
