#include "server/http_server.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <istream>
#include <mutex>
#include <sstream>
#include <streambuf>
#include <thread>

#include "core/strings.h"
#include "io/results_export.h"
#include "server/web_assets.h"

namespace pd {
namespace {

using Steady = std::chrono::steady_clock;
constexpr auto kKeepalive = std::chrono::seconds(15);
constexpr const char* kNameRe = "([A-Za-z0-9._-]+)";

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void send_json(httplib::Response& res, const ApiResponse& r) {
  res.status = r.status;
  res.set_content(dump(r.body) + "\n", "application/json");
}

void send_error(httplib::Response& res, const absl::Status& s) { send_json(res, api_error(s)); }

bool has_body(const httplib::Request& req) {
  const std::string length = req.get_header_value("Content-Length");
  return (!length.empty() && length != "0") ||
         req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
}

// A request body read whole, up to `max` bytes; beyond that the rest is
// read and dropped so the client still gets a clean 413.
struct Body {
  std::string data;
  bool too_large = false;
  bool timed_out = false;
  bool cut_short = false;
};

// The declared Content-Length (0 when absent or chunked).
uint64_t declared_length(const httplib::Request& req) {
  const std::string v = req.get_header_value("Content-Length");
  if (v.empty() || v.size() > 19 || !std::all_of(v.begin(), v.end(), ::isdigit)) return 0;
  return std::stoull(v);
}

Body read_body(const httplib::Request& req, const httplib::ContentReader& reader, size_t max,
               size_t discard_max, Steady::time_point deadline) {
  Body b;
  // Declared too large: the body is read and dropped (httplib itself drops
  // one above its own limit, discard_max), then 413.
  b.too_large = declared_length(req) > max;
  size_t total = 0;
  const bool ok = reader([&](const char* data, size_t n) {
    total += n;
    if (Steady::now() > deadline) {
      b.timed_out = true;
      return false;
    }
    if (b.too_large || total > max) {
      b.too_large = true;
      b.data.clear();
      b.data.shrink_to_fit();
      return total <= discard_max;
    }
    b.data.append(data, n);
    return true;
  });
  if (!ok && !b.timed_out && !b.too_large) b.cut_short = true;
  return b;
}

// Bytes from the thread reading the HTTP body to the thread importing it,
// at most `capacity` in between (so an upload is never held whole).
class BytePipe {
 public:
  explicit BytePipe(size_t capacity) : capacity_(capacity) {}
  // Blocks while full; false once the reader has gone.
  bool write(const char* data, size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    while (n > 0) {
      cv_.wait(lock, [&] { return reader_gone_ || buffer_.size() - head_ < capacity_; });
      if (reader_gone_) return false;
      const size_t room = capacity_ - (buffer_.size() - head_);
      const size_t take = std::min(room, n);
      if (head_ > 0 && head_ >= buffer_.size() / 2) {
        buffer_.erase(0, head_);
        head_ = 0;
      }
      buffer_.append(data, take);
      data += take;
      n -= take;
      cv_.notify_all();
    }
    return true;
  }
  void finish(bool complete) {
    std::lock_guard<std::mutex> lock(mu_);
    writer_done_ = true;
    complete_ = complete;
    cv_.notify_all();
  }
  // Blocks until data or the end; 0 at the end.
  size_t read(char* out, size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return writer_done_ || buffer_.size() > head_; });
    const size_t take = std::min(n, buffer_.size() - head_);
    std::memcpy(out, buffer_.data() + head_, take);
    head_ += take;
    cv_.notify_all();
    return take;
  }
  void close_reader() {
    std::lock_guard<std::mutex> lock(mu_);
    reader_gone_ = true;
    cv_.notify_all();
  }
  bool complete() {
    std::lock_guard<std::mutex> lock(mu_);
    return writer_done_ && complete_;
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string buffer_;  // guarded by mu_; unread bytes from head_
  size_t head_ = 0;     // guarded by mu_
  bool writer_done_ = false, complete_ = false, reader_gone_ = false;  // guarded by mu_
};

class PipeInBuf final : public std::streambuf {
 public:
  explicit PipeInBuf(BytePipe& pipe) : pipe_(pipe), buf_(64 * 1024) {}

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    const size_t n = pipe_.read(buf_.data(), buf_.size());
    if (n == 0) return traits_type::eof();
    setg(buf_.data(), buf_.data(), buf_.data() + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  BytePipe& pipe_;
  std::vector<char> buf_;
};

// An ostream buffer over a chunked response: 64 KiB per chunk.
class SinkOutBuf final : public std::streambuf {
 public:
  explicit SinkOutBuf(httplib::DataSink& sink) : sink_(sink), buf_(64 * 1024) {
    setp(buf_.data(), buf_.data() + buf_.size());
  }
  bool ok() const { return ok_; }

