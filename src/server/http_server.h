// The HTTP(S) front of `serve`: routes, bearer-token checks, size and time
// limits, the live feed (server-sent events) and the dashboard's static
// files. Handlers only move bytes between HTTP and Api, LiveFeed and the
// metrics formatter.
//
// Built on Boost.Beast over asio rather than cpp-httplib (which it replaced)
// because that closes the whole slow-client and framing class at once:
// connections are served by asynchronous I/O, so an idle or slow connection
// costs a socket and a few KiB, never a thread, and Beast's strict request
// parser refuses what cpp-httplib let through (duplicate or negative
// Content-Length, Content-Length beside Transfer-Encoding).
//
// Thread-safety: run() serves on `io_threads` threads (the calling one
// included) that only do I/O; every Api call that may block (the store, a
// list import, a campaign start) runs on a pool of `workers` threads.
// stop() may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
  // Open connections in all and from one client address. When either is
  // reached, the oldest connection still waiting for its request head (of
  // that address, or of any) is closed to make room; 503 when none is.
  int max_connections = 1024;
  int max_connections_per_address = 128;
  size_t max_list_bytes = size_t{64} << 20;  // PUT .../list
  size_t max_body_bytes = size_t{1} << 20;   // every other request body
  size_t max_header_bytes = 16 * 1024;       // request line and headers (431 beyond)
  std::chrono::seconds io_timeout{30};       // one write; a pause inside a body
  std::chrono::seconds header_timeout{10};   // a whole request head (and TLS handshake)
  std::chrono::seconds body_timeout{300};    // a whole request body
  bool metrics_need_token = false;           // /metrics
  // Host names (besides IP literals and localhost) requests may name.
  std::vector<std::string> allowed_hosts;
  // HTTPS when both are set (PEM files).
  std::string tls_cert_file;
  std::string tls_key_file;
  int io_threads = 2;
  int workers = 16;
};

// "127.0.0.1:8080", "localhost:9000", "[::1]:8080", "0.0.0.0:80", ":8080"
// (loopback). kInvalidArgument saying what is expected.
absl::StatusOr<std::pair<std::string, int>> parse_listen_address(std::string_view text);
// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);

// How many live-feed clients are let in (the rest of the connections stay
// free for API calls).
int live_feed_capacity(int max_connections);

class HttpServer {
 public:
  HttpServer(HttpOptions options, Api& api, LiveFeed& feed, TokenVerifier& tokens,
             HttpCounters& counters);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads the TLS certificate (kInvalidArgument naming the file) and binds
  // the listening socket (kUnavailable naming the address).
  absl::Status bind();
  int port() const;
  // Serves until stop(). REQUIRES: bind() succeeded.
  void run();
  // Stops accepting, closes every connection and makes run() return once
  // the requests in progress have ended (10 s at most).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pd
