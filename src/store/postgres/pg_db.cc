#include "store/postgres/pg_db.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>
#include <utility>

#include "core/strings.h"

namespace pd::pg {
namespace {

// The server's SQLSTATE for a failed result ("" when it gave none, as when
// the connection dropped).
std::string_view sqlstate(const PGresult* r) {
  const char* s = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return s != nullptr ? std::string_view(s) : std::string_view();
}

std::string trimmed(const char* text) {
  std::string s = text != nullptr ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Param p(int64_t v) { return std::to_string(v); }
Param p(std::string_view v) { return std::string(v); }
Param p(const char* v) { return std::string(v); }
Param p(std::nullopt_t) { return std::nullopt; }
Param p_opt(const std::optional<int64_t>& v) {
  return v ? Param(std::to_string(*v)) : Param(std::nullopt);
}
Param p_text_or_null(std::string_view v) {
  return v.empty() ? Param(std::nullopt) : Param(std::string(v));
}

std::string mask_password(std::string_view url) {
  std::string out(url);
  // URI form: scheme://user:password@host...
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t at = out.find('@', start);
    const size_t slash = out.find('/', start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // key=value form and URI query parameters: password=...
  for (size_t pos = out.find("password="); pos != std::string::npos;
       pos = out.find("password=", pos + 1)) {
    const size_t value = pos + 9;
    size_t end = out.find_first_of(" &", value);
    if (end == std::string::npos) end = out.size();
    out.replace(value, end - value, "***");
  }
  return out;
}

absl::Status to_status(std::string_view display_url, PGconn* conn, PGresult* r,
                       std::string_view what) {
  const std::string_view state = sqlstate(r);
  std::string detail = trimmed(r != nullptr ? PQresultErrorMessage(r) : nullptr);
  if (detail.empty() && conn != nullptr) detail = trimmed(PQerrorMessage(conn));
  const bool lost = conn == nullptr || PQstatus(conn) == CONNECTION_BAD;
  if (lost || state.substr(0, 2) == "08") {
    return absl::UnavailableError(cat("the PostgreSQL store ", display_url, " cannot be reached (",
                                      detail, "); nothing was changed: try again"));
  }
  if (state == "40001" || state == "40P01") {
    return absl::UnavailableError(
        cat("the PostgreSQL store ", display_url, " is busy (", detail, "); try again"));
  }
  if (state == "57P01" || state == "57P02" || state == "57P03") {
    return absl::UnavailableError(cat("the PostgreSQL server ", display_url,
                                      " is shutting down or starting (", detail,
                                      "); try again in a moment"));
  }
  if (state == "23505") return absl::AlreadyExistsError(cat(display_url, ": ", detail));
  if (state == "53100") {
    return absl::ResourceExhaustedError(
        cat("the PostgreSQL server ", display_url,
            " has a full disk; free some space on it and try again (", detail, ")"));
  }
  if (state == "42501" || state.substr(0, 2) == "28") {
    return absl::PermissionDeniedError(
        cat("the PostgreSQL store ", display_url, " refused access: ", detail));
  }
  if (state == "55P03" || state == "53300" || state == "57014") {
    // lock_not_available, too_many_connections, query_canceled (timeouts).
    return absl::UnavailableError(
        cat("the PostgreSQL store ", display_url, " is busy (", detail, "); try again"));
  }
  return absl::InternalError(
      cat(display_url, ": unexpected store error: ", detail, " (in \"", what.substr(0, 80), "\")"));
}

Result::Result(PGresult* r) : r_(r, &PQclear) {}
int Result::rows() const { return r_ ? PQntuples(r_.get()) : 0; }
bool Result::is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }

bool Db::broken() const { return conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD; }

std::string_view Result::text(int row, int col) const {
  const char* v = PQgetvalue(r_.get(), row, col);
  return std::string_view(v, static_cast<size_t>(PQgetlength(r_.get(), row, col)));
}

int64_t Result::int64(int row, int col) const {
  if (is_null(row, col)) return 0;
  const std::string_view t = text(row, col);
  int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

std::optional<int64_t> Result::opt_int64(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return int64(row, col);
}

double Result::dbl(int row, int col) const {
  if (is_null(row, col)) return 0;
  return std::strtod(PQgetvalue(r_.get(), row, col), nullptr);
}

int64_t Result::affected() const {
  const char* n = r_ ? PQcmdTuples(r_.get()) : "";
  return n != nullptr && *n != '\0' ? std::strtoll(n, nullptr, 10) : 0;
}

Db::~Db() {
  if (conn_ != nullptr) PQfinish(conn_);
}

absl::Status Db::open(const std::string& url) {
  url_ = url;
  display_url_ = mask_password(url);
  return reconnect();
}

absl::Status Db::reconnect() {
  if (conn_ != nullptr) PQfinish(conn_);
  prepared_.clear();
  depth_ = 0;
  conn_ = PQconnectdb(url_.c_str());
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    const std::string why = conn_ != nullptr ? trimmed(PQerrorMessage(conn_)) : "out of memory";
    // libpq's message may quote the connection string; never the password.
    return absl::UnavailableError(
        cat("cannot connect to the PostgreSQL store ", display_url_, ": ", mask_password(why)));
  }
  // Messages in English and times as numbers: the store parses nothing
  // locale-dependent. Warnings (notices) stay off stderr. No JIT: the
  // store's statements are short, and on a list nobody has ANALYZEd yet
  // the planner's estimates pass jit_above_cost, so compiling took 17 ms
  // of a 20 ms claim (bench/README.md, Stores). Generic plans: a
  // prepared statement is planned once per connection, not at every run.
  // PostgreSQL's default plans a statement anew each time while a plan
  // made for its values looks cheaper than one for any values, which for
  // the claim (next_at <= $2 ... LIMIT) is always; with customers and
  // phones partitioned that planning cost more than the statements, and
  // claim+finish ran at a third of the rate. Partitions are still chosen
  // per run (run-time pruning), so a generic plan reads one campaign's.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  PGresult* r = PQexec(conn_,
                       "SET client_min_messages = warning; SET TIME ZONE 'UTC'; SET jit = off; "
                       "SET plan_cache_mode = force_generic_plan");
  absl::Status s = result_status(r, "session settings");
  PQclear(r);
  return s;
}

absl::Status Db::ready() {
  if (!broken()) return absl::OkStatus();
  if (depth_ > 0) {
    // The server rolled the transaction back when the connection dropped;
    // every statement of it fails until the caller gives it up.
    return absl::UnavailableError(cat("the connection to the PostgreSQL store ", display_url_,
                                      " was lost; the transaction in progress was rolled "
                                      "back: try again"));
  }
  return reconnect();
}

absl::Status Db::result_status(PGresult* r, std::string_view what) const {
  const ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN ||
      st == PGRES_SINGLE_TUPLE) {
    return absl::OkStatus();
  }
  return to_status(display_url_, conn_, r, what);
}

bool Db::in_transaction() const {
  return conn_ != nullptr && PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

namespace {

// A statement that changes nothing, or a transaction's BEGIN: when the
// connection turns out lost (the server restarted since the last
// statement: libpq finds out only by trying), running it again on a new
// connection cannot apply anything twice. A write outside a transaction
// is not retried: whether it committed before the loss is unknown.
bool safe_to_retry(std::string_view sql) {
  sql = trim(sql);
  return to_upper(sql.substr(0, 6)) == "SELECT" || sql == "BEGIN";
}

}  // namespace

template <typename Run>
auto Db::retrying_once(std::string_view sql, Run run) -> decltype(run()) {
  auto first = run();
  if (first.ok() || depth_ > 0 || !broken() || !safe_to_retry(sql)) return first;
  if (absl::Status s = reconnect(); !s.ok()) return first;
  return run();
}

absl::Status Db::exec(std::string_view sql) {
  return retrying_once(sql, [&] { return exec_once(sql); });
}

absl::Status Db::exec_once(std::string_view sql) {
  if (absl::Status s = ready(); !s.ok()) return s;
  const std::string text(sql);
  PGresult* r = PQexec(conn_, text.c_str());
  absl::Status s = result_status(r, sql);
  PQclear(r);
  return s;
}

absl::StatusOr<Result> Db::query(const char* sql, std::initializer_list<Param> params) {
  const std::vector<Param> values(params);
  return retrying_once(sql, [&] { return run_prepared(sql, sql, values); });
}

absl::StatusOr<Result> Db::query(const char* sql, const std::vector<Param>& params) {
  return retrying_once(sql, [&] { return run_prepared(sql, sql, params); });
}

absl::StatusOr<Result> Db::query_dynamic(const std::string& sql, const std::vector<Param>& params) {
  return retrying_once(sql, [&] { return query_dynamic_once(sql, params); });
}

absl::StatusOr<Result> Db::query_dynamic_once(const std::string& sql,
                                              const std::vector<Param>& params) {
  if (absl::Status s = ready(); !s.ok()) return s;
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& v : params) values.push_back(v ? v->c_str() : nullptr);
  PGresult* r = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  absl::Status s = result_status(r, sql);
  if (!s.ok()) {
    PQclear(r);
    return s;
  }
  return Result(r);
}

absl::StatusOr<Result> Db::run_prepared(const char* key, const std::string& sql,
                                        const std::vector<Param>& params) {
  if (absl::Status s = ready(); !s.ok()) return s;
  auto it = prepared_.find(key);
  if (it == prepared_.end()) {
    std::string name = cat("pd", next_statement_++);
    PGresult* r = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
    absl::Status s = result_status(r, sql);
    PQclear(r);
    if (!s.ok()) return s;
    it = prepared_.emplace(key, std::move(name)).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& v : params) values.push_back(v ? v->c_str() : nullptr);
  PGresult* r = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()),
                               values.data(), nullptr, nullptr, 0);
  absl::Status s = result_status(r, sql);
  if (!s.ok()) {
    PQclear(r);
    return s;
  }
  return Result(r);
}

