// Do-not-call files: reading a DNC list into a DncWriter (with the list
// import's CSV reader and phone normalisation, so a number on the DNC list
// is written exactly as the same number in a dialing list), and writing
// entries out as CSV or JSON.
//
// A file is either one number per line (no header), or a CSV whose header
// names a number column: `phone`, `number`, `phone_number` or `e164` (any
// case), with optional `expires` (YYYY-MM-DD: through that day, UTC; or an
// RFC 3339 time) and `source` columns; other columns are ignored. A
// headerless file is recognised by its first line holding one field that
// names no column. Bad rows are counted and reported with their line and
// reason; the good ones are kept, as the list import does.
// Streaming: memory stays flat whatever the file size.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "io/csv_reader.h"
#include "store/dnc.h"

namespace pd {

class PhoneNormalizerPool;

// Reasons a DNC row is rejected for (keys of DncImportSummary::rejected_by_reason).
namespace dnc_reject {
inline constexpr const char* kUnreadable = "unreadable_row";
inline constexpr const char* kFieldCount = "wrong_field_count";
inline constexpr const char* kMissingPhone = "missing_phone";
inline constexpr const char* kInvalidPhone = "invalid_phone";
inline constexpr const char* kInvalidExpires = "invalid_expires";
inline constexpr const char* kInvalidSource = "invalid_source";
}  // namespace dnc_reject

struct DncImportOptions {
  std::string default_region = "US";  // for numbers written without '+'
  std::string source;                 // for rows without a source of their own (required)
  std::optional<WallTime> expires_at;  // for rows without an expiry of their own
  CsvLimits limits;
  // Phone-validation worker processes, as ImportOptions::workers
  // (io/list_import.h): 0 one per core, 1 inline (a threaded server).
  int workers = 0;
  PhoneNormalizerPool* pool = nullptr;  // a pool started earlier (not owned)
  // Called for each rejected row, in line order, as it is found.
  std::function<void(int64_t line, std::string_view reason)> on_reject;
};

struct DncImportSummary {
  int64_t rows = 0;      // data rows read (blank lines skipped)
  int64_t rejected = 0;  // rows rejected (each reported through on_reject)
  std::map<std::string, int64_t> rejected_by_reason;
  DncLoadResult load;  // what the writer did (written counts the file's good rows)
};

// Reads `in` (`source_name` names it in messages) into the writer that
// `open_writer` returns once the header is known good, and commits it when
// at least one row is good; otherwise the error says so and nothing
// changes. A writer's error (e.g. a full disk) fails the whole load.
absl::StatusOr<DncImportSummary> import_dnc(
    std::istream& in, std::string_view source_name,
    const std::function<absl::StatusOr<std::unique_ptr<DncWriter>>()>& open_writer,
    const DncImportOptions& options);

// An expiry as a user writes it: "2027-01-31" (the entry holds through that
// day, UTC: it expires at 2027-02-01T00:00:00Z) or an RFC 3339 time
// ("2027-01-31T17:00:00Z", "2027-01-31T12:00:00-05:00", fractions allowed).
// kInvalidArgument saying what is expected otherwise.
absl::StatusOr<WallTime> parse_dnc_expires(std::string_view text);

// The source label a file gives when none is named: its name without
// folders and extension, characters a label may not hold made '-'
// ("s3://b/lists/National DNC.csv" -> "National-DNC").
std::string dnc_source_for_file(const std::string& location);

// Normalises numbers given one by one (dnc add/remove/check, the API) as a
// file's numbers are: E.164, `default_region` for numbers without '+'.
// kInvalidArgument: "invalid phone \"12\": too short".
absl::StatusOr<std::string> normalize_dnc_number(std::string_view raw,
                                                 std::string_view default_region);

// The entries as CSV, `number,source,added_at,expires_at` (times RFC 3339,
// expires_at empty when never): a file `dnc load` reads back as it was.
class DncCsvWriter {
 public:
  explicit DncCsvWriter(std::ostream& out);
  void add(const DncEntry& e);

 private:
  std::ostream& out_;
};

// The entries as one JSON array of {"number", "source", "added_at",
// "expires_at" (null: never), "expired"}, written as they come (memory
// stays flat); finish() closes the array.
class DncJsonWriter {
 public:
  DncJsonWriter(std::ostream& out, WallTime now);
  void add(const DncEntry& e);
  void finish();

 private:
  std::ostream& out_;
  WallTime now_;
  bool first_ = true;
};

// One entry (or its absence) as `dnc check --json` and GET /api/dnc/NUMBER
// give it: {"number", "listed", "source", "added_at", "expires_at",
// "expired"}; `listed` is true only for an entry that is active at `now`.
nlohmann::json dnc_check_json(std::string_view number, const std::optional<DncEntry>& entry,
                           WallTime now);

}  // namespace pd
