#include "store/postgres/testing/pg_test_server.h"

#include "aws/testing/moto_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "core/strings.h"

extern char** environ;

namespace pd::postgres::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultBindir = "/usr/lib/postgresql/15/bin";
constexpr const char* kPackage = "postgresql-15";

using aws::testing::free_loopback_port;

// Who the server runs as: the `postgres` user when we are root (PostgreSQL
// refuses to run as root), else ourselves.
struct RunAs {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

absl::StatusOr<RunAs> run_as() {
  RunAs r;
  if (::geteuid() != 0) return r;
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) {
    return absl::UnavailableError(cat(
        "we run as root and PostgreSQL refuses root, but there is no `postgres` user to run it "
        "as (the Debian package ",
        kPackage, " creates it: scripts/install-deps)"));
  }
  r.switch_user = true;
  r.uid = pw->pw_uid;
  r.gid = pw->pw_gid;
  return r;
}

// The environment the server gets: ours without PG* variables (PGDATA,
// PGPORT... would steer it) and with the C locale, so the cluster does not
// depend on the caller's locale settings.
std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view v(*e);
    if (v.starts_with("PG") || v.starts_with("LC_") || v.starts_with("LANG=")) continue;
    env.emplace_back(v);
  }
  env.emplace_back("LC_ALL=C");
  return env;
}

// Starts `args` as a child in `cwd`, as the server's user, with stdout and
// stderr appended to `log_path`. The child gets SIGQUIT (PostgreSQL's
// "immediate shutdown") when the thread that started it dies, so a crashed
// test leaves no server behind.
//
// Hand-written fork/exec rather than `runuser -u postgres --` or
// posix_spawn: runuser would sit between us and the postmaster (we could not
// signal the server by its pid, and it drops the parent-death signal when it
// changes user), and posix_spawn can neither change user nor set that signal.
absl::StatusOr<pid_t> spawn(const RunAs& as, const std::vector<std::string>& args,
                            const std::string& cwd, const std::string& log_path) {
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::UnavailableError(cat("cannot open ", log_path, ": ", std::strerror(errno)));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Everything the child needs is built before fork(): after it, in a
  // threaded process, only async-signal-safe calls are allowed.
  std::vector<std::string> env_strings = child_environment();
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings = args;
  std::vector<char*> argv;
  for (std::string& a : arg_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return absl::UnavailableError(cat("fork failed: ", std::strerror(errno)));
  }
  if (pid == 0) {
    if (as.switch_user) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(as.gid) != 0 || ::setuid(as.uid) != 0) {
        ::_exit(126);
      }
    }
    // After the user change, which clears the parent-death signal.
    ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
    if (::getppid() != parent) ::_exit(125);  // the parent died before prctl
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    if (::chdir(cwd.c_str()) != 0) ::_exit(124);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  return pid;
}

// Waits up to `timeout` for `pid` to exit; true when it did (reaped).
bool wait_exit(pid_t pid, std::chrono::milliseconds timeout, int* wstatus) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const pid_t r = ::waitpid(pid, wstatus, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string tail_of(const std::string& path, size_t max_bytes = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > max_bytes) s = "..." + s.substr(s.size() - max_bytes);
  return s;
}

bool valid_db_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// Runs one statement on `conninfo` in a new connection; the SQLSTATE of a
// failure is in *sqlstate.
absl::Status exec_once(const std::string& conninfo, const std::string& sql,
                       std::string* sqlstate) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    return absl::UnavailableError(cat("cannot connect to ", conninfo, ": ", trim(why)));
  }
  PGresult* res = PQexec(conn, sql.c_str());
  absl::Status st;
  if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (sqlstate != nullptr && state != nullptr) *sqlstate = state;
    st = absl::InternalError(cat(sql, ": ", trim(PQresultErrorMessage(res))));
  }
  PQclear(res);
  PQfinish(conn);
  return st;
}

}  // namespace

PgTestServer::PgTestServer(std::string bindir, std::string dir, int port, int startup_timeout_ms)
    : bindir_(std::move(bindir)),
      dir_(std::move(dir)),
      port_(port),
      startup_timeout_ms_(startup_timeout_ms) {}

std::string PgTestServer::log_path() const { return dir_ + "/postgres.log"; }

std::string PgTestServer::url_for(std::string_view db) const {
  return cat("postgresql://postgres@127.0.0.1:", port_, "/", db);
}

