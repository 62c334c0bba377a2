#include "io/dnc_file.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "io/phone.h"
#include "io/phone_pool.h"

namespace pd {
namespace {

// As the list import's batches (io/list_import.cc): large enough that a
// round trip to a phone worker costs nothing per row, small enough to keep
// memory flat.
constexpr size_t kBatchRows = 2048;
constexpr size_t kBatchesPerWorker = 2;
constexpr size_t kShownBytes = 40;

std::string shown(std::string_view v) {
  if (v.size() <= kShownBytes) return escape_controls(v);
  size_t cut = kShownBytes;
  while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;
  return cat(escape_controls(v.substr(0, cut)), "...");
}

absl::Status load_failed(std::string_view source, const absl::Status& s) {
  return absl::Status(s.code(), cat(s.message(), "; ", source,
                                    " was not loaded and the do-not-call list is unchanged"));
}

// The columns of a DNC file. A headerless file has one column, the number.
struct Columns {
  bool header = false;
  size_t fields = 1;
  size_t phone = 0;
  std::optional<size_t> expires, source;
};

bool is_number_column(std::string_view lower) {
  return lower == "phone" || lower == "number" || lower == "phone_number" || lower == "e164";
}

// The first record decides: a header when a field names a number column;
// one field naming nothing is the first number of a headerless file.
absl::StatusOr<Columns> find_columns(const CsvRecord& rec, std::string_view source) {
  if (!rec.error.empty()) {
    return absl::InvalidArgumentError(
        cat(source, ": line ", rec.line, ": cannot read the first line: ", rec.error));
  }
  Columns c;
  std::optional<size_t> phone;
  for (size_t i = 0; i < rec.fields.size(); ++i) {
    const std::string key = to_lower(trim(rec.fields[i]));
    if (is_number_column(key)) {
      if (phone) {
        return absl::InvalidArgumentError(
            cat(source, ": columns ", *phone + 1, " (\"", shown(trim(rec.fields[*phone])),
                "\") and ", i + 1, " (\"", shown(trim(rec.fields[i])),
                "\") both name the number; keep one"));
      }
      phone = i;
    } else if (key == "expires" && !c.expires) {
      c.expires = i;
    } else if (key == "source" && !c.source) {
      c.source = i;
    }
  }
  if (phone) {
    c.header = true;
    c.fields = rec.fields.size();
    c.phone = *phone;
    return c;
  }
  if (rec.fields.size() == 1) return c;  // headerless: this line is a number
  std::string names;
  for (size_t i = 0; i < rec.fields.size() && i < 20; ++i) {
    names += cat(i > 0 ? ", " : "", shown(trim(rec.fields[i])));
  }
  if (rec.fields.size() > 20) names += cat(", ... (", rec.fields.size(), " in all)");
  return absl::InvalidArgumentError(
      cat(source,
          ": no number column in the header (name one phone, number, phone_number or e164; "
          "or give one number per line); columns: ",
          names));
}

struct Row {
  int64_t line = 0;
  const char* kind = nullptr;  // non-null: rejected for this reason
  std::string reason;
  std::string source;  // empty: the default
  std::optional<WallTime> expires_at;
};

struct Batch {
  std::vector<Row> rows;
  size_t size = 0;
  std::vector<std::string> phones;  // of the rows not rejected, in order

