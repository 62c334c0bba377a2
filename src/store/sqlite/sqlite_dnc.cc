// SqliteStore's do-not-call list (store/dnc.h): tables dnc (number as the
// INTEGER rowid key: E.164 digits) and dnc_sources (labels).
//
// A bulk load must not hold the store's write lock while it reads and
// validates a file of millions of numbers (a running dialer's claims would
// wait on it), and must insert fast. So the writer keeps entries in memory
// up to a chunk, sorts each chunk by number and, once there is more than
// one chunk, stages them in a private SQLite file attached beside the store
// (a table keyed by number and file order, so reading it back needs no
// sort). commit() then takes the write lock once and merges the staged
// entries into dnc in number order: B-tree appends and in-order updates,
// not random inserts.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "core/status_macros.h"
#include "core/strings.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

using sqlite::Stmt;

int64_t ms(WallTime t) { return t.time_since_epoch().count(); }
WallTime wall(int64_t v) { return WallTime{Millis{v}}; }

// Entries sorted and written at once; 24 bytes each, so ~6 MB.
constexpr size_t kChunkEntries = 256 * 1024;

std::string random_suffix() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

absl::Status not_e164(std::string_view number) {
  return absl::InvalidArgumentError(
      cat("\"", escape_controls(number.substr(0, 40)), "\" is not an E.164 number"));
}

}  // namespace

class SqliteStore::DncStage final : public DncWriter {
 public:
  DncStage(SqliteStore& store, DncLoadOptions options)
      : store_(store), options_(std::move(options)) {}