absl::StatusOr<std::unique_ptr<PgTestServer>> PgTestServer::start(int startup_timeout_ms) {
  const char* env_bindir = std::getenv("POWERDIALER_PG_BINDIR");
  const std::string bindir = env_bindir != nullptr && *env_bindir ? env_bindir : kDefaultBindir;
  for (const char* tool : {"initdb", "postgres"}) {
    const std::string path = cat(bindir, "/", tool);
    if (::access(path.c_str(), X_OK) != 0) {
      return absl::UnavailableError(
          cat("the PostgreSQL 15 server program ", path,
              " is missing; install the Debian package ", kPackage,
              " (scripts/install-deps does) or point POWERDIALER_PG_BINDIR at its bin folder"));
    }
  }
  auto as = run_as();
  if (!as.ok()) return as.status();
  auto port = free_loopback_port();
  if (!port.ok()) return port.status();

  std::string tmpl = (fs::temp_directory_path() / "pd-pg-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return absl::UnavailableError(cat("cannot create a temporary folder ", tmpl, ": ",
                                      std::strerror(errno)));
  }
  // From here on the destructor removes the folder.
  std::unique_ptr<PgTestServer> server(
      new PgTestServer(bindir, tmpl, *port, startup_timeout_ms));
  if (as->switch_user && ::chown(tmpl.c_str(), as->uid, as->gid) != 0) {
    return absl::UnavailableError(
        cat("cannot give ", tmpl, " to the postgres user: ", std::strerror(errno)));
  }
  // Trust on loopback and the local socket only (initdb's -A writes both);
  // --no-sync: the cluster is thrown away, so do not wait for the disk.
  auto initdb = spawn(*as,
                      {bindir + "/initdb", "-D", tmpl + "/data", "-U", "postgres", "-A", "trust",
                       "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                      tmpl, server->log_path());
  if (!initdb.ok()) return initdb.status();
  int wstatus = 0;
  if (!wait_exit(*initdb, std::chrono::milliseconds(startup_timeout_ms), &wstatus)) {
    ::kill(*initdb, SIGKILL);
    ::waitpid(*initdb, nullptr, 0);
    return absl::UnavailableError(cat("initdb did not finish within ", startup_timeout_ms,
                                      " ms; see ", server->log_path()));
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return absl::UnavailableError(cat("initdb into ", tmpl, "/data failed (status ", wstatus,
                                      "): ", tail_of(server->log_path())));
  }
  absl::Status st = server->launch();
  if (!st.ok()) return st;
  return server;
}

absl::Status PgTestServer::launch() {
  const std::vector<std::string> args = {
      bindir_ + "/postgres",
      "-D", dir_ + "/data",
      "-p", std::to_string(port_),
      "-c", "listen_addresses=127.0.0.1",
      "-c", "unix_socket_directories=" + dir_,
      // Speed over durability against an OS crash: the data is thrown away
      // after the tests. synchronous_commit stays on: with fsync off a commit
      // costs one write(), and off would let stop(immediate) lose commits the
      // server had acknowledged, which failover tests must not see.
      "-c", "fsync=off",
      "-c", "full_page_writes=off",
      "-c", "max_connections=200",
      "-c", "logging_collector=off",
  };
  auto as = run_as();
  if (!as.ok()) return as.status();
  auto pid = spawn(*as, args, dir_, log_path());
  if (!pid.ok()) return pid.status();
  pid_ = *pid;

  // Wait until it accepts connections. The postmaster has no readiness
  // signal a non-systemd parent can wait on, so poll with libpq's ping
  // (what pg_isready does).
  const std::string conninfo =
      cat("host=127.0.0.1 port=", port_, " dbname=postgres user=postgres connect_timeout=2");
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(startup_timeout_ms_);
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(cat("postgres exited at startup on port ", port_, ": ",
                                        tail_of(log_path())));
    }
    if (PQping(conninfo.c_str()) == PQPING_OK) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  (void)stop(/*immediate=*/true);  // already failing; the timeout is the error
  return absl::UnavailableError(cat("postgres did not accept connections on port ", port_,
                                    " within ", startup_timeout_ms_, " ms; see ", log_path()));
}

absl::Status PgTestServer::stop(bool immediate) {
  if (pid_ <= 0) return absl::OkStatus();
  // SIGQUIT: immediate shutdown (like a crash; recovery at next start).
  // SIGINT: fast shutdown (roll back, cut clients off, checkpoint).
  ::kill(pid_, immediate ? SIGQUIT : SIGINT);
  int wstatus = 0;
  if (!wait_exit(pid_, std::chrono::seconds(30), &wstatus)) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return absl::DeadlineExceededError(
        cat("postgres on port ", port_, " did not stop within 30 s; killed"));
  }
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status PgTestServer::restart() {
  absl::Status st = stop(/*immediate=*/false);
  if (!st.ok()) return st;
  return launch();
}

absl::StatusOr<std::string> PgTestServer::create_database(std::string_view name) {
  if (!valid_db_name(name)) {
    return absl::InvalidArgumentError(
        cat("database name '", name, "': use 1 to 63 letters, digits or '_'"));
  }
  if (!running()) return absl::FailedPreconditionError("the test server is stopped");
  std::string sqlstate;
  // The name is checked above, so quoting it is enough.
  absl::Status st = exec_once(url(), cat("CREATE DATABASE \"", name, "\""), &sqlstate);
  if (!st.ok()) {
    if (sqlstate == "42P04") return absl::AlreadyExistsError(cat("database ", name, " exists"));
    return st;
  }
  return url_for(name);
}

absl::StatusOr<std::string> PgTestServer::create_unique_database(std::string_view prefix) {
  static std::atomic<int> counter{0};
  return create_database(cat(prefix, "_", ++counter));
}

PgTestServer::~PgTestServer() {
  (void)stop(/*immediate=*/true);  // nothing to keep: the folder goes next
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

PgTestServer* shared_pg_server(std::string* error) {
  static std::once_flag once;
  static std::unique_ptr<PgTestServer> server;
  static std::string start_error;
  std::call_once(once, [] {
    auto s = PgTestServer::start();
    if (s.ok()) {
      server = std::move(*s);
    } else {
      start_error = std::string(sv(s.status().message()));
    }
  });
  if (server == nullptr && error != nullptr) *error = start_error;
  return server.get();
}

PgTestServer* PgSuite::server_ = nullptr;

void PgSuite::SetUp() {
  std::string error;
  server_ = shared_pg_server(&error);
  ASSERT_NE(server_, nullptr) << "PostgreSQL test server did not start: " << error;
  auto url = server_->create_unique_database();
  ASSERT_TRUE(url.ok()) << url.status();
  db_url_ = *url;
}

}  // namespace pd::postgres::testing
