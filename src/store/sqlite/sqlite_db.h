// A thin RAII layer over the SQLite C API: a connection, prepared statements
// with typed binds and reads, and transactions. Hand-written rather than
// using a wrapper library (SQLiteCpp) because the store reports errors as
// absl::Status with SQLite's busy/locked mapped to kUnavailable, and no
// exceptions may cross the Store boundary.
// Thread-safety: one connection per thread.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pd::sqlite {

// Maps an SQLite result code to a Status in a user's words, naming the
// store file at `path`: disk full (kResourceExhausted), not a powerdialer
// store (kFailedPrecondition), read-only (kPermissionDenied), damaged
// (kDataLoss, with what to do), busy (kUnavailable); a constraint
// violation is kAlreadyExists (callers translate it). SQL text (`what`)
// appears only in errors that should not happen (kInternal).
// `db` may be null (then only `rc` is used).
absl::Status to_status(std::string_view path, sqlite3* db, int rc, std::string_view what);

class Db;

class Stmt {
 public:
  Stmt() = default;
  Stmt(const Db* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Binds are 1-based, as in SQL "?1".
  Stmt& bind(int index, int64_t value);
  Stmt& bind(int index, std::string_view value);
  Stmt& bind(int index, std::nullopt_t);
  Stmt& bind_opt(int index, const std::optional<int64_t>& value);
  Stmt& bind_text_or_null(int index, std::string_view value);  // empty -> NULL

  // Steps once: true when a row is ready, false when done.
  absl::StatusOr<bool> step();
  // Steps to completion, expecting no rows (INSERT/UPDATE/DELETE).
  absl::Status run();
  // Resets for reuse and clears the binds.
  void reset();

  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::optional<int64_t> opt_int64(int col) const;
  std::string_view text(int col) const;

 private:
  const Db* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Db {
 public:
  Db() = default;
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  absl::Status open(const std::string& path, bool create);
  absl::Status exec(std::string_view sql);
  // Runs a statement prepared once per connection (for the transaction
  // control statements every operation issues). `sql` must be a literal.
  absl::Status exec_cached(const char* sql);
  absl::StatusOr<Stmt> prepare(std::string_view sql);
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() const { return db_; }
  // The file as the user named it, for messages.
  const std::string& path() const { return path_; }
  // `rc` from this connection as a Status (see to_status).
  absl::Status status(int rc, std::string_view what) const {
    return to_status(path_, db_, rc, what);
  }
  // Set when an operation inside a batch failed after it had changed rows
  // (see Transaction): the batch cannot commit, only roll back.
  bool batch_broken() const { return batch_broken_; }
  void set_batch_broken(bool broken) { batch_broken_ = broken; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  bool batch_broken_ = false;
  std::unordered_map<const char*, Stmt> cached_;
};

// Rolls back unless committed. BEGIN IMMEDIATE takes the write lock at once,
// so two writers never deadlock upgrading a read lock.
//
// Inside an enclosing transaction (a batch) an operation's transaction
// (kShareBatch) opens nothing: one that fails before it changes a row (the
// usual case: not found, a lost lease, a rule that forbids the claim)
// leaves the batch as it was, and one that fails after it changed rows
// marks the batch broken, so the batch rolls back whole (Db::batch_broken;
// the executors then run its operations one transaction each). Not a
// savepoint per operation: a savepoint copies every page the operation
// touches into its journal first, which cost a sixth of a simulation's
// instructions (bench/README.md, "Dialing engine"). A writer its caller
// may drop half way (a list load) takes a savepoint (kSavepoint), so the
// batch commits without it.
class Transaction {
 public:
  enum class Nested { kShareBatch, kSavepoint };
  explicit Transaction(Db& db, Nested nested = Nested::kShareBatch)
      : db_(db), savepoint_(nested == Nested::kSavepoint) {}
  ~Transaction();
  absl::Status begin();
  absl::Status commit();

 private:
  Db& db_;
  const bool savepoint_;  // when nested
  bool open_ = false;
  bool nested_ = false;
  int64_t changes_at_begin_ = 0;  // nested, sharing the batch: rows changed before
};

}  // namespace pd::sqlite
