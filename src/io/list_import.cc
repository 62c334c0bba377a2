#include "io/list_import.h"

#include <algorithm>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "compliance/callee.h"
#include "core/strings.h"
#include "io/phone.h"
#include "telephony/amazon_connect/limits.h"
#include "io/phone_pool.h"

namespace pd {
namespace {

constexpr size_t kMaxCustIdBytes = 128;
// A batch is what travels to a phone worker at once: large enough that the
// round trip costs nothing per row, small enough to keep memory flat.
constexpr size_t kBatchRows = 2048;
constexpr size_t kBatchBytes = 1 << 20;
// Batches in flight per worker: one being validated, one queued behind it.
constexpr size_t kBatchesPerWorker = 2;
constexpr size_t kShownBytes = 40;  // of an offending value, in a reason

// `v` for a message: cut to about kShownBytes at a UTF-8 character boundary.
std::string shown(std::string_view v) {
  if (v.size() <= kShownBytes) return std::string(v);
  size_t cut = kShownBytes;
  while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;
  return cat(v.substr(0, cut), "...");
}

absl::Status with_source(std::string_view source, const absl::Status& s) {
  return absl::Status(s.code(), cat(source, ": ", s.message()));
}

// A store's failure (a full disk, say) is not the row's: the load stops
// whole, and the message is the store's (it names the store file).
absl::Status load_failed(std::string_view source, const absl::Status& s) {
  return absl::Status(s.code(), cat(s.message(), "; ", source,
                                    " was not loaded and the campaign's list is unchanged"));
}

struct Header {
  size_t fields = 0;
  size_t cust_col = 0;
  size_t phone_col = 0;
  std::vector<size_t> attr_cols;  // the other columns, in order
  std::vector<std::string> attr_names;
  // Where the callee is (compliance/callee.h); these stay attributes too.
  std::optional<size_t> timezone_col;  // "timezone"
  std::optional<size_t> zip_col;       // "postal_code", else "zip"
};

// Checks the header record and finds the columns.
absl::StatusOr<Header> parse_header(const CsvRecord& rec, std::string_view source) {
  if (!rec.error.empty()) {
    return absl::InvalidArgumentError(
        cat(source, ": line ", rec.line, ": cannot read the header: ", rec.error));
  }
  Header h;
  h.fields = rec.fields.size();
  std::vector<std::string> lower;  // header names seen, lower case, by column
  std::optional<size_t> cust, phone;
  bool postal_code = false;  // a postal_code column wins over a zip column
  for (size_t i = 0; i < rec.fields.size(); ++i) {
    const std::string_view name = trim(rec.fields[i]);
    if (name.empty()) {
      return absl::InvalidArgumentError(
          cat(source, ": column ", i + 1, " of the header has no name"));
    }
    std::string key = to_lower(name);
    for (size_t j = 0; j < lower.size(); ++j) {
      if (lower[j] == key) {
        return absl::InvalidArgumentError(cat(
            source, ": column ", i + 1, " (\"", shown(name), "\") repeats the name of column ",
            j + 1, " (\"", shown(trim(rec.fields[j])), "\"); names must differ, ignoring case"));
      }
    }
    if (key == "timezone") h.timezone_col = i;
    if (key == "postal_code" || (key == "zip" && !postal_code)) {
      h.zip_col = i;
      postal_code = postal_code || key == "postal_code";
    }
    if (key == "custid") {
      cust = i;
    } else if (key == "phone") {
      phone = i;
    } else {
      if (!connect::is_valid_attribute_key(name)) {
        return absl::InvalidArgumentError(
            cat(source, ": column ", i + 1, " (\"", shown(name),
                "\") cannot be a contact attribute: Amazon Connect allows only letters, "
                "digits, '-' and '_' in attribute names"));
      }
      h.attr_cols.push_back(i);
      h.attr_names.emplace_back(name);
    }
    lower.push_back(std::move(key));
  }
  if (!cust || !phone) {
    std::string names;  // the first few, enough to spot a misnamed column
    for (size_t i = 0; i < rec.fields.size(); ++i) {
      if (i > 0) names += ", ";
      if (i == 20) {
        names += cat("... (", rec.fields.size(), " in all)");
        break;
      }
      names += shown(trim(rec.fields[i]));
    }
    const std::string_view missing = !cust && !phone ? "\"custID\" or \"phone\""
                                     : !cust         ? "\"custID\""
                                                     : "\"phone\"";
    return absl::InvalidArgumentError(
        cat(source, ": no ", missing, " column in the header (columns: ", names, ")"));
  }
  h.cust_col = *cust;
  h.phone_col = *phone;
  return h;
}

// One data record on its way through a batch.
struct Row {
  int64_t line = 0;
  bool rejected = false;
  const char* kind = nullptr;  // when rejected: a reject_reason:: key
  std::string reason;          // when rejected
  std::string cust_id;
  std::string attributes;  // JSON object
  std::string timezone;    // the timezone / postal_code cells, for resolve_callee
  std::string zip;
};

// Rows in line order; `phones` holds the raw phone of each row not already
// rejected, in the same order. Storage is reused from batch to batch.
struct Batch {
  std::vector<Row> rows;
  size_t size = 0;
  std::vector<std::string> phones;
  size_t bytes = 0;