 protected:
  int_type overflow(int_type c) override {
    if (!flush_buffer()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return flush_buffer() ? 0 : -1; }

 private:
  bool flush_buffer() {
    const auto n = static_cast<size_t>(pptr() - pbase());
    if (n > 0 && ok_) ok_ = sink_.write(pbase(), n);
    setp(buf_.data(), buf_.data() + buf_.size());
    return ok_;
  }
  httplib::DataSink& sink_;
  std::vector<char> buf_;
  bool ok_ = true;
};

}  // namespace

absl::StatusOr<std::pair<std::string, int>> parse_listen_address(std::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        cat("invalid --listen '", text, "': expected HOST:PORT, e.g. 127.0.0.1:8080"));
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad();
  std::string host(text.substr(0, colon));
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "127.0.0.1";
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad();
  const int port = std::stoi(std::string(port_text));
  if (port > 65535) return bad();
  return std::make_pair(host, port);
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1") return true;
  if (host.substr(0, 4) != "127.") return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

int live_feed_capacity(int max_clients) {
  return std::max(1, max_clients - std::max(4, max_clients / 8));
}

struct HttpServer::Impl {
  HttpOptions options;
  Api& api;
  LiveFeed& feed;
  TokenVerifier& tokens;
  HttpCounters& counters;
  httplib::Server server;
  int port = 0;

  Impl(HttpOptions o, Api& a, LiveFeed& f, TokenVerifier& t, HttpCounters& c)
      : options(std::move(o)), api(a), feed(f), tokens(t), counters(c) {}

  Steady::time_point body_deadline() const { return Steady::now() + options.body_timeout; }

  // A small JSON body (1 MiB by default) for POST/PATCH; false when the
  // response has been set (too large, cut short).
  bool read_small_body(const httplib::Request& req, const httplib::ContentReader& reader,
                       httplib::Response& res, std::string& out) {
    out.clear();
    if (!has_body(req)) return true;  // no Content-Length, not chunked: no body
    Body b =
        read_body(req, reader, options.max_body_bytes, options.max_list_bytes, body_deadline());
    if (b.too_large) {
      send_error(res, absl::ResourceExhaustedError(
                          cat("request body larger than ", options.max_body_bytes, " bytes")));
      res.set_header("Connection", "close");
      return false;
    }
    if (b.timed_out || b.cut_short) {
      send_error(res, absl::InvalidArgumentError("the request body was cut short or too slow"));
      res.set_header("Connection", "close");
      return false;
    }
    out = std::move(b.data);
    return true;
  }

