// PgStore's do-not-call list (store/dnc.h): tables dnc (number as BIGINT:
// E.164 digits) and dnc_sources (labels).
//
// A bulk load keeps memory flat and holds no lock while the file is read:
// the writer sends entries in chunks with COPY into a session-private
// temporary table (no WAL, no lock on dnc), and commit() merges it into dnc
// with one INSERT ... ON CONFLICT in one transaction, the later of two
// entries for a number winning.
#include "core/status_macros.h"
#include "core/strings.h"
#include "store/postgres/pg_store.h"
#include "store/store_common.h"

namespace pd {
namespace {

using namespace store_common;  // NOLINT: the helpers both stores share
using pg::p;
using pg::Result;


}  // namespace

class PgStore::DncStage final : public DncWriter {
 public:
  DncStage(PgStore& store, DncLoadOptions options) : store_(store), options_(std::move(options)) {}

  absl::Status start() {
    PD_RETURN_IF_ERROR(store_.db_.exec("CREATE TEMP TABLE IF NOT EXISTS pd_dnc_stage(seq BIGINT, "
                                       "number BIGINT, label TEXT, expires_at BIGINT)"));
    return store_.db_.exec("TRUNCATE pd_dnc_stage");
  }

  absl::Status add(std::string_view e164, std::string_view source,
                   std::optional<WallTime> expires_at) override {
    PD_ASSIGN_OR_RETURN(const int64_t key, dnc_key_or_error(e164));
    if (source != last_source_) {
      PD_RETURN_IF_ERROR(check_dnc_source(source));
      last_source_.assign(source);
    }
    chunk_.push_back({key, last_source_, expires_at ? std::optional<int64_t>(ms(*expires_at))
                                                     : std::nullopt});
    if (chunk_.size() >= kChunk) return flush();
    return absl::OkStatus();
  }

  absl::StatusOr<DncLoadResult> commit() override {
    PD_RETURN_IF_ERROR(flush());
    pg::Db& db = store_.db_;
    pg::Transaction txn(db);
    PD_RETURN_IF_ERROR(txn.begin());
    DncLoadResult result;
    result.written = seq_;
    PD_RETURN_IF_ERROR(db.exec("INSERT INTO dnc_sources(label) SELECT DISTINCT label FROM "
                               "pd_dnc_stage ORDER BY 1 ON CONFLICT (label) DO NOTHING"));
    if (!options_.replace_source.empty()) {
      PD_ASSIGN_OR_RETURN(Result del, db.query("DELETE FROM dnc WHERE source_id = (SELECT id "
                                               "FROM dnc_sources WHERE label = $1)",
                                               {p(options_.replace_source)}));
      result.replaced = del.affected();
    }
    PD_RETURN_IF_ERROR(db.query("INSERT INTO dnc(number, source_id, added_at, expires_at) "
                                "SELECT DISTINCT ON (s.number) s.number, ds.id, $1::bigint, "
                                "s.expires_at FROM pd_dnc_stage s JOIN dnc_sources ds ON "
                                "ds.label = s.label ORDER BY s.number, s.seq DESC "
                                "ON CONFLICT (number) DO UPDATE SET source_id = "
                                "excluded.source_id, added_at = excluded.added_at, "
                                "expires_at = excluded.expires_at",
                                {p(ms(options_.now))})
                           .status());
    PD_ASSIGN_OR_RETURN(Result count, db.query("SELECT count(*) FROM dnc"));
    result.total = count.int64(0, 0);
    PD_RETURN_IF_ERROR(db.exec("TRUNCATE pd_dnc_stage"));
    PD_RETURN_IF_ERROR(txn.commit());
    return result;
  }

 private:
  struct Entry {
    int64_t key;
    std::string source;
    std::optional<int64_t> expires;
  };
  static constexpr size_t kChunk = 50000;

  // One whole COPY per chunk, so the connection is free between add()s.
  absl::Status flush() {
    if (chunk_.empty()) return absl::OkStatus();
    pg::Db& db = store_.db_;
    PD_RETURN_IF_ERROR(
        db.copy_begin("COPY pd_dnc_stage(seq, number, label, expires_at) FROM STDIN"));
    absl::Status s = absl::OkStatus();
    for (const Entry& e : chunk_) {
      s = db.copy_row({p(seq_++), p(e.key), p(e.source), pg::p_opt(e.expires)});
      if (!s.ok()) break;
    }
    absl::Status end = db.copy_end();
    chunk_.clear();
    return s.ok() ? end : s;
  }