  Row& add(int64_t line) {
    if (size == rows.size()) rows.emplace_back();
    Row& r = rows[size++];
    r.line = line;
    r.kind = nullptr;
    r.source.clear();
    r.expires_at.reset();
    return r;
  }
  bool full() const { return size >= kBatchRows; }
  void reset() {
    size = 0;
    phones.clear();
  }
};

class Importer {
 public:
  Importer(std::string_view source_name, const DncImportOptions& options, std::string region,
           const Columns& columns, DncWriter& writer)
      : source_name_(source_name),
        options_(options),
        region_(std::move(region)),
        columns_(columns),
        writer_(writer),
        pool_(options.pool) {}

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
    if (!rec.error.empty()) {
      reject(row, dnc_reject::kUnreadable, rec.error);
    } else if (rec.fields.size() != columns_.fields) {
      reject(row, dnc_reject::kFieldCount,
             columns_.header ? cat("expected ", columns_.fields, " fields, found ",
                                   rec.fields.size())
                             : cat("expected one number per line, found ", rec.fields.size(),
                                   " fields"));
    } else {
      const std::string_view phone = trim(rec.fields[columns_.phone]);
      std::string_view expires, source;
      if (columns_.expires) expires = trim(rec.fields[*columns_.expires]);
      if (columns_.source) source = trim(rec.fields[*columns_.source]);
      if (phone.empty()) {
        reject(row, dnc_reject::kMissingPhone, "missing number");
      } else if (!expires.empty() && !parse_into(expires, row)) {
        // parse_into rejected the row
      } else if (absl::Status bad = source.empty() ? absl::OkStatus() : check_dnc_source(source);
                 !bad.ok()) {
        reject(row, dnc_reject::kInvalidSource, std::string(bad.message()));
      } else {
        row.source.assign(source);
        b.phones.emplace_back(phone);
      }
    }
    if (b.full()) return dispatch(/*last=*/false);
    return absl::OkStatus();
  }

  absl::Status finish() {
    if (current().size > 0) PD_RETURN_IF_ERROR(dispatch(/*last=*/true));
    while (!in_flight_.empty()) PD_RETURN_IF_ERROR(complete_oldest());
    return absl::OkStatus();
  }

  DncImportSummary& summary() { return summary_; }
  int64_t written() const { return written_; }

 private:
  bool parse_into(std::string_view expires, Row& row) {
    auto t = parse_dnc_expires(expires);
    if (!t.ok()) {
      reject(row, dnc_reject::kInvalidExpires, std::string(t.status().message()));
      return false;
    }
    row.expires_at = *t;
    return true;
  }

  static void reject(Row& row, const char* kind, std::string reason) {
    row.kind = kind;
    row.reason = std::move(reason);
  }

