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
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "io/csv_reader.h"
#include "store/store.h"

namespace pd {

class PhoneNormalizerPool;

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
  // Called for each rejected row, in line order, as it is found.
  std::function<void(int64_t line, std::string_view reason)> on_reject;
};

struct ImportSummary {
  // Data records read after the header, blank lines included, so that
  // rows == loaded + duplicates + rejected.
  int64_t rows = 0;
  int64_t loaded = 0;  // (customer, phone) pairs stored
  // Distinct customers in the file. import_list leaves it 0: counting them
  // needs memory that grows with the file, and the store already knows
  // (the caller fills it in, e.g. from Store::status after the load).
  int64_t customers = 0;
  int64_t duplicates = 0;  // repeated (custID, phone) pairs, kept once
  int64_t rejected = 0;    // rows rejected (each reported through on_reject)
};

// Reads the list from `in` (`source_name` names it in messages). Required
// columns `custID` and `phone` (any order, case-insensitive); every other
// column becomes a customer attribute (a JSON object, in column order).
// Column names must be unique (ignoring case) and non-empty. Rows are
// rejected, with their line and a reason, for CSV errors, blank lines, a
// wrong field count, a missing or over-long (> 128 bytes) custID, a missing
// or invalid phone. `open_writer` is called once the header is known good;
// the writer is committed only when at least one row is valid, otherwise
// the error says so and nothing changes.
absl::StatusOr<ImportSummary> import_list(
    std::istream& in, std::string_view source_name,
    const std::function<absl::StatusOr<std::unique_ptr<ListWriter>>()>& open_writer,
    const ImportOptions& options);

}  // namespace pd
