// Test-only: a real moto_server (moto's stand-alone AWS emulator) on a free
// loopback port, started as a child process and killed at teardown. Tests
// share one per suite (SetUpTestSuite) and use unique bucket and stream
// names, as moto keeps state for its lifetime.
// Thread-safety: start once, then endpoint() from any thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "absl/status/statusor.h"
#include "aws/credentials.h"

namespace pd::aws::testing {

// A loopback TCP port free right now, for a test server to bind (moto_server
// here, PostgreSQL in store/postgres/testing).
absl::StatusOr<int> free_loopback_port();

class MotoServer {
 public:
  // kUnavailable when moto_server is not on PATH or does not answer within
  // `startup_timeout_ms`.
  static absl::StatusOr<std::unique_ptr<MotoServer>> start(int startup_timeout_ms = 30000);
  ~MotoServer();  // SIGTERM, then SIGKILL if it lingers; reaps the child
  MotoServer(const MotoServer&) = delete;
  MotoServer& operator=(const MotoServer&) = delete;

  int port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  const std::string& log_path() const { return log_path_; }

  // What the tests sign with: "test"/"test", region us-east-1.
  static std::shared_ptr<CredentialsProvider> credentials();
  static constexpr const char* kRegion = "us-east-1";

 private:
  MotoServer(pid_t pid, int port, std::string log_path)
      : pid_(pid), port_(port), log_path_(std::move(log_path)) {}
  pid_t pid_;
  int port_;
  std::string log_path_;
};

// A fixture base for tests against moto: one server per test suite. A test
// fails (it does not skip) when the server could not start, so a machine
// without moto cannot pass these tests by not running them.
class MotoSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  // REQUIRES: derived SetUp() calls this first.
  void SetUp() override;
  static MotoServer& moto() { return *server_; }

 private:
  static MotoServer* server_;
  static std::string* error_;
};

}  // namespace pd::aws::testing
