// Test-only: a throw-away PostgreSQL 15 server on a free loopback port,
// started as a child process from a fresh initdb in a temporary folder and
// removed at teardown. Tests share one server (per suite or per process) and
// take one database each (create_database), so none sees another's rows.
//
// The server runs as the `postgres` user when we are root (PostgreSQL
// refuses root; CI runs as root), with trust authentication on loopback and
// durability against an OS crash off (fsync, full_page_writes) for speed; a
// crash of the server alone (stop(immediate)) loses no acknowledged commit.
// It dies with the test process (PR_SET_PDEATHSIG), so a crashed test run
// leaves no server behind.
//
// Thread-safety: start() once; then url(), create_database() from any
// thread; stop()/restart() from one thread while nothing else calls them.
// REQUIRES: start() and restart() run on a thread that outlives the server
// (the test's main thread): the kernel's parent-death signal follows the
// thread that started the child, not the process.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pd::postgres::testing {

class PgTestServer {
 public:
  // kUnavailable when the PostgreSQL 15 binaries are missing (they are looked
  // up in $POWERDIALER_PG_BINDIR, else /usr/lib/postgresql/15/bin: Debian's
  // package postgresql-15), initdb fails, or the server does not accept
  // connections within `startup_timeout_ms`. The message names the log.
  static absl::StatusOr<std::unique_ptr<PgTestServer>> start(int startup_timeout_ms = 60000);
  ~PgTestServer();  // stops the server at once (immediate) and removes the folder
  PgTestServer(const PgTestServer&) = delete;
  PgTestServer& operator=(const PgTestServer&) = delete;

  int port() const { return port_; }
  // "postgresql://postgres@127.0.0.1:PORT/postgres"
  std::string url() const { return url_for("postgres"); }
  // The URL of database `db` on this server.
  std::string url_for(std::string_view db) const;
  // Creates database `name` (letters, digits, '_'; at most 63 characters)
  // and returns its URL. kAlreadyExists when it exists.
  absl::StatusOr<std::string> create_database(std::string_view name);
  // A fresh database with a name unique in this server's life (`prefix`
  // plus a counter), for one test. Returns its URL.
  absl::StatusOr<std::string> create_unique_database(std::string_view prefix = "t");

  // Stops the server: `immediate` kills it as a crash would (no checkpoint,
  // clients cut off: SIGQUIT); otherwise a fast shutdown (clients cut off,
  // then a clean checkpoint: SIGINT). A no-op when it is not running.
  absl::Status stop(bool immediate);
  // Stops it (fast) when running, then starts it again on the same port and
  // data, and waits until it accepts connections. Clients see their
  // connections drop, as at a failover.
  absl::Status restart();
  bool running() const { return pid_ > 0; }

  const std::string& dir() const { return dir_; }
  std::string log_path() const;

 private:
  PgTestServer(std::string bindir, std::string dir, int port, int startup_timeout_ms);
  absl::Status launch();  // starts `postgres` and waits until it answers
  std::string bindir_;
  std::string dir_;  // temp folder: data/, the unix socket, postgres.log
  int port_;
  int startup_timeout_ms_;
  pid_t pid_ = -1;  // the postmaster, our child
};

// One server for the whole test process, started on first use and stopped
// at exit. Returns nullptr (and sets *error) when it cannot start; the same
// error on every later call, so a run does not retry a slow failing start.
PgTestServer* shared_pg_server(std::string* error);

// A fixture base for tests against PostgreSQL: each test gets a fresh
// database (db_url()) on the process's shared server. A test fails (it does
// not skip) when the server could not start, so a machine without
// PostgreSQL cannot pass these tests by not running them.
class PgSuite : public ::testing::Test {
 protected:
  // REQUIRES: derived SetUp() calls this first.
  void SetUp() override;
  static PgTestServer& pg() { return *server_; }
  const std::string& db_url() const { return db_url_; }

 private:
  static PgTestServer* server_;
  std::string db_url_;
};

}  // namespace pd::postgres::testing
