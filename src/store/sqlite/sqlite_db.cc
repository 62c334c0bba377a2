#include "store/sqlite/sqlite_db.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/strings.h"

namespace pd::sqlite {

absl::Status to_status(std::string_view path, sqlite3* db, int rc, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return absl::OkStatus();
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  // The OS's reason, when SQLite had one: a full disk or a read-only file
  // system can surface as an I/O or open error. SQLite keeps it from the
  // last failed system call, so it only counts for codes that come from one.
  const int primary = rc & 0xff;
  const bool from_os = primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN ||
                       primary == SQLITE_FULL || primary == SQLITE_READONLY;
  const int os_error = db != nullptr && from_os ? sqlite3_system_errno(db) : 0;
  const std::string_view file = path.empty() ? std::string_view("the store") : path;
  if (primary == SQLITE_FULL || os_error == ENOSPC || os_error == EDQUOT) {
    return absl::ResourceExhaustedError(
        cat(file,
            ": the disk is full (or the store reached its size limit); free some space "
            "and try again"));
  }
  if (primary == SQLITE_READONLY || primary == SQLITE_PERM || os_error == EROFS ||
      (primary == SQLITE_CANTOPEN && (os_error == EACCES || os_error == EPERM))) {
    return absl::PermissionDeniedError(
        cat(file,
            " is read-only here: powerdialer must be able to write the store file and "
            "its folder (for the -wal and -shm files beside it)"));
  }
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(
          cat(file, " is busy: another process holds it; try again in a moment"));
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(cat(file, ": ", detail));
    case SQLITE_NOTADB:
      return absl::FailedPreconditionError(
          cat(file,
              " is not a powerdialer store (it is not an SQLite database); check the "
              "--db path"));
    case SQLITE_CORRUPT:
      return absl::DataLossError(
          cat(file, " is damaged (", detail, "); restore it from a backup, try 'sqlite3 ", file,
              " .recover', or start a new store with 'powerdialer --db NEW_FILE init'"));
    case SQLITE_CANTOPEN:
      return absl::FailedPreconditionError(
          cat("cannot open the store ", file, ": ",
              os_error != 0 ? std::string(std::strerror(os_error)) : detail));
    case SQLITE_IOERR:
      // Not kUnavailable: a failing disk does not heal by retrying, and the
      // dialer would retry forever.
      return absl::InternalError(
          cat(file, ": the disk reported an error (", detail,
              os_error != 0 ? cat(": ", std::strerror(os_error)) : std::string(),
              "); nothing was changed: check the disk and try again"));
    default:
      // Cannot happen with a sound store and this build's SQL: the
      // statement is what a developer needs to find it.
      return absl::InternalError(
          cat(file, ": unexpected store error: ", detail, " (in \"", what.substr(0, 80), "\")"));
  }
}

Stmt::Stmt(Stmt&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Stmt& Stmt::bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind(int index, std::nullopt_t) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Stmt& Stmt::bind_opt(int index, const std::optional<int64_t>& value) {
  return value ? bind(index, *value) : bind(index, std::nullopt);
}

Stmt& Stmt::bind_text_or_null(int index, std::string_view value) {
  return value.empty() ? bind(index, std::nullopt) : bind(index, value);
}

absl::StatusOr<bool> Stmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  absl::Status status = db_->status(rc, sqlite3_sql(stmt_));
  sqlite3_reset(stmt_);
  return status;
}

absl::Status Stmt::run() {
  absl::StatusOr<bool> row = step();
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  return row.status();
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::optional<int64_t> Stmt::opt_int64(int col) const {
  if (is_null(col)) return std::nullopt;
  return int64(col);
}

std::string_view Stmt::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
}

Db::~Db() {
  cached_.clear();  // finalize before closing
  sqlite3_close_v2(db_);
}

absl::Status Db::exec_cached(const char* sql) {
  auto it = cached_.find(sql);
  if (it == cached_.end()) {
    auto stmt = prepare(sql);
    if (!stmt.ok()) return stmt.status();
    it = cached_.emplace(sql, std::move(*stmt)).first;
  }
  return it->second.run();
}

namespace {

// Process-wide settings, made before SQLite's first use: every connection
// is used by one thread (Store's contract), so the global locks and the
// memory statistics that need them are overhead on the dialing path.
void configure_sqlite_once() {
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
}

}  // namespace

absl::Status Db::open(const std::string& path, bool create) {
  configure_sqlite_once();
  path_ = path;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (create) flags |= SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = to_status(path, db_, rc, "open");
    sqlite3_close_v2(db_);
    db_ = nullptr;
    return status;
  }
  sqlite3_extended_result_codes(db_, 1);
  return absl::OkStatus();
}

absl::Status Db::exec(std::string_view sql) {
  const std::string text(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  return status(rc, text);
}

absl::StatusOr<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return status(rc, sql);
  return Stmt(this, stmt);
}

Transaction::~Transaction() {
  if (!open_) return;
  if (!nested_) {
    db_.exec_cached("ROLLBACK").IgnoreError();
  } else if (savepoint_) {
    db_.exec_cached("ROLLBACK TO pd_op").IgnoreError();
    db_.exec_cached("RELEASE pd_op").IgnoreError();
  } else if (sqlite3_total_changes64(db_.handle()) != changes_at_begin_) {
    db_.set_batch_broken(true);
  }
}

absl::Status Transaction::begin() {
  nested_ = sqlite3_get_autocommit(db_.handle()) == 0;
  if (nested_ && !savepoint_) {
    changes_at_begin_ = sqlite3_total_changes64(db_.handle());
    open_ = true;
    return absl::OkStatus();
  }
  absl::Status status = db_.exec_cached(nested_ ? "SAVEPOINT pd_op" : "BEGIN IMMEDIATE");
  open_ = status.ok();
  return status;
}

absl::Status Transaction::commit() {
  absl::Status status = absl::OkStatus();
  if (!nested_) {
    status = db_.exec_cached("COMMIT");
  } else if (savepoint_) {
    status = db_.exec_cached("RELEASE pd_op");
  }
  if (status.ok()) open_ = false;
  return status;
}

}  // namespace pd::sqlite