  void install() {
    server.new_task_queue = [n = options.max_clients] {
      return new httplib::ThreadPool(static_cast<size_t>(n));
    };
    server.set_read_timeout(options.io_timeout);
    server.set_write_timeout(options.io_timeout);
    server.set_keep_alive_timeout(5);
    server.set_keep_alive_max_count(1000);
    server.set_payload_max_length(std::max(options.max_list_bytes, options.max_body_bytes));
    server.set_tcp_nodelay(true);
    server.set_default_headers({{"X-Content-Type-Options", "nosniff"}});
    server.set_logger([this](const httplib::Request&, const httplib::Response& res) {
      counters.count(res.status);
    });
    server.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
          send_error(res, absl::InternalError("internal error"));
        });
    server.set_error_handler(
        httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          std::string message = res.status == 404   ? "not found"
                                : res.status == 413 ? "request body too large"
                                : res.status == 405 ? "method not allowed"
                                                    : cat("HTTP ", res.status);
          res.set_content(dump({{"error", message}}) + "\n", "application/json");
          return httplib::Server::HandlerResponse::Handled;
        }));
    server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      const std::string& p = req.path;
      const bool need = p == "/api" || p.rfind("/api/", 0) == 0 ||
                        (p == "/metrics" && options.metrics_need_token);
      if (!need || tokens.verify_header(req.get_header_value("Authorization"))) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      res.set_header("WWW-Authenticate", "Bearer realm=\"powerdialer\"");
      if (has_body(req)) res.set_header("Connection", "close");  // body left unread
      send_json(res, {401,
                      {{"error", req.has_header("Authorization")
                                     ? "invalid API token"
                                     : "missing API token: send 'Authorization: Bearer <token>' "
                                       "(create one with 'powerdialer token create')"}}});
      return httplib::Server::HandlerResponse::Handled;
    });

    server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      auto snap = feed.latest();
      ServerFigures figures;
      figures.requests_by_status = counters.by_status();
      figures.live_feed_clients = feed.subscribers.load();
      static const std::vector<CampaignFrame> kNone;
      res.set_content(format_metrics(snap ? snap->campaigns : kNone, figures),
                      "text/plain; version=0.0.4; charset=utf-8");
    });

    const std::string campaign = cat("/api/campaigns/", kNameRe);
    server.Get("/api/campaigns", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, api.list_campaigns());
    });
    server.Post("/api/campaigns", [this](const httplib::Request& req, httplib::Response& res,
                                         const httplib::ContentReader& reader) {
      std::string body;
      if (read_small_body(req, reader, res, body)) send_json(res, api.create_campaign(body));
    });
    server.Post("/api/campaigns", [this](const httplib::Request& req, httplib::Response& res) {
      send_json(res, api.create_campaign(req.body));
    });
    server.Get(campaign, [this](const httplib::Request& req, httplib::Response& res) {
      send_json(res, api.get_campaign(req.matches[1].str()));
    });
    server.Get(campaign + "/config", [this](const httplib::Request& req, httplib::Response& res) {
      send_json(res, api.get_config(req.matches[1].str()));
    });
    server.Patch(campaign + "/config", [this](const httplib::Request& req, httplib::Response& res,
                                              const httplib::ContentReader& reader) {
      std::string body;
      if (read_small_body(req, reader, res, body)) {
        send_json(res, api.patch_config(req.matches[1].str(), body));
      }
    });
    server.Patch(campaign + "/config", [this](const httplib::Request& req, httplib::Response& res) {
      send_json(res, api.patch_config(req.matches[1].str(), req.body));
    });
    server.Put(campaign + "/list",
               [this](const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader) { upload_list(req, res, reader); });
    server.Put(campaign + "/list", [this](const httplib::Request& req, httplib::Response& res) {
      std::istringstream in(req.body);
      send_json(res, api.load_list(req.matches[1].str(), append(req), in, nullptr));
    });
    for (const char* action : {"start", "stop"}) {
      const bool start = std::string_view(action) == "start";
      auto act = [this, start](const std::string& name) {
        return start ? api.start(name) : api.stop(name);
      };
      // The body (optional JSON) is read and ignored.
      server.Post(cat(campaign, "/", action),
                  [this, act](const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& reader) {
                    std::string body;
                    if (read_small_body(req, reader, res, body))
                      send_json(res, act(req.matches[1]));
                  });
      server.Post(cat(campaign, "/", action),
                  [act](const httplib::Request& req, httplib::Response& res) {
                    send_json(res, act(req.matches[1]));
                  });
    }
    server.Get(campaign + "/rejects", [this](const httplib::Request& req, httplib::Response& res) {
      send_json(res, api.rejects(req.matches[1].str()));
    });
    server.Get(campaign + "/results", [this](const httplib::Request& req, httplib::Response& res) {
      send_results(req.matches[1].str(), res);
    });
    server.Get("/api/events",
               [this](const httplib::Request& req, httplib::Response& res) { events(req, res); });
    server.Get(R"(/[A-Za-z0-9._-]*)", [](const httplib::Request& req, httplib::Response& res) {
      const WebAsset* asset = find_web_asset(req.path);
      if (asset == nullptr) {
        res.status = 404;
        return;
      }
      res.set_header("Cache-Control", "no-cache");
      res.set_header("X-Frame-Options", "DENY");
      res.set_content(std::string(asset->body), std::string(asset->content_type));
    });
  }

  static bool append(const httplib::Request& req) {
    const std::string v = req.get_param_value("append");
    return v == "1" || v == "true" || v == "yes";
  }

  void upload_list(const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader) {
    const std::string name = req.matches[1].str();
    if (!has_body(req)) {
      std::istringstream empty;
      return send_json(res, api.load_list(name, append(req), empty, nullptr));
    }
    const auto deadline = body_deadline();
    if (declared_length(req) > options.max_list_bytes) {
      // Read and dropped (by httplib, above its limit), so the client sees
      // the answer rather than a reset connection.
      reader([](const char*, size_t) { return true; });
      return send_error(res, absl::ResourceExhaustedError(
                                 cat("the list is larger than ", options.max_list_bytes,
                                     " bytes (serve --max-list-bytes); nothing was loaded")));
    }
    BytePipe pipe(size_t{1} << 20);
    std::atomic<bool> too_large{false}, timed_out{false};
    std::thread producer([&] {
      size_t total = 0;
      const bool ok = reader([&](const char* data, size_t n) {
        total += n;
        if (total > options.max_list_bytes) {
          too_large = true;
          return false;
        }
        if (Steady::now() > deadline) {
          timed_out = true;
          return false;
        }
        return pipe.write(data, n);
      });
      pipe.finish(ok);
    });
    auto cut_short = [&]() -> absl::Status {
      if (too_large) {
        return absl::ResourceExhaustedError(
            cat("the list is larger than ", options.max_list_bytes,
                " bytes (serve --max-list-bytes); nothing was loaded"));
      }
      if (timed_out) {
        return absl::DeadlineExceededError(cat("the upload took longer than ",
                                               options.body_timeout.count(),
                                               " s; nothing was loaded"));
      }
      if (!pipe.complete()) {
        return absl::InvalidArgumentError("the upload was cut short; nothing was loaded");
      }
      return absl::OkStatus();
    };
    ApiResponse r;
    {
      PipeInBuf buf(pipe);
      std::istream in(&buf);
      r = api.load_list(name, append(req), in, cut_short);
    }
    pipe.close_reader();
    producer.join();
    if (auto s = cut_short(); !s.ok() && (too_large || timed_out)) r = api_error(s);
    if (!pipe.complete()) res.set_header("Connection", "close");
    send_json(res, r);
  }

  void send_results(const std::string& name, httplib::Response& res) {
    auto src = api.results(name);
    if (!src.ok()) return send_error(res, src.status());
    auto shared = std::make_shared<Api::ResultsSource>(std::move(*src));
    res.set_header("Content-Disposition", cat("attachment; filename=\"", name, "-results.csv\""));
    res.set_header("Cache-Control", "no-store");
    res.set_chunked_content_provider(
        "text/csv; charset=utf-8", [shared](size_t, httplib::DataSink& sink) {
          SinkOutBuf buf(sink);
          std::ostream out(&buf);
          auto rows = export_results(*shared->store, shared->campaign, out);
          out.flush();
          // A failed export cuts the response off rather
          // than end it like a complete file.
          if (!rows.ok() || !buf.ok()) return false;
          sink.done();
          return true;
        });
  }

  struct Watcher {
    std::string campaign;  // empty: all
    uint64_t generation = 0;
    Steady::time_point last_write;
  };

  void events(const httplib::Request& req, httplib::Response& res) {
    auto watcher = std::make_shared<Watcher>();
    watcher->campaign = req.get_param_value("campaign");
    if (!watcher->campaign.empty()) {
      ApiResponse exists = api.get_campaign(watcher->campaign);
      if (exists.status != 200) return send_json(res, exists);
    }
    if (feed.subscribers.fetch_add(1) >= live_feed_capacity(options.max_clients)) {
      feed.subscribers.fetch_sub(1);
      send_json(res, {503, {{"error", "too many live-feed clients; try again later"}}});
      res.set_header("Retry-After", "5");
      return;
    }
    watcher->last_write = Steady::now();
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, watcher](size_t, httplib::DataSink& sink) {
          const auto keepalive_at = watcher->last_write + kKeepalive;
          auto snap = feed.wait_newer(watcher->generation, keepalive_at);
          if (feed.closed()) {
            sink.done();
            return true;
          }
          std::string out;
          if (snap) {
            watcher->generation = snap->generation;
            for (size_t i = 0; i < snap->campaigns.size(); ++i) {
              if (watcher->campaign.empty() ||
                  snap->campaigns[i].status.campaign.name == watcher->campaign) {
                out += snap->events[i];
              }
            }
          }
          const auto now = Steady::now();
          if (out.empty() && now >= keepalive_at) out = ": keepalive\n\n";
          if (out.empty()) return true;
          if (!sink.write(out.data(), out.size())) return false;
          watcher->last_write = now;
          return true;
        },
        [this](bool) { feed.subscribers.fetch_sub(1); });
  }
};

HttpServer::HttpServer(HttpOptions options, Api& api, LiveFeed& feed, TokenVerifier& tokens,
                       HttpCounters& counters)
    : impl_(std::make_unique<Impl>(std::move(options), api, feed, tokens, counters)) {
  impl_->install();
}

HttpServer::~HttpServer() = default;

absl::Status HttpServer::bind() {
  Impl& i = *impl_;
  if (i.options.port == 0) {
    i.port = i.server.bind_to_any_port(i.options.host);
    if (i.port < 0) i.port = 0;
  } else if (i.server.bind_to_port(i.options.host, i.options.port)) {
    i.port = i.options.port;
  }
  if (i.port == 0) {
    return absl::UnavailableError(cat("cannot listen on ", i.options.host, ":", i.options.port,
                                      " (in use, or not an address of this machine)"));
  }
  return absl::OkStatus();
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::run() { impl_->server.listen_after_bind(); }

void HttpServer::stop() { impl_->server.stop(); }

}  // namespace pd