  Row& add(int64_t line) {
    if (size == rows.size()) rows.emplace_back();
    Row& r = rows[size++];
    r.line = line;
    r.rejected = false;
    return r;
  }
  bool full() const { return size >= kBatchRows || bytes >= kBatchBytes; }
  void reset() {
    size = 0;
    phones.clear();
    bytes = 0;
  }
};

class Importer {
 public:
  Importer(std::string_view source, const ImportOptions& options, std::string region,
           const Header& header, ListWriter& writer)
      : source_(source),
        options_(options),
        region_(std::move(region)),
        header_(header),
        writer_(writer),
        pool_(options.pool) {
    // One JSON object reused for every row: its values are overwritten in
    // place, so a row costs one dump() and no allocation per attribute.
    attributes_ = nlohmann::ordered_json::object();
    for (const std::string& name : header_.attr_names) attributes_[name] = "";
    for (auto& item : attributes_.items()) slots_.push_back(&item.value().get_ref<std::string&>());
  }

  // A pool lent by the caller outlives this import: collect what is still
  // in flight (after an error), or its next user would get these results.
  ~Importer() {
    if (pool_ == nullptr || pool_ == owned_pool_.get()) return;
    while (!in_flight_.empty() && pool_->collect(results_).ok()) in_flight_.pop_front();
  }
  Importer(const Importer&) = delete;
  Importer& operator=(const Importer&) = delete;

  absl::Status add_record(const CsvRecord& rec) {
    ++summary_.rows;
    Batch& b = current();
    Row& row = b.add(rec.line);
    namespace why = reject_reason;
    if (!rec.error.empty()) {
      reject(row, why::kUnreadable, rec.error);
    } else if (rec.fields.size() != header_.fields) {
      reject(row, why::kFieldCount,
             cat("expected ", header_.fields, " fields, found ", rec.fields.size()));
    } else {
      const std::string_view cust = trim(rec.fields[header_.cust_col]);
      const std::string_view phone = trim(rec.fields[header_.phone_col]);
      if (cust.empty()) {
        reject(row, why::kMissingCustId, "missing custID");
      } else if (cust.size() > kMaxCustIdBytes) {
        reject(row, why::kLongCustId,
               cat("custID \"", shown(cust), "\" is longer than ", kMaxCustIdBytes, " bytes"));
      } else if (phone.empty()) {
        reject(row, why::kMissingPhone, "missing phone");
      } else {
        row.cust_id.assign(cust);
        row.timezone.assign(header_.timezone_col ? trim(rec.fields[*header_.timezone_col]) : "");
        row.zip.assign(header_.zip_col ? trim(rec.fields[*header_.zip_col]) : "");
        size_t attribute_bytes = 0;
        for (size_t i = 0; i < slots_.size(); ++i) {
          slots_[i]->assign(rec.fields[header_.attr_cols[i]]);
          attribute_bytes += header_.attr_names[i].size() + slots_[i]->size();
        }
        if (attribute_bytes > connect::kMaxAttributesBytes) {
          reject(row, why::kAttributesTooLong,
                 cat("attributes are ", attribute_bytes, " bytes; Amazon Connect allows at most ",
                     connect::kMaxAttributesBytes, " across all names and values"));
        } else {
          // The CSV reader lets only valid UTF-8 through; `replace` keeps a
          // stray byte from throwing all the same.
          row.attributes =
              attributes_.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
          b.phones.emplace_back(phone);
          b.bytes += row.cust_id.size() + row.attributes.size() + phone.size();
        }
      }
    }
    if (b.full()) return dispatch(/*last=*/false);
    return absl::OkStatus();
  }

