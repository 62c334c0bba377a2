// A thin RAII layer over libpq: a connection, parameterised statements
// (prepared once per connection), results with typed reads, transactions
// and COPY. Hand-written over libpq rather than libpqxx: Debian 12 ships
// libpqxx 6.4 (pre-C++20, exceptions for control flow), and the store
// reports every error as absl::Status with connection loss mapped to
// kUnavailable; no exception may cross the Store boundary.
// Thread-safety: one connection per thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// libpq's handles, declared as libpq-fe.h does, so that only pg_db.cc
// needs libpq's headers.
extern "C" {
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;
}

namespace pd::pg {

// One statement parameter, as text (libpq's text format); nullopt is NULL.
using Param = std::optional<std::string>;
Param p(int64_t v);
Param p(std::string_view v);
Param p(const char* v);
Param p(std::nullopt_t);
Param p_opt(const std::optional<int64_t>& v);
Param p_text_or_null(std::string_view v);  // empty -> NULL

// A statement's result. Rows and columns are 0-based.
class Result {
 public:
  Result() = default;
  explicit Result(PGresult* r);
  int rows() const;
  bool is_null(int row, int col) const;
  std::string_view text(int row, int col) const;
  std::string str(int row, int col) const { return std::string(text(row, col)); }
  int64_t int64(int row, int col) const;  // 0 for NULL
  std::optional<int64_t> opt_int64(int row, int col) const;
  double dbl(int row, int col) const;  // 0 for NULL
  // Rows changed by an INSERT/UPDATE/DELETE.
  int64_t affected() const;

 private:
  std::shared_ptr<PGresult> r_;
};

class Db {
 public:
  Db() = default;
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Connects to `url` (a libpq connection URI or key=value string). The
  // password never appears in messages: they name the URL with it masked.
  absl::Status open(const std::string& url);
  // Runs `sql` (may hold several statements, no parameters).
  absl::Status exec(std::string_view sql);
  // Runs one statement with parameters ($1, $2, ...). `sql` must be a
  // string literal: it is prepared once per connection, keyed by address.
  absl::StatusOr<Result> query(const char* sql, std::initializer_list<Param> params = {});
  absl::StatusOr<Result> query(const char* sql, const std::vector<Param>& params);
  // The same for SQL built at run time (not cached).
  absl::StatusOr<Result> query_dynamic(const std::string& sql, const std::vector<Param>& params);

  // COPY ... FROM STDIN (text format): begin, put rows, end.
  absl::Status copy_begin(const std::string& copy_sql);
  // One row; values are escaped here (NULL as \N).
  absl::Status copy_row(std::initializer_list<Param> values);
  absl::Status copy_row(const std::vector<Param>& values);
  // Rows its caller wrote in COPY's text format (append_copy_field), each
  // ending in '\n': a writer of millions of values skips a Param each.
  absl::Status copy_data(std::string_view rows);
  absl::Status copy_end();

  // True inside BEGIN ... COMMIT (libpq's transaction status).
  bool in_transaction() const;
  // The connection was lost (the next statement outside a transaction
  // reconnects first).
  bool broken() const;
  // After a connection loss: reconnects (prepared statements are prepared
  // again on next use). kUnavailable when the server still cannot be reached.
  absl::Status reconnect();
  PGconn* handle() const { return conn_; }
  // Transaction nesting (Transaction and the store's batches use these):
  // the outermost level is BEGIN/COMMIT/ROLLBACK, inner ones savepoints.
  // A connection lost inside a transaction stays failed (kUnavailable, and
  // nothing of the transaction was applied) until the outermost level is
  // rolled back; the next statement after that reconnects.
  absl::Status begin();
  absl::Status commit();
  void rollback();
  int depth() const { return depth_; }
  // The URL with its password masked, for messages.
  const std::string& display_url() const { return display_url_; }

 private:
  absl::Status result_status(PGresult* r, std::string_view what) const;
  // Runs `run` (a statement `sql`), and once more on a new connection when
  // the connection turned out lost and `sql` cannot have changed anything
  // (a read, or a transaction's BEGIN) outside a transaction: a server
  // restart then costs the caller nothing.
  template <typename Run>
  auto retrying_once(std::string_view sql, Run run) -> decltype(run());
  absl::Status exec_once(std::string_view sql);
  absl::StatusOr<Result> query_dynamic_once(const std::string& sql,
                                            const std::vector<Param>& params);
  // Before a statement: reconnects a lost connection unless a transaction
  // was open on it (that transaction is lost and reported failed).
  absl::Status ready();
  absl::StatusOr<Result> run_prepared(const char* key, const std::string& sql,
                                      const std::vector<Param>& params);
  PGconn* conn_ = nullptr;
  std::string url_;
  std::string display_url_;
  std::unordered_map<const char*, std::string> prepared_;  // sql literal -> statement name
  int next_statement_ = 0;
  std::string copy_buffer_;
  int depth_ = 0;
};

// Maps a failed result or connection to a Status a user can act on:
// connection refused/lost, server shutting down, serialization failure or
// deadlock (kUnavailable: retry), unique violation (kAlreadyExists: callers
// translate it), disk full (kResourceExhausted), permission denied
// (kPermissionDenied). SQL text appears only in errors that should not
// happen (kInternal).
absl::Status to_status(std::string_view display_url, PGconn* conn, PGresult* r,
                       std::string_view what);

// BEGIN ... COMMIT, rolled back unless committed. Inside an enclosing
// transaction (a batch) it becomes a SAVEPOINT, so one failed operation
// rolls back alone and the batch commits the rest together (as
// sqlite::Transaction does).
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  ~Transaction();
  absl::Status begin();
  absl::Status commit();

 private:
  Db& db_;
  bool open_ = false;
};

// Appends `v` to a row in COPY's text format: escaped, and after a tab
// unless it is the row's first field.
void append_copy_field(std::string& row, std::string_view v, bool first = false);
void append_copy_field(std::string& row, int64_t v, bool first = false);

// Masks the password of a postgresql:// URL or key=value string.
std::string mask_password(std::string_view url);

}  // namespace pd::pg