absl::Status Db::copy_begin(const std::string& copy_sql) {
  if (absl::Status s = ready(); !s.ok()) return s;
  PGresult* r = PQexec(conn_, copy_sql.c_str());
  const bool copying = r != nullptr && PQresultStatus(r) == PGRES_COPY_IN;
  absl::Status s = copying ? absl::OkStatus() : result_status(r, copy_sql);
  if (s.ok() && !copying) s = absl::InternalError(cat("'", copy_sql, "' did not start a COPY"));
  PQclear(r);
  copy_buffer_.clear();
  return s;
}

namespace {
// COPY's text format: backslash, tab, newline and carriage return escaped.
void append_escaped(std::string& out, std::string_view v) {
  for (const char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
}
void append_copy_value(std::string& out, const Param& v) {
  if (!v) {
    out += "\\N";
    return;
  }
  append_escaped(out, *v);
}
constexpr size_t kCopyFlushBytes = 256 * 1024;
}  // namespace

absl::Status Db::copy_row(std::initializer_list<Param> values) {
  return copy_row(std::vector<Param>(values));
}

absl::Status Db::copy_row(const std::vector<Param>& values) {
  bool first = true;
  for (const Param& v : values) {
    if (!first) copy_buffer_ += '\t';
    first = false;
    append_copy_value(copy_buffer_, v);
  }
  copy_buffer_ += '\n';
  if (copy_buffer_.size() < kCopyFlushBytes) return absl::OkStatus();
  const int rc = PQputCopyData(conn_, copy_buffer_.data(), static_cast<int>(copy_buffer_.size()));
  copy_buffer_.clear();
  if (rc != 1) return to_status(display_url_, conn_, nullptr, "COPY data");
  return absl::OkStatus();
}

void append_copy_field(std::string& row, std::string_view v, bool first) {
  if (!first) row += '\t';
  append_escaped(row, v);
}

void append_copy_field(std::string& row, int64_t v, bool first) {
  if (!first) row += '\t';
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
  row.append(digits, end);
}

absl::Status Db::copy_data(std::string_view rows) {
  copy_buffer_ += rows;
  if (copy_buffer_.size() < kCopyFlushBytes) return absl::OkStatus();
  const int rc = PQputCopyData(conn_, copy_buffer_.data(), static_cast<int>(copy_buffer_.size()));
  copy_buffer_.clear();
  if (rc != 1) return to_status(display_url_, conn_, nullptr, "COPY data");
  return absl::OkStatus();
}

absl::Status Db::copy_end() {
  if (!copy_buffer_.empty()) {
    const int rc = PQputCopyData(conn_, copy_buffer_.data(), static_cast<int>(copy_buffer_.size()));
    copy_buffer_.clear();
    if (rc != 1) return to_status(display_url_, conn_, nullptr, "COPY data");
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) {
    return to_status(display_url_, conn_, nullptr, "COPY end");
  }
  absl::Status s = absl::OkStatus();
  while (PGresult* r = PQgetResult(conn_)) {
    if (s.ok()) s = result_status(r, "COPY");
    PQclear(r);
  }
  return s;
}

absl::Status Db::begin() {
  absl::Status s = depth_ == 0 ? exec("BEGIN") : exec(cat("SAVEPOINT pd_", depth_));
  if (!s.ok()) return s;
  ++depth_;
  return absl::OkStatus();
}

absl::Status Db::commit() {
  if (depth_ <= 0) return absl::InternalError("COMMIT outside a transaction");
  if (depth_ == 1) {
    absl::Status s = ready();
    if (s.ok()) {
      PGresult* r = PQexec(conn_, "COMMIT");
      s = result_status(r, "COMMIT");
      // A COMMIT of a transaction that failed earlier answers ROLLBACK.
      if (s.ok() && std::string_view(PQcmdStatus(r)) == "ROLLBACK") {
        s = absl::AbortedError(cat("the PostgreSQL store ", display_url_,
                                   " rolled the transaction back; nothing was changed"));
      }
      PQclear(r);
    }
    if (!s.ok()) {
      // A failed COMMIT leaves nothing applied (or the server's fate of it
      // unknown when the connection dropped: reported failed either way).
      --depth_;
      if (!broken()) exec("ROLLBACK").IgnoreError();
      return s;
    }
    --depth_;
    return absl::OkStatus();
  }
  absl::Status s = exec(cat("RELEASE SAVEPOINT pd_", depth_ - 1));
  if (!s.ok()) return s;  // still open: the caller rolls back
  --depth_;
  return absl::OkStatus();
}

void Db::rollback() {
  if (depth_ <= 0) return;
  --depth_;
  if (broken()) return;
  if (depth_ == 0) {
    PGresult* r = PQexec(conn_, "ROLLBACK");
    PQclear(r);
  } else {
    const std::string sql =
        cat("ROLLBACK TO SAVEPOINT pd_", depth_, "; RELEASE SAVEPOINT pd_", depth_);
    PGresult* r = PQexec(conn_, sql.c_str());
    PQclear(r);
  }
}

Transaction::~Transaction() {
  if (open_) db_.rollback();
}

absl::Status Transaction::begin() {
  absl::Status s = db_.begin();
  open_ = s.ok();
  return s;
}

absl::Status Transaction::commit() {
  if (!open_) return absl::InternalError("commit of a transaction that is not open");
  absl::Status s = db_.commit();
  // On a failed COMMIT at the outermost level Db has already ended it; a
  // failed RELEASE leaves the savepoint for the destructor to roll back.
  if (s.ok() || db_.depth() == 0) open_ = false;
  return s;
}

}  // namespace pd::pg
