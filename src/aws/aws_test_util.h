// Test-only helpers for the AWS client tests: a fake clock that moves only
// when told, scoped environment variables, and a real HTTP server on a
// random loopback port (cpp-httplib) to stand in for AWS endpoints.
// Thread-safety: FakeClock is safe from any thread; the rest belong to the
// test's thread (the server's handlers run on the server's threads).
#pragma once

#include <httplib.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "aws/http.h"
#include "core/clock.h"

namespace pd::aws::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime wall = WallTime{std::chrono::milliseconds(1'700'000'000'000)})
      : wall_(wall) {}
  MonoTime now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return mono_;
  }
  WallTime wall_now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return wall_;
  }
  void advance(Micros d) {
    std::lock_guard<std::mutex> lock(mu_);
    mono_ += d;
    wall_ += std::chrono::duration_cast<std::chrono::milliseconds>(d);
  }

 private:
  mutable std::mutex mu_;
  MonoTime mono_{Micros(1'000'000)};
  WallTime wall_;
};

// Sets (or, with nullopt, unsets) environment variables for a scope and puts
// the old values back afterwards.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, std::optional<std::string>>> vars) {
    for (const auto& [name, value] : vars) set(name, value);
  }
  void set(const char* name, const std::optional<std::string>& value) {
    const char* old = std::getenv(name);
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second)
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      else
        ::unsetenv(it->first.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Every variable the AWS code reads, unset: a test starts from nothing.
inline constexpr const char* kAwsEnvVars[] = {"AWS_ACCESS_KEY_ID",
                                              "AWS_SECRET_ACCESS_KEY",
                                              "AWS_SESSION_TOKEN",
                                              "AWS_PROFILE",
                                              "AWS_DEFAULT_PROFILE",
                                              "AWS_SHARED_CREDENTIALS_FILE",
                                              "AWS_CONFIG_FILE",
                                              "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                              "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                              "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                                              "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                                              "AWS_EC2_METADATA_DISABLED",
                                              "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                                              "AWS_REGION",
                                              "AWS_DEFAULT_REGION",
                                              "AWS_ENDPOINT_URL",
                                              "AWS_ENDPOINT_URL_CONNECT",
                                              "AWS_ENDPOINT_URL_KINESIS",
                                              "AWS_ENDPOINT_URL_S3"};

// An httplib server on 127.0.0.1, random port, running on its own thread
// from start() until destruction. Register handlers on server() first.
class LocalServer {
 public:
  // Without `keep_alive` the server closes each connection after its
  // response. Otherwise our client's per-thread connection stays open and
  // stopping the server waits out the idle keep-alive (1 s here).
  explicit LocalServer(bool keep_alive = false) {
    if (keep_alive) {
      server_.set_keep_alive_timeout(1);
    } else {
      server_.set_keep_alive_max_count(1);
    }
  }
  httplib::Server& server() { return server_; }
  void start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the accept loop runs: wait for it to start.
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~LocalServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  std::string url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// The request as a SigV4 verifier needs it: raw path, raw query, headers.
inline void split_target(const std::string& target, std::string& path, std::string& query) {
  const size_t q = target.find('?');
  path = target.substr(0, q);
  query = q == std::string::npos ? std::string() : target.substr(q + 1);
}

inline Headers headers_of(const httplib::Request& req) {
  Headers out;
  for (const auto& [k, v] : req.headers) {
    // httplib adds these itself; they never came over the wire.
    if (k == "REMOTE_ADDR" || k == "REMOTE_PORT" || k == "LOCAL_ADDR" || k == "LOCAL_PORT")
      continue;
    out.emplace_back(k, v);
  }
  return out;
}

}  // namespace pd::aws::testing