  ~DncStage() override {
    if (attached_) store_.db_.exec("DETACH DATABASE dncload").IgnoreError();
    if (!stage_path_.empty()) {
      std::error_code ec;
      for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
        std::filesystem::remove(stage_path_ + suffix, ec);
      }
    }
  }

  absl::Status add(std::string_view e164, std::string_view source,
                   std::optional<WallTime> expires_at) override {
    const std::optional<int64_t> key = dnc_key(e164);
    if (!key) return not_e164(e164);
    int32_t src = 0;
    if (source != last_source_ || sources_.empty()) {
      PD_RETURN_IF_ERROR(check_dnc_source(source));
      auto it = std::find(sources_.begin(), sources_.end(), source);
      if (it == sources_.end()) {
        sources_.emplace_back(source);
        it = sources_.end() - 1;
      }
      last_index_ = static_cast<int32_t>(it - sources_.begin());
      last_source_.assign(source);
    }
    src = last_index_;
    chunk_.push_back({*key, seq_++, src, expires_at ? ms(*expires_at) : kNever});
    if (chunk_.size() >= kChunkEntries) return stage_chunk();
    return absl::OkStatus();
  }

  absl::StatusOr<DncLoadResult> commit() override {
    if (staged_ > 0 && !chunk_.empty()) PD_RETURN_IF_ERROR(stage_chunk());
    sort_chunk();
    sqlite::Db& db = store_.db_;
    sqlite::Transaction txn(db);
    PD_RETURN_IF_ERROR(txn.begin());
    DncLoadResult result;
    result.written = seq_;
    // Source labels to their ids in the store.
    std::vector<int64_t> source_ids;
    {
      PD_ASSIGN_OR_RETURN(Stmt ins, db.prepare("INSERT INTO dnc_sources(label) VALUES(?1) "
                                               "ON CONFLICT(label) DO NOTHING"));
      PD_ASSIGN_OR_RETURN(Stmt find, db.prepare("SELECT id FROM dnc_sources WHERE label = ?1"));
      for (const std::string& label : sources_) {
        PD_RETURN_IF_ERROR(ins.bind(1, label).run());
        find.bind(1, label);
        PD_ASSIGN_OR_RETURN(bool row, find.step());
        if (!row) return absl::InternalError("a do-not-call source vanished during a load");
        source_ids.push_back(find.int64(0));
        find.reset();
      }
    }
    if (!options_.replace_source.empty()) {
      PD_ASSIGN_OR_RETURN(Stmt del, db.prepare("DELETE FROM dnc WHERE source_id = "
                                               "(SELECT id FROM dnc_sources WHERE label = ?1)"));
      PD_RETURN_IF_ERROR(del.bind(1, options_.replace_source).run());
      result.replaced = db.changes();
    }
    constexpr const char* kUpsert =
        " ON CONFLICT(number) DO UPDATE SET source_id = excluded.source_id, "
        "added_at = excluded.added_at, expires_at = excluded.expires_at";
    if (staged_ > 0) {
      PD_RETURN_IF_ERROR(db.exec("CREATE TEMP TABLE IF NOT EXISTS dnc_source_ids("
                                 "idx INTEGER PRIMARY KEY, id INTEGER NOT NULL)"));
      PD_RETURN_IF_ERROR(db.exec("DELETE FROM temp.dnc_source_ids"));
      PD_ASSIGN_OR_RETURN(Stmt map, db.prepare("INSERT INTO temp.dnc_source_ids(idx, id) "
                                               "VALUES(?1, ?2)"));
      for (size_t i = 0; i < source_ids.size(); ++i) {
        PD_RETURN_IF_ERROR(map.bind(1, static_cast<int64_t>(i)).bind(2, source_ids[i]).run());
      }
      // `WHERE true` keeps SQLite from reading ON CONFLICT as a join clause.
      PD_ASSIGN_OR_RETURN(
          Stmt merge,
          db.prepare(cat("INSERT INTO dnc(number, source_id, added_at, expires_at) "
                         "SELECT e.number, s.id, ?1, e.expires_at FROM dncload.entries e "
                         "JOIN temp.dnc_source_ids s ON s.idx = e.source WHERE true "
                         "ORDER BY e.number, e.seq",
                         kUpsert)));
      PD_RETURN_IF_ERROR(merge.bind(1, ms(options_.now)).run());
    } else {
      PD_ASSIGN_OR_RETURN(Stmt ins,
                          db.prepare(cat("INSERT INTO dnc(number, source_id, added_at, "
                                         "expires_at) VALUES(?1, ?2, ?3, ?4)",
                                         kUpsert)));
      for (const Entry& e : chunk_) {
        ins.bind(1, e.key).bind(2, source_ids[e.source]).bind(3, ms(options_.now));
        if (e.expires == kNever) {
          ins.bind(4, std::nullopt);
        } else {
          ins.bind(4, e.expires);
        }
        PD_RETURN_IF_ERROR(ins.run());
      }
    }
    PD_ASSIGN_OR_RETURN(Stmt count, db.prepare("SELECT count(*) FROM dnc"));
    PD_ASSIGN_OR_RETURN(bool row, count.step());
    result.total = row ? count.int64(0) : 0;
    count.reset();
    PD_RETURN_IF_ERROR(txn.commit());
    return result;
  }

 private:
  static constexpr int64_t kNever = INT64_MIN;
  struct Entry {
    int64_t key;
    int64_t seq;  // file order: the later of two entries for a number wins
    int32_t source;
    int64_t expires;  // kNever: no expiry
  };

  // Chunks are sorted by number; equal numbers keep file order.
  void sort_chunk() {
    std::stable_sort(chunk_.begin(), chunk_.end(),
                     [](const Entry& a, const Entry& b) { return a.key < b.key; });
  }

  absl::Status stage_chunk() {
    sqlite::Db& db = store_.db_;
    if (!attached_) {
      // Beside the store, so it is on the same disk and in a folder the user
      // can write; a private file that this writer deletes.
      stage_path_ = cat(db.path(), "-dncload-", ::getpid(), "-", random_suffix());
      PD_ASSIGN_OR_RETURN(Stmt attach, db.prepare("ATTACH DATABASE ?1 AS dncload"));
      PD_RETURN_IF_ERROR(attach.bind(1, stage_path_).run());
      attached_ = true;
      PD_RETURN_IF_ERROR(db.exec("PRAGMA dncload.journal_mode=OFF"));
      PD_RETURN_IF_ERROR(db.exec("PRAGMA dncload.synchronous=OFF"));
      PD_RETURN_IF_ERROR(
          db.exec("CREATE TABLE dncload.entries(number INTEGER NOT NULL, seq INTEGER NOT NULL, "
                  "source INTEGER NOT NULL, expires_at INTEGER, PRIMARY KEY(number, seq)) "
                  "WITHOUT ROWID"));
    }
    sort_chunk();
    // A deferred transaction locks only the database it writes: the staging
    // file, never the store.
    PD_RETURN_IF_ERROR(db.exec("BEGIN DEFERRED"));
    absl::Status s = [&]() -> absl::Status {
      PD_ASSIGN_OR_RETURN(Stmt ins, db.prepare("INSERT INTO dncload.entries(number, seq, source, "
                                               "expires_at) VALUES(?1, ?2, ?3, ?4)"));
      for (const Entry& e : chunk_) {
        ins.bind(1, e.key).bind(2, e.seq).bind(3, int64_t{e.source});
        if (e.expires == kNever) {
          ins.bind(4, std::nullopt);
        } else {
          ins.bind(4, e.expires);
        }
        PD_RETURN_IF_ERROR(ins.run());
      }
      return db.exec("COMMIT");
    }();
    if (!s.ok()) {
      db.exec("ROLLBACK").IgnoreError();
      return s;
    }
    staged_ += static_cast<int64_t>(chunk_.size());
    chunk_.clear();
    return absl::OkStatus();
  }

  SqliteStore& store_;
  DncLoadOptions options_;
  std::vector<Entry> chunk_;
  std::vector<std::string> sources_;  // labels by index
  std::string last_source_;
  int32_t last_index_ = 0;
  int64_t seq_ = 0;
  int64_t staged_ = 0;
  bool attached_ = false;
  std::string stage_path_;
};

