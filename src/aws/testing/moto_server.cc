#include "aws/testing/moto_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "aws/http.h"
#include "core/strings.h"

extern char** environ;

namespace pd::aws::testing {
namespace {

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "";
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    const std::string candidate = cat(dir.empty() ? "." : dir, "/", name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

void stop_child(pid_t pid) {
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace

// A port the kernel considers free right now. A test server binds it a moment
// later; another process taking it in between makes its start fail.
absl::StatusOr<int> free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::UnavailableError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return absl::UnavailableError("cannot find a free loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

absl::StatusOr<std::unique_ptr<MotoServer>> MotoServer::start(int startup_timeout_ms) {
  const std::string exe = find_on_path("moto_server");
  if (exe.empty()) return absl::UnavailableError("moto_server is not on PATH");
  auto port = free_loopback_port();
  if (!port.ok()) return port.status();
  const std::string log_path =
      (std::filesystem::temp_directory_path() / cat("moto-", *port, ".log")).string();

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  const std::string port_text = std::to_string(*port);
  std::vector<std::string> args = {exe, "-H", "127.0.0.1", "-p", port_text};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return absl::UnavailableError(cat("cannot start ", exe, ": error ", rc));

  std::unique_ptr<MotoServer> server(new MotoServer(pid, *port, log_path));
  // Wait until it answers HTTP. moto_server has no readiness signal to wait
  // on, so this polls, as its own docs suggest.
  HttpClient http(HttpOptions{std::chrono::milliseconds(500), std::chrono::milliseconds(2000)});
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(startup_timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (::waitpid(pid, &wstatus, WNOHANG) == pid) {
      server->pid_ = -1;
      return absl::UnavailableError(cat("moto_server exited at startup; see ", log_path));
    }
    auto r = http.send(HttpRequest{"GET", cat(server->endpoint(), "/moto-api/data.json"), {}, {}});
    if (r.ok()) return server;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::UnavailableError(
      cat("moto_server did not answer on port ", *port, " within ", startup_timeout_ms,
          " ms; see ", log_path));
}

MotoServer::~MotoServer() {
  if (pid_ > 0) stop_child(pid_);
}

std::string MotoServer::endpoint() const { return cat("http://127.0.0.1:", port_); }

std::shared_ptr<CredentialsProvider> MotoServer::credentials() {
  Credentials c;
  c.access_key_id = "test";
  c.secret_access_key = "test";
  c.source = "test";
  return std::make_shared<StaticCredentialsProvider>(std::move(c));
}

MotoServer* MotoSuite::server_ = nullptr;
std::string* MotoSuite::error_ = nullptr;

void MotoSuite::SetUpTestSuite() {
  auto server = MotoServer::start();
  if (!server.ok()) {
    error_ = new std::string(sv(server.status().message()));
    return;
  }
  server_ = server->release();
}

void MotoSuite::TearDownTestSuite() {
  delete server_;
  server_ = nullptr;
  delete error_;
  error_ = nullptr;
}

void MotoSuite::SetUp() {
  ASSERT_NE(server_, nullptr) << "moto_server did not start: " << (error_ ? *error_ : "");
}

}  // namespace pd::aws::testing