  PgStore& store_;
  DncLoadOptions options_;
  std::vector<Entry> chunk_;
  std::string last_source_;
  int64_t seq_ = 0;
};

absl::StatusOr<std::unique_ptr<DncWriter>> PgStore::begin_dnc(const DncLoadOptions& options) {
  if (!options.replace_source.empty()) PD_RETURN_IF_ERROR(check_dnc_source(options.replace_source));
  auto stage = std::make_unique<DncStage>(*this, options);
  PD_RETURN_IF_ERROR(stage->start());
  return stage;
}

absl::StatusOr<int64_t> PgStore::remove_dnc(const std::vector<std::string>& numbers) {
  PD_ASSIGN_OR_RETURN(const std::vector<int64_t> numbers_keys, dnc_keys_or_error(numbers));
  std::string keys = "{";
  for (const int64_t key : numbers_keys) {
    if (keys.size() > 1) keys += ',';
    keys += std::to_string(key);
  }
  keys += '}';
  // One statement: one transaction. The array holds only validated digits.
  PD_ASSIGN_OR_RETURN(Result r, db_.query("DELETE FROM dnc WHERE number = ANY($1::bigint[])",
                                          {p(keys)}));
  return r.affected();
}

absl::StatusOr<std::optional<DncEntry>> PgStore::find_dnc(std::string_view e164) {
  PD_ASSIGN_OR_RETURN(const int64_t key, dnc_key_or_error(e164));
  PD_ASSIGN_OR_RETURN(Result r, db_.query("SELECT s.label, d.added_at, d.expires_at FROM dnc d "
                                          "JOIN dnc_sources s ON s.id = d.source_id "
                                          "WHERE d.number = $1",
                                          {p(key)}));
  if (r.rows() == 0) return std::optional<DncEntry>();
  DncEntry e{dnc_number(key), r.str(0, 0), wall(r.int64(0, 1)), std::nullopt};
  if (auto v = r.opt_int64(0, 2)) e.expires_at = wall(*v);
  return std::optional<DncEntry>(std::move(e));
}

absl::Status PgStore::for_each_dnc(const DncQuery& query,
                                   const std::function<void(const DncEntry&)>& fn) {
  PD_ASSIGN_OR_RETURN(int64_t after, dnc_after_key(query));
  // Paged by number: memory stays flat on a list of millions.
  constexpr int64_t kPage = 5000;
  int64_t left = query.limit > 0 ? query.limit : INT64_MAX;
  DncEntry e;
  while (left > 0) {
    const int64_t page = std::min(left, kPage);
    PD_ASSIGN_OR_RETURN(Result r,
                        db_.query("SELECT d.number, s.label, d.added_at, d.expires_at FROM dnc d "
                                  "JOIN dnc_sources s ON s.id = d.source_id WHERE d.number > $1 "
                                  "AND ($2 = '' OR s.label = $2) ORDER BY d.number LIMIT $3",
                                  {p(after), p(query.source), p(page)}));
    for (int i = 0; i < r.rows(); ++i) {
      e.number = dnc_number(r.int64(i, 0));
      e.source = r.str(i, 1);
      e.added_at = wall(r.int64(i, 2));
      e.expires_at.reset();
      if (auto v = r.opt_int64(i, 3)) e.expires_at = wall(*v);
      fn(e);
    }
    if (r.rows() < page) break;
    left -= r.rows();
    after = r.int64(r.rows() - 1, 0);
  }
  return absl::OkStatus();
}

absl::StatusOr<DncCounts> PgStore::dnc_counts(WallTime now) {
  PD_ASSIGN_OR_RETURN(Result r, db_.query("SELECT s.label, count(*), count(*) FILTER (WHERE "
                                          "d.expires_at IS NOT NULL AND d.expires_at <= $1) "
                                          "FROM dnc d JOIN dnc_sources s ON s.id = d.source_id "
                                          "GROUP BY s.label",
                                          {p(ms(now))}));
  DncCounts counts;
  for (int i = 0; i < r.rows(); ++i) {
    counts.by_source[r.str(i, 0)] = r.int64(i, 1);
    counts.total += r.int64(i, 1);
    counts.expired += r.int64(i, 2);
  }
  return counts;
}

absl::StatusOr<std::optional<std::string>> PgStore::dnc_source_if_listed(std::string_view e164,
                                                                         WallTime now) {
  const std::optional<int64_t> key = dnc_key(e164);
  if (!key) return std::optional<std::string>();
  PD_ASSIGN_OR_RETURN(Result r, db_.query("SELECT s.label FROM dnc d JOIN dnc_sources s "
                                          "ON s.id = d.source_id WHERE d.number = $1 AND "
                                          "(d.expires_at IS NULL OR d.expires_at > $2)",
                                          {p(*key), p(ms(now))}));
  std::optional<std::string> source;
  if (r.rows() > 0) source = r.str(0, 0);
  return source;
}

absl::Status PgStore::add_dnc_from_disposition(std::string_view phone, WallTime now) {
  const std::optional<int64_t> number = dnc_key(phone);
  if (!number) {
    return absl::InvalidArgumentError(cat("cannot put ", echo(phone), " on the do-not-call list"));
  }
  PD_RETURN_IF_ERROR(db_.query("INSERT INTO dnc_sources(label) VALUES('disposition') "
                               "ON CONFLICT (label) DO NOTHING")
                         .status());
  return db_
      .query("INSERT INTO dnc(number, source_id, added_at, expires_at) VALUES($1, "
             "(SELECT id FROM dnc_sources WHERE label = 'disposition'), $2, NULL) "
             "ON CONFLICT (number) DO UPDATE SET source_id = excluded.source_id, "
             "added_at = excluded.added_at, expires_at = NULL",
             {p(*number), p(ms(now))})
      .status();
}

}  // namespace pd