absl::StatusOr<std::unique_ptr<DncWriter>> SqliteStore::begin_dnc(const DncLoadOptions& options) {
  if (!options.replace_source.empty()) PD_RETURN_IF_ERROR(check_dnc_source(options.replace_source));
  return std::make_unique<DncStage>(*this, options);
}

absl::StatusOr<int64_t> SqliteStore::remove_dnc(const std::vector<std::string>& numbers) {
  std::vector<int64_t> keys;
  for (const std::string& n : numbers) {
    const std::optional<int64_t> key = dnc_key(n);
    if (!key) return not_e164(n);
    keys.push_back(*key);
  }
  sqlite::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  PD_ASSIGN_OR_RETURN(Stmt * del, stmt("DELETE FROM dnc WHERE number = ?1"));
  int64_t removed = 0;
  for (const int64_t key : keys) {
    del->reset();
    PD_RETURN_IF_ERROR(del->bind(1, key).run());
    removed += db_.changes();
  }
  PD_RETURN_IF_ERROR(txn.commit());
  return removed;
}

absl::StatusOr<std::optional<DncEntry>> SqliteStore::find_dnc(std::string_view e164) {
  const std::optional<int64_t> key = dnc_key(e164);
  if (!key) return not_e164(e164);
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT s.label, d.added_at, d.expires_at FROM dnc d "
                                     "JOIN dnc_sources s ON s.id = d.source_id "
                                     "WHERE d.number = ?1"));
  s->bind(1, *key);
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  if (!row) return std::optional<DncEntry>();
  DncEntry e{dnc_number(*key), std::string(s->text(0)), wall(s->int64(1)), std::nullopt};
  if (auto v = s->opt_int64(2)) e.expires_at = wall(*v);
  s->reset();
  return std::optional<DncEntry>(std::move(e));
}

absl::Status SqliteStore::for_each_dnc(const DncQuery& query,
                                       const std::function<void(const DncEntry&)>& fn) {
  int64_t after = -1;
  if (!query.after.empty()) {
    const std::optional<int64_t> key = dnc_key(query.after);
    if (!key) return not_e164(query.after);
    after = *key;
  }
  PD_ASSIGN_OR_RETURN(Stmt * s,
                      stmt("SELECT d.number, s.label, d.added_at, d.expires_at FROM dnc d "
                           "JOIN dnc_sources s ON s.id = d.source_id "
                           "WHERE d.number > ?1 AND (?2 = '' OR s.label = ?2) "
                           "ORDER BY d.number LIMIT ?3"));
  s->bind(1, after).bind(2, query.source).bind(3, query.limit > 0 ? query.limit : int64_t{-1});
  // One read transaction, so the walk sees one state of the list.
  DncEntry e;
  while (true) {
    absl::StatusOr<bool> row = s->step();
    if (!row.ok()) {
      s->reset();
      return row.status();
    }
    if (!*row) break;
    e.number = dnc_number(s->int64(0));
    e.source.assign(s->text(1));
    e.added_at = wall(s->int64(2));
    e.expires_at.reset();
    if (auto v = s->opt_int64(3)) e.expires_at = wall(*v);
    fn(e);
  }
  s->reset();
  return absl::OkStatus();
}

absl::StatusOr<DncCounts> SqliteStore::dnc_counts(WallTime now) {
  PD_ASSIGN_OR_RETURN(Stmt * s,
                      stmt("SELECT s.label, count(*), "
                           "coalesce(sum(d.expires_at IS NOT NULL AND d.expires_at <= ?1), 0) "
                           "FROM dnc d JOIN dnc_sources s ON s.id = d.source_id GROUP BY s.label"));
  s->bind(1, ms(now));
  DncCounts counts;
  while (true) {
    PD_ASSIGN_OR_RETURN(bool row, s->step());
    if (!row) break;
    counts.by_source[std::string(s->text(0))] = s->int64(1);
    counts.total += s->int64(1);
    counts.expired += s->int64(2);
  }
  s->reset();
  return counts;
}

absl::StatusOr<std::optional<std::string>> SqliteStore::dnc_source_if_listed(std::string_view e164,
                                                                            WallTime now) {
  const std::optional<int64_t> key = dnc_key(e164);
  // A phone the list import stored is E.164; anything else cannot be listed.
  if (!key) return std::optional<std::string>();
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT s.label FROM dnc d JOIN dnc_sources s "
                                     "ON s.id = d.source_id WHERE d.number = ?1 AND "
                                     "(d.expires_at IS NULL OR d.expires_at > ?2)"));
  s->bind(1, *key).bind(2, ms(now));
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  std::optional<std::string> source;
  if (row) source = std::string(s->text(0));
  s->reset();
  return source;
}

}  // namespace pd