  // Fills results_ for `b` when every phone in it is NANP-shaped.
  bool all_nanp(const Batch& b) {
    results_.resize(b.phones.size());
    for (size_t i = 0; i < b.phones.size(); ++i) {
      if (!nanp_e164_into(b.phones[i], region_, results_[i].value)) return false;
      results_[i].ok = true;
    }
    return true;
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

  absl::Status dispatch(bool last) {
    std::unique_ptr<Batch> b = std::move(current_);
    // National registry extracts are NANP numbers, 10 digits a line: their
    // shape is all a do-not-call entry needs (see nanp_e164_into), so such
    // a batch skips libphonenumber and the workers (rows stay in order: only
    // while no batch is out with them).
    if (in_flight_.empty() && all_nanp(*b)) {
      absl::Status s = write(*b);
      recycle(std::move(b));
      return s;
    }
    if (pool_ == nullptr && !last && !pool_tried_ && options_.workers != 1 &&
        (options_.workers > 1 || PhoneNormalizerPool::default_workers() > 1)) {
      pool_tried_ = true;
      PhoneNormalizerPool::Options po;
      po.workers = std::max(0, options_.workers);
      // Any failure leaves inline validation: the same results, slower.
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
      return absl::Status(s.code(), cat(source_name_, ": ", s.message()));
    }
    in_flight_.push_back(std::move(b));
    const size_t limit = kBatchesPerWorker * static_cast<size_t>(pool_->workers());
    while (in_flight_.size() > limit) PD_RETURN_IF_ERROR(complete_oldest());
    return absl::OkStatus();
  }

  absl::Status complete_oldest() {
    if (absl::Status s = pool_->collect(results_); !s.ok()) {
      return absl::Status(s.code(), cat(source_name_, ": ", s.message()));
    }
    std::unique_ptr<Batch> b = std::move(in_flight_.front());
    in_flight_.pop_front();
    if (results_.size() != b->phones.size()) {
      return absl::InternalError(cat(source_name_, ": phone worker answered ", results_.size(),
                                     " phones for ", b->phones.size()));
    }
    absl::Status s = write(*b);
    recycle(std::move(b));
    return s;
  }

  absl::Status write(const Batch& b) {
    size_t next_phone = 0;
    for (size_t i = 0; i < b.size; ++i) {
      const Row& row = b.rows[i];
      if (row.kind != nullptr) {
        report(row.line, row.kind, row.reason);
        continue;
      }
      const PhoneResult& r = results_[next_phone];
      const std::string& raw = b.phones[next_phone];
      ++next_phone;
      if (!r.ok) {
        report(row.line, dnc_reject::kInvalidPhone,
               cat("invalid phone \"", shown(raw), "\": ", r.value));
        continue;
      }
      const std::string& source = row.source.empty() ? options_.source : row.source;
      const std::optional<WallTime>& expires = row.expires_at ? row.expires_at : options_.expires_at;
      if (absl::Status s = writer_.add(r.value, source, expires); !s.ok()) {
        return load_failed(source_name_, s);
      }
      ++written_;
    }
    return absl::OkStatus();
  }

  void report(int64_t line, const char* kind, std::string_view reason) {
    ++summary_.rejected;
    ++summary_.rejected_by_reason[kind];
    if (options_.on_reject) options_.on_reject(line, reason);
  }

  void recycle(std::unique_ptr<Batch> b) {
    b->reset();
    free_.push_back(std::move(b));
  }

  std::string_view source_name_;
  const DncImportOptions& options_;
  const std::string region_;
  const Columns& columns_;
  DncWriter& writer_;
  DncImportSummary summary_;
  int64_t written_ = 0;

  std::unique_ptr<Batch> current_;
  std::deque<std::unique_ptr<Batch>> in_flight_;
  std::vector<std::unique_ptr<Batch>> free_;
  std::vector<PhoneResult> results_;
  PhoneNormalizerPool* pool_;
  std::unique_ptr<PhoneNormalizerPool> owned_pool_;
  bool pool_tried_ = false;
};

bool parse_int(std::string_view s, size_t pos, size_t len, int& out) {
  if (pos + len > s.size()) return false;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return true;
}

}  // namespace

absl::StatusOr<WallTime> parse_dnc_expires(std::string_view text) {
  using namespace std::chrono;
  const std::string_view s = trim(text);
  const auto bad = [&] {
    return absl::InvalidArgumentError(
        cat("invalid expiry \"", shown(s),
            "\": expected a date (2027-01-31) or an RFC 3339 time (2027-01-31T17:00:00Z)"));
  };
  int y = 0, mo = 0, d = 0;
  if (s.size() < 10 || !parse_int(s, 0, 4, y) || s[4] != '-' || !parse_int(s, 5, 2, mo) ||
      s[7] != '-' || !parse_int(s, 8, 2, d)) {
    return bad();
  }
  const year_month_day ymd{year{y}, month(unsigned(mo)), day(unsigned(d))};
  if (!ymd.ok()) return bad();
  if (s.size() == 10) return WallTime{sys_days{ymd} + days{1}};  // through that day
  // RFC 3339: date "T" HH:MM:SS [.frac] (Z | +HH:MM | -HH:MM)
  int h = 0, mi = 0, sec = 0;
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !parse_int(s, 11, 2, h) ||
      s[13] != ':' || !parse_int(s, 14, 2, mi) || s[16] != ':' || !parse_int(s, 17, 2, sec) ||
      h > 23 || mi > 59 || sec > 60) {
    return bad();
  }
  size_t pos = 19;
  int64_t frac_ms = 0;
  if (s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) frac_ms = frac_ms * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 3; ++i) frac_ms *= 10;
  }
  minutes offset{0};
  const std::string_view zone = s.substr(pos);
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int oh = 0, om = 0;
    if (!parse_int(zone, 1, 2, oh) || !parse_int(zone, 4, 2, om) || oh > 23 || om > 59) {
      return bad();
    }
    offset = hours{oh} + minutes{om};
    if (zone[0] == '-') offset = -offset;
  } else {
    return bad();
  }
  return WallTime{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{sec} + milliseconds{frac_ms} -
         offset;
}

std::string dnc_source_for_file(const std::string& location) {
  std::string name = location.substr(location.find_last_of('/') + 1);
  if (const size_t dot = name.find_last_of('.'); dot != std::string::npos && dot > 0) {
    name.resize(dot);
  }
  for (char& c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) c = '-';
  }
  if (name.size() > 64) name.resize(64);
  return name.empty() ? "file" : name;
}

