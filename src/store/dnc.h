// The do-not-call (DNC) list's vocabulary, shared by the Store seam and the
// code that fills and reads it (io/dnc_file.h, the CLI, the HTTP API).
//
// The list is store-wide: every campaign of the store is checked against it
// inside Store::claim, so a number on it is never dialled by any campaign,
// from the moment the change that put it there commits. One entry per
// number; a later add of the same number replaces the entry (source,
// added time and expiry: the latest word wins).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/types.h"

namespace pd {

struct DncEntry {
  std::string number;  // E.164
  std::string source;  // where it came from, e.g. "fcc", "manual"
  WallTime added_at{};
  std::optional<WallTime> expires_at;  // nullopt: never expires

  // The entry forbids calls at `now` (an expired entry no longer does).
  bool active_at(WallTime now) const { return !expires_at || now < *expires_at; }
};

// How a batch of entries goes in.
struct DncLoadOptions {
  WallTime now{};  // recorded as each entry's added_at
  // Non-empty: the entries of this source are dropped first, in the same
  // transaction, so a new copy of a source's list replaces the old one
  // whole (numbers it no longer has leave the list).
  std::string replace_source;
};

struct DncLoadResult {
  int64_t written = 0;   // entries added or replaced by this load
  int64_t replaced = 0;  // entries of replace_source dropped before
  int64_t total = 0;     // entries on the list after the load
};

// Writes entries to the list. Nothing is visible to others (and no claim
// sees them) until commit(); destroying the writer without commit() leaves
// the list as it was.
class DncWriter {
 public:
  virtual ~DncWriter() = default;
  // Adds the entry for `e164` or replaces the one the list has.
  // kInvalidArgument when `e164` is not '+' and 1-15 digits, or `source`
  // breaks check_dnc_source.
  virtual absl::Status add(std::string_view e164, std::string_view source,
                           std::optional<WallTime> expires_at) = 0;
  virtual absl::StatusOr<DncLoadResult> commit() = 0;
};

// Which entries Store::for_each_dnc walks (in number order).
struct DncQuery {
  std::string source;  // non-empty: this source's entries only
  std::string after;   // non-empty (E.164): the entries after this number
  int64_t limit = 0;   // above 0: at most this many
};

// Entries on the list, by source (expired ones included until removed).
struct DncCounts {
  int64_t total = 0;
  int64_t expired = 0;  // at the time asked
  std::map<std::string, int64_t> by_source;
};

// E.164 "+12025550123" as the integer the store keys it by (12025550123):
// E.164 numbers are at most 15 digits and never start with 0, so the
// integer is exact and compares and sorts as cheaply as a number can.
// nullopt when `e164` is not '+' and 1-15 digits, the first not 0.
std::optional<int64_t> dnc_key(std::string_view e164);
// The inverse: 12025550123 -> "+12025550123".
std::string dnc_number(int64_t key);
// dnc_key(), or kInvalidArgument naming `e164` ("... is not an E.164 number").
absl::StatusOr<int64_t> dnc_key_or_error(std::string_view e164);
// Every number's key, or the error of the first that is not E.164.
absl::StatusOr<std::vector<int64_t>> dnc_keys_or_error(const std::vector<std::string>& numbers);
// The key `query.after` names; -1 (before every key) when it is empty.
absl::StatusOr<int64_t> dnc_after_key(const DncQuery& query);

// A source label: 1-64 bytes of letters, digits, '-', '_', '.', ':' or '/'
// (it is shown in results and reports: "dnc (source: fcc-2026-12)").
// kInvalidArgument naming the label otherwise.
absl::Status check_dnc_source(std::string_view source);

// The detail of the verdict that suppresses a listed number, "(source:
// fcc)", so the attempt's rule reads "dnc (source: fcc)".
std::string dnc_rule_detail(std::string_view source);

}  // namespace pd
