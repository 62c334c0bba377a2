// Dialing-list import (the sample's ListLoad): CSV in, validated customers
// and E.164 phones out to a ListWriter, rejects reported by line.
//
// Streaming: memory stays flat whatever the file size (rows travel in
// batches of at most 2048 rows / 1 MiB, a few batches at a time). The header
// is read and checked before the writer is opened, so a file that is
// unreadable, empty or lacks a required column changes nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "io/csv_reader.h"
#include "store/store.h"

namespace pd {

class PhoneNormalizerPool;

// Rejected rows a load keeps with their line and reason. The rest are only
// counted, by reason, so a file of bad rows cannot fill the store's disk.
inline constexpr int64_t kMaxRejectsKept = 1000;

// The reasons a row is rejected for, as counted (keys of
// ImportSummary::rejected_by_reason and of the store's counts).
namespace reject_reason {
inline constexpr const char* kUnreadable = "unreadable_row";  // a CSV error
inline constexpr const char* kFieldCount = "wrong_field_count";
inline constexpr const char* kMissingCustId = "missing_custid";
inline constexpr const char* kLongCustId = "custid_too_long";
inline constexpr const char* kMissingPhone = "missing_phone";
inline constexpr const char* kInvalidPhone = "invalid_phone";
inline constexpr const char* kAttributesTooLong = "attributes_too_long";
inline constexpr const char* kInvalidTimezone = "invalid_timezone";
}  // namespace reject_reason

struct ImportOptions {
  std::string default_region = "US";  // for numbers written without '+'
  CsvLimits limits;
  // Phone-validation worker processes (libphonenumber serialises threads, so
  // processes are what scales); 0 picks one per core, 1 validates inline.
  // The workers are forked only once the file proves longer than one batch,
  // and only while the process has a single thread; otherwise (and when fork
  // fails) phones are validated inline, with the same results.
  int workers = 0;
  // A pool started earlier, e.g. by main() before it starts any thread;
  // when set it is used instead of `workers` (and is not owned).
  PhoneNormalizerPool* pool = nullptr;
  // Called for each rejected row, in line order, as it is found (every
  // one, kept by the store or not).
  std::function<void(int64_t line, std::string_view reason)> on_reject;
  // The first this many rejected rows go to ListWriter::reject.
  int64_t max_rejects_kept = kMaxRejectsKept;
};

struct ImportSummary {
  // Data records read after the header, so that rows == loaded +
  // duplicates + rejected. Blank lines are skipped, as CSV tools do, and
  // not counted.
  int64_t rows = 0;
  int64_t loaded = 0;  // (customer, phone) pairs stored
  // Distinct customers in the file. import_list leaves it 0: counting them
  // needs memory that grows with the file, and the store already knows
  // (the caller fills it in, e.g. from Store::status after the load).
  int64_t customers = 0;
  // Repeated (custID, phone) pairs, kept once; with LoadMode::kAppend also
  // the pairs the list had already.
  int64_t duplicates = 0;
  int64_t rejected = 0;  // rows rejected (each reported through on_reject)
  std::map<std::string, int64_t> rejected_by_reason;  // reject_reason:: key -> rows
};

// Reads the list from `in` (`source_name` names it in messages). Required
// columns `custID` and `phone` (any order, case-insensitive); every other
// column becomes a customer attribute (a JSON object, in column order).
// Column names must be unique (ignoring case) and non-empty. Rows are
// rejected, with their line and a reason, for CSV errors, a wrong field
// count, a missing or over-long (> 128 bytes) custID, a missing or invalid
// phone; blank lines are skipped. `open_writer` is called once the header
// is known good; the writer is committed only when at least one row is
// valid (new or already listed), otherwise the error says so and nothing
// changes. A store error (e.g. a full disk) fails the whole load with the
// store's message, not as a rejected row.
absl::StatusOr<ImportSummary> import_list(
    std::istream& in, std::string_view source_name,
    const std::function<absl::StatusOr<std::unique_ptr<ListWriter>>()>& open_writer,
    const ImportOptions& options);

}  // namespace pd
