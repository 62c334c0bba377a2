// SqliteStore's do-not-call list (store/dnc.h): tables dnc (number as the
// INTEGER rowid key: E.164 digits) and dnc_sources (labels).
//
// A bulk load must not hold the store's write lock while it reads and
// validates a file of millions of numbers (a running dialer's claims would
// wait on it), must insert fast, and must keep memory flat. So the writer
// keeps entries in memory up to a chunk, sorts each chunk by number and,
// once there is more than one, appends each as a sorted run to a private
// SQLite file attached beside the store. commit() then takes the write lock
// once and merges the runs (a k-way merge, each run read in order) into dnc
// in number order: B-tree appends and in-order updates, never random
// inserts, and the later of two entries for a number wins.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <random>

#include "core/status_macros.h"
#include "core/strings.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

using sqlite::Stmt;

int64_t ms(WallTime t) { return t.time_since_epoch().count(); }
WallTime wall(int64_t v) { return WallTime{Millis{v}}; }


std::string random_suffix() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}


}  // namespace

class SqliteStore::DncStage final : public DncWriter {
 public:
  DncStage(SqliteStore& store, DncLoadOptions options)
      : store_(store), options_(std::move(options)) {}

  ~DncStage() override {
    runs_.clear();  // statements on the staging file go before it is detached
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
    PD_ASSIGN_OR_RETURN(const int64_t key, dnc_key_or_error(e164));
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
    chunk_.push_back({key, seq_++, last_index_, expires_at ? ms(*expires_at) : kNever});
    if (chunk_.size() >= store_.dnc_chunk_entries_) return stage_chunk();
    return absl::OkStatus();
  }