  // Sends what is left through and waits for every batch.
  absl::Status finish() {
    if (current().size > 0) {
      if (absl::Status s = dispatch(/*last=*/true); !s.ok()) return s;
    }
    while (!in_flight_.empty()) {
      if (absl::Status s = complete_oldest(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  ImportSummary& summary() { return summary_; }

 private:
  static void reject(Row& row, const char* kind, std::string reason) {
    row.rejected = true;
    row.kind = kind;
    row.reason = std::move(reason);
  }

  Batch& current() {
    if (!current_) {
      if (free_.empty()) {
        current_ = std::make_unique<Batch>();
      } else {
        current_ = std::move(free_.back());
        free_.pop_back();
      }
    }
    return *current_;
  }

  // Validates the current batch's phones (inline or on the pool) and, once
  // its results are in, writes its rows.
  absl::Status dispatch(bool last) {
    std::unique_ptr<Batch> b = std::move(current_);
    if (pool_ == nullptr && !last && !pool_tried_ && options_.workers != 1 &&
        (options_.workers > 1 || PhoneNormalizerPool::default_workers() > 1)) {
      // Only a file longer than one batch is worth forking for, and only
      // with a core to spare.
      pool_tried_ = true;
      PhoneNormalizerPool::Options po;
      po.workers = std::max(0, options_.workers);
      // Any failure (threads running, fork refused) leaves inline validation,
      // which gives the same results, only slower.
      if (auto p = PhoneNormalizerPool::start(po); p.ok()) {
        owned_pool_ = *std::move(p);
        pool_ = owned_pool_.get();
      }
    }
    if (pool_ == nullptr) {
      results_.resize(b->phones.size());
      for (size_t i = 0; i < b->phones.size(); ++i) {
        results_[i].ok = normalize_phone_into(b->phones[i], region_, results_[i].value);
      }
      absl::Status s = write(*b);
      recycle(std::move(b));
      return s;
    }
    if (absl::Status s = pool_->submit(region_, b->phones); !s.ok()) {
      return with_source(source_, s);
    }
    in_flight_.push_back(std::move(b));
    const size_t limit = kBatchesPerWorker * static_cast<size_t>(pool_->workers());
    while (in_flight_.size() > limit) {
      if (absl::Status s = complete_oldest(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status complete_oldest() {
    if (absl::Status s = pool_->collect(results_); !s.ok()) return with_source(source_, s);
    std::unique_ptr<Batch> b = std::move(in_flight_.front());
    in_flight_.pop_front();
    if (results_.size() != b->phones.size()) {
      return absl::InternalError(cat(source_, ": phone worker answered ", results_.size(),
                                     " phones for ", b->phones.size()));
    }
    absl::Status s = write(*b);
    recycle(std::move(b));
    return s;
  }

  // Writes a batch's rows, in line order, with results_ holding its phones'.
  absl::Status write(const Batch& b) {
    size_t next_phone = 0;
    for (size_t i = 0; i < b.size; ++i) {
      const Row& row = b.rows[i];
      absl::Status s;
      if (row.rejected) {
        s = report(row.line, row.kind, row.reason);
      } else {
        const PhoneResult& r = results_[next_phone];
        const std::string& raw = b.phones[next_phone];
        ++next_phone;
        if (!r.ok) {
          s = report(row.line, reject_reason::kInvalidPhone,
                     cat("invalid phone \"", shown(raw), "\": ", r.value));
        } else if (absl::StatusOr<CalleeFacts> callee =
                       resolve_callee(r.value, row.timezone, row.zip);
                   !callee.ok()) {
          s = report(row.line, reject_reason::kInvalidTimezone,
                     cat("column ", *header_.timezone_col + 1, " (timezone): ",
                         callee.status().message()));
        } else {
          absl::StatusOr<bool> added =
              writer_.add(row.cust_id, r.value, row.attributes, row.line, *callee);
          if (!added.ok()) {
            return load_failed(source_, added.status());
          } else if (*added) {
            ++summary_.loaded;
          } else {
            ++summary_.duplicates;
          }
        }
      }
      if (!s.ok()) return load_failed(source_, s);
    }
    return absl::OkStatus();
  }

  absl::Status report(int64_t line, const char* kind, std::string_view reason) {
    ++summary_.rejected;
    ++summary_.rejected_by_reason[kind];
    if (options_.on_reject) options_.on_reject(line, reason);
    if (summary_.rejected > options_.max_rejects_kept) return absl::OkStatus();
    return writer_.reject(line, reason);
  }

  void recycle(std::unique_ptr<Batch> b) {
    b->reset();
    free_.push_back(std::move(b));
  }

  std::string_view source_;
  const ImportOptions& options_;
  const std::string region_;
  const Header& header_;
  ListWriter& writer_;
  ImportSummary summary_;

  nlohmann::ordered_json attributes_;
  std::vector<std::string*> slots_;  // attributes_'s values, by attribute column

  std::unique_ptr<Batch> current_;
  std::deque<std::unique_ptr<Batch>> in_flight_;  // oldest first
  std::vector<std::unique_ptr<Batch>> free_;
  std::vector<PhoneResult> results_;

  PhoneNormalizerPool* pool_;
  std::unique_ptr<PhoneNormalizerPool> owned_pool_;
  bool pool_tried_ = false;
};

}  // namespace

absl::StatusOr<ImportSummary> import_list(
    std::istream& in, std::string_view source_name,
    const std::function<absl::StatusOr<std::unique_ptr<ListWriter>>()>& open_writer,
    const ImportOptions& options) {
  const std::string region = to_upper(options.default_region);
  if (!is_supported_region(region)) {
    return absl::InvalidArgumentError(
        cat("unknown default region \"", shown(options.default_region),
            "\" (expected an ISO 3166 two-letter code such as US or GB)"));
  }

  CsvReader reader(in, options.limits);
  CsvRecord rec;
  bool have_header = false;
  while (reader.next(rec)) {
    if (!rec.blank || !rec.error.empty()) {
      have_header = true;
      break;
    }
  }
  if (!have_header) return absl::InvalidArgumentError(cat(source_name, ": file is empty"));
  absl::StatusOr<Header> header = parse_header(rec, source_name);
  if (!header.ok()) return header.status();

  absl::StatusOr<std::unique_ptr<ListWriter>> writer = open_writer();
  if (!writer.ok()) return writer.status();

  Importer importer(source_name, options, region, *header, **writer);
  while (reader.next(rec)) {
    // Blank lines are no rows (as CSV tools read them), so they cost
    // neither a reject nor memory, however many there are.
    if (rec.blank && rec.error.empty()) continue;
    if (absl::Status s = importer.add_record(rec); !s.ok()) return s;
  }
  if (absl::Status s = importer.finish(); !s.ok()) return s;

  ImportSummary summary = importer.summary();
  // Rows already in the list (an append) are valid: loading them again is
  // no error, it adds nothing.
  if (summary.loaded + summary.duplicates == 0) {
    return absl::InvalidArgumentError(cat(source_name, ": no valid rows (", summary.rejected,
                                          " rejected); the campaign's list is unchanged"));
  }
  if (absl::Status s = (*writer)->count_rejects(summary.rejected_by_reason); !s.ok()) {
    return load_failed(source_name, s);
  }
  if (absl::Status s = (*writer)->commit(); !s.ok()) return load_failed(source_name, s);
  return summary;
}

}  // namespace pd