absl::StatusOr<std::string> normalize_dnc_number(std::string_view raw,
                                                 std::string_view default_region) {
  const std::string_view number = trim(raw);
  if (number.empty()) return absl::InvalidArgumentError("missing number");
  std::string out;
  if (!normalize_phone_into(number, to_upper(default_region), out)) {
    return absl::InvalidArgumentError(cat("invalid phone \"", shown(number), "\": ", out));
  }
  return out;
}

absl::StatusOr<DncImportSummary> import_dnc(
    std::istream& in, std::string_view source_name,
    const std::function<absl::StatusOr<std::unique_ptr<DncWriter>>()>& open_writer,
    const DncImportOptions& options) {
  const std::string region = to_upper(options.default_region);
  if (!is_supported_region(region)) {
    return absl::InvalidArgumentError(
        cat("unknown default region \"", shown(options.default_region),
            "\" (expected an ISO 3166 two-letter code such as US or GB)"));
  }
  if (absl::Status s = check_dnc_source(options.source); !s.ok()) return s;

  CsvReader reader(in, options.limits);
  CsvRecord rec;
  bool have_first = false;
  while (reader.next(rec)) {
    if (!rec.blank || !rec.error.empty()) {
      have_first = true;
      break;
    }
  }
  if (!have_first) return absl::InvalidArgumentError(cat(source_name, ": file is empty"));
  absl::StatusOr<Columns> columns = find_columns(rec, source_name);
  if (!columns.ok()) return columns.status();

  absl::StatusOr<std::unique_ptr<DncWriter>> writer = open_writer();
  if (!writer.ok()) return writer.status();

  Importer importer(source_name, options, region, *columns, **writer);
  if (!columns->header) {
    if (absl::Status s = importer.add_record(rec); !s.ok()) return s;
  }
  while (reader.next(rec)) {
    if (rec.blank && rec.error.empty()) continue;
    if (absl::Status s = importer.add_record(rec); !s.ok()) return s;
  }
  if (absl::Status s = importer.finish(); !s.ok()) return s;

  DncImportSummary summary = importer.summary();
  if (importer.written() == 0) {
    return absl::InvalidArgumentError(cat(source_name, ": no valid numbers (", summary.rejected,
                                          " row(s) rejected); the do-not-call list is unchanged"));
  }
  absl::StatusOr<DncLoadResult> done = (*writer)->commit();
  if (!done.ok()) return load_failed(source_name, done.status());
  summary.load = *done;
  return summary;
}

DncCsvWriter::DncCsvWriter(std::ostream& out) : out_(out) {
  out_ << "number,source,added_at,expires\n";
}

void DncCsvWriter::add(const DncEntry& e) {
  // Numbers and labels hold no comma or quote (check_dnc_source), so no
  // field needs quoting.
  out_ << e.number << ',' << e.source << ',' << format_iso8601(e.added_at) << ','
       << (e.expires_at ? format_iso8601(*e.expires_at) : std::string()) << '\n';
}

namespace {
nlohmann::json entry_json(const DncEntry& e, WallTime now) {
  return {{"number", e.number},
          {"source", e.source},
          {"added_at", format_iso8601(e.added_at)},
          {"expires_at", e.expires_at ? nlohmann::json(format_iso8601(*e.expires_at))
                                      : nlohmann::json(nullptr)},
          {"expired", !e.active_at(now)}};
}
}  // namespace

DncJsonWriter::DncJsonWriter(std::ostream& out, WallTime now) : out_(out), now_(now) {
  out_ << "[";
}

void DncJsonWriter::add(const DncEntry& e) {
  out_ << (first_ ? "\n" : ",\n") << entry_json(e, now_).dump();
  first_ = false;
}

void DncJsonWriter::finish() { out_ << (first_ ? "]\n" : "\n]\n"); }

nlohmann::json dnc_check_json(std::string_view number, const std::optional<DncEntry>& entry,
                              WallTime now) {
  if (!entry) {
    return {{"number", number}, {"listed", false}, {"source", nullptr}, {"added_at", nullptr},
            {"expires_at", nullptr}, {"expired", false}};
  }
  nlohmann::json j = entry_json(*entry, now);
  j["listed"] = entry->active_at(now);
  return j;
}

}  // namespace pd
