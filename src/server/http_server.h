// The HTTP front of `serve`: routes, bearer-token checks, size and time
// limits, the live feed (server-sent events) and the dashboard's static
// files, on cpp-httplib. Handlers only move bytes between HTTP and Api,
// LiveFeed and the metrics formatter.
//
// Thread-safety: run() blocks the calling thread and serves on a pool of
// `max_clients` threads; stop() may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/api.h"
#include "server/api_tokens.h"
#include "server/live_feed.h"
#include "server/metrics.h"

namespace pd {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see HttpServer::port())
  // Worker threads; a live-feed client holds one for as long as it watches,
  // so at most max_clients - reserve of them are let in (503 beyond).
  int max_clients = 256;
  size_t max_list_bytes = size_t{64} << 20;  // PUT .../list
  size_t max_body_bytes = size_t{1} << 20;   // every other request body
  std::chrono::seconds io_timeout{30};       // one socket read or write
  std::chrono::seconds body_timeout{300};    // a whole request body
  bool metrics_need_token = false;           // /metrics
};

// "127.0.0.1:8080", "localhost:9000", "[::1]:8080", "0.0.0.0:80", ":8080"
// (loopback). kInvalidArgument saying what is expected.
absl::StatusOr<std::pair<std::string, int>> parse_listen_address(std::string_view text);
// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);

// How many live-feed clients the pool admits (the rest of the threads stay
// free for API calls).
int live_feed_capacity(int max_clients);

class HttpServer {
 public:
  HttpServer(HttpOptions options, Api& api, LiveFeed& feed, TokenVerifier& tokens,
             HttpCounters& counters);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket; kUnavailable naming the address on failure.
  absl::Status bind();
  int port() const;
  // Serves until stop(). REQUIRES: bind() succeeded.
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pd