  absl::StatusOr<DncLoadResult> commit() override {
    if (!runs_.empty() && !chunk_.empty()) PD_RETURN_IF_ERROR(stage_chunk());
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
    PD_ASSIGN_OR_RETURN(Stmt upsert,
                        db.prepare("INSERT INTO dnc(number, source_id, added_at, expires_at) "
                                   "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(number) DO UPDATE SET "
                                   "source_id = excluded.source_id, added_at = excluded.added_at, "
                                   "expires_at = excluded.expires_at"));
    const auto write = [&](const Entry& e) {
      upsert.bind(1, e.key).bind(2, source_ids[static_cast<size_t>(e.source)]).bind(
          3, ms(options_.now));
      if (e.expires == kNever) {
        upsert.bind(4, std::nullopt);
      } else {
        upsert.bind(4, e.expires);
      }
      return upsert.run();
    };
    if (runs_.empty()) {
      sort_chunk();
      for (const Entry& e : chunk_) PD_RETURN_IF_ERROR(write(e));
    } else {
      PD_RETURN_IF_ERROR(merge_runs(write));
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
  // One sorted chunk in the staging table: rowids [first, last].
  struct Run {
    Stmt read;
    Entry head{};
  };

  // By number; equal numbers keep file order (seq rises with it).
  void sort_chunk() {
    std::sort(chunk_.begin(), chunk_.end(), [](const Entry& a, const Entry& b) {
      return a.key != b.key ? a.key < b.key : a.seq < b.seq;
    });
  }

  // Appends the sorted chunk to the staging file as one run: rows go in
  // rowid order, so writing costs a B-tree append per entry.
  absl::Status stage_chunk() {
    sqlite::Db& db = store_.db_;
    if (!attached_) {
      // Beside the store: on its disk, in a folder the user can write; a
      // private file that this writer deletes.
      stage_path_ = cat(db.path(), "-dncload-", ::getpid(), "-", random_suffix());
      // ATTACH opens with the store's flags, which lack "create" once the
      // store exists; an empty file is an empty SQLite database.
      const int fd = ::open(stage_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) {
        const int err = errno;
        stage_path_.clear();
        return absl::UnavailableError(cat("cannot create the do-not-call staging file beside ",
                                          db.path(), ": ", std::strerror(err)));
      }
      ::close(fd);
      PD_ASSIGN_OR_RETURN(Stmt attach, db.prepare("ATTACH DATABASE ?1 AS dncload"));
      PD_RETURN_IF_ERROR(attach.bind(1, stage_path_).run());
      attached_ = true;
      PD_RETURN_IF_ERROR(db.exec("PRAGMA dncload.journal_mode=OFF"));
      PD_RETURN_IF_ERROR(db.exec("PRAGMA dncload.synchronous=OFF"));
      PD_RETURN_IF_ERROR(
          db.exec("CREATE TABLE dncload.entries(id INTEGER PRIMARY KEY, number INTEGER NOT NULL, "
                  "seq INTEGER NOT NULL, source INTEGER NOT NULL, expires_at INTEGER)"));
    }
    sort_chunk();
    const int64_t first = next_rowid_;
    // A deferred transaction locks only the database it writes: the staging
    // file, never the store.
    PD_RETURN_IF_ERROR(db.exec("BEGIN DEFERRED"));
    absl::Status s = [&]() -> absl::Status {
      PD_ASSIGN_OR_RETURN(Stmt ins, db.prepare("INSERT INTO dncload.entries(id, number, seq, "
                                               "source, expires_at) VALUES(?1, ?2, ?3, ?4, ?5)"));
      for (const Entry& e : chunk_) {
        ins.bind(1, next_rowid_++).bind(2, e.key).bind(3, e.seq).bind(4, int64_t{e.source});
        if (e.expires == kNever) {
          ins.bind(5, std::nullopt);
        } else {
          ins.bind(5, e.expires);
        }
        PD_RETURN_IF_ERROR(ins.run());
      }
      return db.exec("COMMIT");
    }();
    if (!s.ok()) {
      db.exec("ROLLBACK").IgnoreError();
      return s;
    }
    PD_ASSIGN_OR_RETURN(Stmt read, db.prepare("SELECT number, seq, source, expires_at FROM "
                                              "dncload.entries WHERE id BETWEEN ?1 AND ?2 "
                                              "ORDER BY id"));
    read.bind(1, first).bind(2, next_rowid_ - 1);
    runs_.push_back({std::move(read), {}});
    chunk_.clear();
    return absl::OkStatus();
  }

  // Reads the next entry of run `r` into its head; false at its end.
  static absl::StatusOr<bool> advance(Run& r) {
    PD_ASSIGN_OR_RETURN(bool row, r.read.step());
    if (!row) return false;
    r.head = {r.read.int64(0), r.read.int64(1), static_cast<int32_t>(r.read.int64(2)),
              r.read.is_null(3) ? kNever : r.read.int64(3)};
    return true;
  }

  // The runs merged into one stream in (number, seq) order.
  absl::Status merge_runs(const std::function<absl::Status(const Entry&)>& write) {
    const auto later = [&](size_t a, size_t b) {
      const Entry& x = runs_[a].head;
      const Entry& y = runs_[b].head;
      return x.key != y.key ? x.key > y.key : x.seq > y.seq;
    };
    std::vector<size_t> heap;  // runs with a head, smallest on top
    for (size_t i = 0; i < runs_.size(); ++i) {
      PD_ASSIGN_OR_RETURN(bool has, advance(runs_[i]));
      if (has) heap.push_back(i);
    }
    std::make_heap(heap.begin(), heap.end(), later);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), later);
      const size_t i = heap.back();
      PD_RETURN_IF_ERROR(write(runs_[i].head));
      PD_ASSIGN_OR_RETURN(bool has, advance(runs_[i]));
      if (has) {
        std::push_heap(heap.begin(), heap.end(), later);
      } else {
        heap.pop_back();
        runs_[i].read.reset();
      }
    }
    return absl::OkStatus();
  }

  SqliteStore& store_;
  DncLoadOptions options_;
  std::vector<Entry> chunk_;
  std::vector<Run> runs_;
  std::vector<std::string> sources_;  // labels by index
  std::string last_source_;
  int32_t last_index_ = 0;
  int64_t seq_ = 0;
  int64_t next_rowid_ = 1;
  bool attached_ = false;
  std::string stage_path_;
};

absl::StatusOr<std::unique_ptr<DncWriter>> SqliteStore::begin_dnc(const DncLoadOptions& options) {
  if (!options.replace_source.empty()) PD_RETURN_IF_ERROR(check_dnc_source(options.replace_source));
  return std::make_unique<DncStage>(*this, options);
}

absl::StatusOr<int64_t> SqliteStore::remove_dnc(const std::vector<std::string>& numbers) {
  PD_ASSIGN_OR_RETURN(const std::vector<int64_t> keys, dnc_keys_or_error(numbers));
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
  PD_ASSIGN_OR_RETURN(const int64_t key, dnc_key_or_error(e164));
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT s.label, d.added_at, d.expires_at FROM dnc d "
                                     "JOIN dnc_sources s ON s.id = d.source_id "
                                     "WHERE d.number = ?1"));
  s->bind(1, key);
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  if (!row) return std::optional<DncEntry>();
  DncEntry e{dnc_number(key), std::string(s->text(0)), wall(s->int64(1)), std::nullopt};
  if (auto v = s->opt_int64(2)) e.expires_at = wall(*v);
  s->reset();
  return std::optional<DncEntry>(std::move(e));
}

absl::Status SqliteStore::for_each_dnc(const DncQuery& query,
                                       const std::function<void(const DncEntry&)>& fn) {
  PD_ASSIGN_OR_RETURN(const int64_t after, dnc_after_key(query));
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
