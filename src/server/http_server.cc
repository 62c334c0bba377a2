#include "server/http_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <cstring>
#include <iostream>
#include <istream>
#include <mutex>
#include <set>
#include <sstream>
#include <streambuf>
#include <thread>
#include <unordered_map>
#include <utility>  // first: Boost 1.74's asio uses std::exchange without including it

#include "core/clock.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "io/dnc_file.h"
#include "io/results_export.h"
#include "io/status_json.h"
#include "server/http_request_check.h"
#include "server/multipart_reader.h"
#include "server/web_assets.h"

namespace pd {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Steady = std::chrono::steady_clock;
using boost::system::error_code;

constexpr auto kKeepalive = std::chrono::seconds(15);
constexpr size_t kPiece = 64 * 1024;  // one read of a body, one chunk of a response
// The dashboard loads /app.js and /style.css only; its script sets styles
// through the CSSOM, which style-src 'self' allows.
constexpr const char* kDashboardPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// Built outside co_await expressions: GCC 12 miscompiles a braced JSON
// initializer there.
ApiResponse error_reply(int status, std::string message) {
  ApiResponse r;
  r.status = status;
  r.body = nlohmann::json::object();
  r.body["error"] = std::move(message);
  return r;
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }

// Bytes between an I/O coroutine (the async side, which never blocks) and a
// worker thread (the blocking side), at most `capacity` in between: an
// upload flowing into a list import, or a results file flowing out to the
// client. Every change wakes the async side through `notify`.
class ByteQueue {
 public:
  ByteQueue(size_t capacity, std::function<void()> notify)
      : capacity_(capacity), notify_(std::move(notify)) {}

  // Async side. Bytes taken (0 when full or the reader has gone).
  size_t try_push(std::string_view data) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) return 0;
    const size_t take = std::min(data.size(), capacity_ - std::min(capacity_, buffered()));
    compact();
    buffer_.append(data.data(), take);
    if (take > 0) cv_.notify_all();
    return take;
  }
  // Async side. Moves every queued byte to `out`; false when none.
  bool try_pop(std::string& out) {
    std::lock_guard<std::mutex> lock(mu_);
    if (buffered() == 0) return false;
    out.assign(buffer_, head_);
    buffer_.clear();
    head_ = 0;
    cv_.notify_all();
    return true;
  }
  // Blocking side: blocks while full; false once cancelled.
  bool push(std::string_view data) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (!data.empty()) {
        cv_.wait(lock, [&] { return cancelled_ || buffered() < capacity_; });
        if (cancelled_) return false;
        const size_t take = std::min(data.size(), capacity_ - buffered());
        compact();
        buffer_.append(data.data(), take);
        data.remove_prefix(take);
        notify_locked();
      }
    }
    return true;
  }
  // Blocking side: blocks until bytes or the writer's end; 0 at the end.
  size_t pop(char* out, size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return writer_closed_ || cancelled_ || buffered() > 0; });
    const size_t take = std::min(n, buffered());
    std::memcpy(out, buffer_.data() + head_, take);
    head_ += take;
    notify_locked();
    return take;
  }
  // No more bytes; `status` says whether they were all there.
  void close_writer(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (writer_closed_) return;
    writer_closed_ = true;
    writer_status_ = std::move(status);
    cv_.notify_all();
    notify_locked();
  }
  // The reader has gone: pushes fail from now on.
  void cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
    notify_locked();
  }
  bool cancelled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }
  bool writer_closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return writer_closed_;
  }
  absl::Status writer_status() const {
    std::lock_guard<std::mutex> lock(mu_);
    return writer_status_;
  }

 private:
  size_t buffered() const { return buffer_.size() - head_; }
  void compact() {
    if (head_ > 0 && head_ >= buffer_.size() / 2) {
      buffer_.erase(0, head_);
      head_ = 0;
    }
  }
  void notify_locked() {
    if (notify_) notify_();  // only posts to the I/O side; never blocks
  }

  const size_t capacity_;
  const std::function<void()> notify_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string buffer_;                              // guarded by mu_; unread bytes from head_
  size_t head_ = 0;                                 // guarded by mu_
  bool writer_closed_ = false, cancelled_ = false;  // guarded by mu_
  absl::Status writer_status_;                      // guarded by mu_
};

// An istream over the blocking side of a ByteQueue (a list import reads it).
class QueueInBuf final : public std::streambuf {
 public:
  explicit QueueInBuf(ByteQueue& queue) : queue_(queue), buf_(kPiece) {}

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    const size_t n = queue_.pop(buf_.data(), buf_.size());
    if (n == 0) return traits_type::eof();
    setg(buf_.data(), buf_.data(), buf_.data() + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  ByteQueue& queue_;
  std::vector<char> buf_;
};

// An ostream over the blocking side of a ByteQueue (an export writes it).
class QueueOutBuf final : public std::streambuf {
 public:
  explicit QueueOutBuf(ByteQueue& queue) : queue_(queue), buf_(kPiece) {
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
    if (n > 0 && ok_) ok_ = queue_.push(std::string_view(pbase(), n));
    setp(buf_.data(), buf_.data() + buf_.size());
    return ok_;
  }
  ByteQueue& queue_;
  std::vector<char> buf_;
  bool ok_ = true;
};

// One open connection, as the admission table sees it.
struct Connection : std::enable_shared_from_this<Connection> {
  std::string address;
  Steady::time_point opened;
  net::any_io_executor executor;  // the connection's strand
  // Between requests (and during the TLS handshake): may be shed.
  std::atomic<bool> awaiting_head{true};
  bool in_table = false;  // guarded by the table's mutex
  // Closes the connection; set and run on the strand only.
  std::function<void()> close;
  bool shed_before_start = false;  // on the strand only

  void shed() {
    net::post(executor, [self = shared_from_this()] {
      if (self->close) {
        self->close();
      } else {
        self->shed_before_start = true;
      }
    });
  }
};

// Every open connection by client address, for the caps (see HttpOptions).
class ConnectionTable {
 public:
  ConnectionTable(size_t max_total, size_t max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}

  // A new connection from `address`, after shedding what must go to make
  // room; nullptr when nothing could be shed (refuse it).
  std::shared_ptr<Connection> admit(const std::string& address, net::any_io_executor executor) {
    std::vector<std::shared_ptr<Connection>> shed;
    auto conn = std::make_shared<Connection>();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& mine = by_address_[address];
      if (mine.size() >= max_per_address_) {
        auto victim = oldest_waiting(mine);
        if (!victim) return nullptr;
        take_out(victim);
        shed.push_back(std::move(victim));
      }
      if (total_ >= max_total_) {
        std::shared_ptr<Connection> victim;
        for (auto& [_, list] : by_address_) {
          auto candidate = oldest_waiting(list);
          if (candidate && (!victim || candidate->opened < victim->opened)) victim = candidate;
        }
        if (!victim) return nullptr;
        take_out(victim);
        shed.push_back(std::move(victim));
      }
      conn->address = address;
      conn->opened = Steady::now();
      conn->executor = std::move(executor);
      conn->in_table = true;
      by_address_[address].push_back(conn);
      ++total_;
    }
    for (auto& victim : shed) victim->shed();
    return conn;
  }

  void remove(const std::shared_ptr<Connection>& conn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (conn->in_table) take_out(conn);
  }

  std::vector<std::shared_ptr<Connection>> all() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::shared_ptr<Connection>> out;
    for (auto& [_, list] : by_address_) out.insert(out.end(), list.begin(), list.end());
    return out;
  }

 private:
  static std::shared_ptr<Connection> oldest_waiting(
      const std::vector<std::shared_ptr<Connection>>& list) {
    for (const auto& c : list) {  // in order of arrival
      if (c->awaiting_head.load()) return c;
    }
    return nullptr;
  }
  void take_out(const std::shared_ptr<Connection>& conn) {
    auto it = by_address_.find(conn->address);
    auto& list = it->second;
    list.erase(std::find(list.begin(), list.end(), conn));
    if (list.empty()) by_address_.erase(it);
    conn->in_table = false;
    --total_;
  }

  const size_t max_total_, max_per_address_;
  std::mutex mu_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<Connection>>>
      by_address_;    // guarded by mu_
  size_t total_ = 0;  // guarded by mu_
};

// A steady_timer used as the async side's condition variable: the other
// side posts `wake` (which cancels the wait); the waiter re-checks its
// state before every wait, so a wake that lands while it is busy
// elsewhere is never needed.
struct Waker {
  std::shared_ptr<net::steady_timer> timer;
  net::any_io_executor executor;

  explicit Waker(const net::any_io_executor& ex)
      : timer(std::make_shared<net::steady_timer>(ex)), executor(ex) {}
  std::function<void()> wake_fn() const {
    return [t = timer, ex = executor] { net::post(ex, [t] { t->cancel(); }); };
  }
  // Waits for a wake or `until`; true when `until` has passed.
  net::awaitable<bool> wait(Steady::time_point until) {
    timer->expires_at(until);
    error_code ec;
    co_await timer->async_wait(net::redirect_error(net::use_awaitable, ec));
    co_return Steady::now() >= until;
  }
};

using Parser = http::request_parser<http::buffer_body>;

template <class Stream>
struct is_tls : std::false_type {};
template <>
struct is_tls<beast::ssl_stream<beast::tcp_stream>> : std::true_type {};

// One request being answered on a connection.
template <class Stream>
struct Exchange {
  Stream& stream;
  beast::flat_buffer& buffer;
  Parser& parser;
  Connection& conn;
  Steady::time_point deadline;  // the whole body must have arrived by then
  bool keep_alive = true;
  bool responded = false;  // a status line has gone out
  bool continued = false;  // "100 Continue" sent
  bool drop_body = false;  // answer without reading the body, then close

  const http::request_header<>& head() const { return parser.get().base(); }
  std::string header(http::field f) const {
    auto it = head().find(f);
    return it == head().end() ? std::string() : std::string(view(it->value()));
  }
  std::string target() const { return std::string(view(head().target())); }
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

int live_feed_capacity(int max_connections) {
  return std::max(1, max_connections - std::max(4, max_connections / 8));
}

using Headers = std::vector<std::pair<std::string, std::string>>;
const Headers kNoHeaders;
const std::string kJsonType = "application/json";

// GCC 12 destroys a temporary with a destructor twice when it appears in a
// full-expression that holds a co_await, and a by-value coroutine argument
// is such a temporary. So in every coroutine here, co_await expressions
// name only locals, references and trivially copyable values; coroutines
// take references or pointers, never objects by value.

template <class R>
struct WorkerCall {
  std::function<R()>* task = nullptr;
  std::optional<R> value;
  std::exception_ptr error;
};

// async_initiate's initiation for on_worker: trivially copyable (pointers
// only) for the reason above.
template <class R>
struct WorkerStart {
  net::thread_pool* workers;
  WorkerCall<R>* call;
  net::any_io_executor* executor;

  template <class Handler>
  void operator()(Handler handler) const {
    auto resume = std::make_shared<Handler>(std::move(handler));
    // Tracked, so the io_context keeps running while the worker works.
    auto home = net::prefer(*executor, net::execution::outstanding_work.tracked);
    WorkerCall<R>* c = call;
    net::post(*workers, [c, resume, home] {
      try {
        c->value.emplace((*c->task)());
      } catch (...) {
        c->error = std::current_exception();
      }
      net::post(home, [resume] { (*resume)(); });
    });
  }
};

struct HttpServer::Impl {
  HttpOptions options;
  Api& api;
  LiveFeed& feed;
  TokenVerifier& tokens;
  HttpCounters& counters;
  HeadPolicy policy;
  ParserLimits limits;

  // Members the coroutines touch come first: ioc, declared after them, is
  // destroyed before them, and with it every coroutine still suspended.
  std::mutex watchers_mu;
  std::set<std::shared_ptr<Waker>> watchers;  // guarded by watchers_mu
  // Queues a worker may block on, released when the server goes.
  std::mutex queues_mu;
  std::vector<std::weak_ptr<ByteQueue>> queues;  // guarded by queues_mu
  ConnectionTable table;
  std::atomic<int> sessions{0};
  std::atomic<bool> stopping{false};
  int port = 0;
  std::unique_ptr<ssl::context> tls;
  net::thread_pool workers;  // joined by ~HttpServer before ioc goes
  net::io_context ioc;
  // The acceptor and the stop timer live on one strand.
  net::strand<net::io_context::executor_type> control{ioc.get_executor()};
  tcp::acceptor acceptor{control};
  net::steady_timer grace{control};

  Impl(HttpOptions o, Api& a, LiveFeed& f, TokenVerifier& t, HttpCounters& c)
      : options(std::move(o)),
        api(a),
        feed(f),
        tokens(t),
        counters(c),
        table(static_cast<size_t>(options.max_connections),
              static_cast<size_t>(options.max_connections_per_address)),
        workers(static_cast<size_t>(std::max(1, options.workers))) {
    policy.allowed_hosts = options.allowed_hosts;
    policy.metrics_need_token = options.metrics_need_token;
    limits.header_bytes = options.max_header_bytes;
  }

  std::shared_ptr<ByteQueue> make_queue(size_t capacity, std::function<void()> notify) {
    auto q = std::make_shared<ByteQueue>(capacity, std::move(notify));
    std::lock_guard<std::mutex> lock(queues_mu);
    std::erase_if(queues, [](const std::weak_ptr<ByteQueue>& w) { return w.expired(); });
    queues.push_back(q);
    return q;
  }

  // Runs `*task` (which may block) on a worker and resumes on the caller's
  // strand; an exception from it is rethrown here. REQUIRES: *task lives
  // until this returns (a local of the caller).
  template <class R>
  net::awaitable<R> on_worker(std::function<R()>* task) {
    WorkerCall<R> call;
    call.task = task;
    net::any_io_executor executor = co_await net::this_coro::executor;
    WorkerStart<R> start{&workers, &call, &executor};
    co_await net::async_initiate<const net::use_awaitable_t<>, void()>(start, net::use_awaitable);
    if (call.error) std::rethrow_exception(call.error);
    co_return std::move(*call.value);
  }

  void wake_watchers() {
    std::lock_guard<std::mutex> lock(watchers_mu);
    for (const auto& w : watchers) w->wake_fn()();
  }

  // ---- accepting -------------------------------------------------------

  net::awaitable<void> accept_loop() {
    net::steady_timer backoff(control);
    while (true) {
      error_code ec;
      auto strand = net::make_strand(ioc);
      tcp::socket socket =
          co_await acceptor.async_accept(strand, net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        if (stopping || !acceptor.is_open()) co_return;
        // Out of file descriptors, most likely: breathe, then go on.
        std::cerr << "powerdialer serve: accept: " << ec.message() << "\n";
        backoff.expires_after(std::chrono::milliseconds(100));
        co_await backoff.async_wait(net::redirect_error(net::use_awaitable, ec));
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      const auto peer = socket.remote_endpoint(ec);
      if (ec) continue;  // gone already
      const auto executor = socket.get_executor();
      auto conn = table.admit(peer.address().to_string(), executor);
      // Owned by the coroutine that serves it (raw pointers: see above).
      if (!conn) {
        net::co_spawn(executor, refuse(new tcp::socket(std::move(socket))), net::detached);
        continue;
      }
      ++sessions;
      if (tls) {
        net::co_spawn(executor,
                      session(new beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls),
                              new std::shared_ptr<Connection>(conn)),
                      net::detached);
      } else {
        net::co_spawn(executor,
                      session(new beast::tcp_stream(std::move(socket)),
                              new std::shared_ptr<Connection>(conn)),
                      net::detached);
      }
    }
  }

  // Every connection slot is busy with a request: say so, briefly.
  net::awaitable<void> refuse(tcp::socket* owned) {
    std::unique_ptr<tcp::socket> socket(owned);
    counters.count(503);
    if (!tls) {
      static const std::string kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
          "Retry-After: 5\r\nConnection: close\r\nContent-Length: 50\r\n\r\n"
          "{\"error\":\"too many connections; try again later\"}";
      beast::tcp_stream stream(std::move(*socket));
      stream.expires_after(std::chrono::seconds(5));
      error_code ec;
      co_await net::async_write(stream, net::buffer(kBusy),
                                net::redirect_error(net::use_awaitable, ec));
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  // ---- one connection --------------------------------------------------

  template <class Stream>
  net::awaitable<void> session(Stream* owned, std::shared_ptr<Connection>* owned_conn) {
    std::unique_ptr<Stream> own(owned);
    Stream& stream = *own;
    std::shared_ptr<Connection> conn = std::move(*owned_conn);
    delete owned_conn;
    auto& lowest = beast::get_lowest_layer(stream);
    conn->close = [&lowest] { lowest.close(); };
    if (conn->shed_before_start) lowest.close();
    try {
      co_await serve_connection(stream, *conn);
    } catch (const boost::system::system_error&) {
      // The client went away or was too slow: nothing to tell anyone.
    } catch (const std::exception& e) {
      std::cerr << "powerdialer serve: connection from " << conn->address << ": " << e.what()
                << "\n";
    }
    conn->close = nullptr;
    table.remove(conn);
    if (--sessions == 0 && stopping) net::post(control, [this] { grace.cancel(); });
  }

  template <class Stream>
  net::awaitable<void> serve_connection(Stream& stream, Connection& conn) {
    auto& lowest = beast::get_lowest_layer(stream);
    error_code ec;
    if constexpr (is_tls<Stream>::value) {
      lowest.expires_after(options.header_timeout);
      co_await stream.async_handshake(ssl::stream_base::server,
                                      net::redirect_error(net::use_awaitable, ec));
      if (ec) co_return;
    }
    beast::flat_buffer buffer;
    bool keep_alive = true;
    while (keep_alive && !stopping) {
      conn.awaiting_head = true;
      lowest.expires_after(options.header_timeout);
      Parser parser;
      configure_request_parser(parser, limits);
      co_await http::async_read_header(stream, buffer, parser,
                                       net::redirect_error(net::use_awaitable, ec));
      // On a timeout the stream has closed the socket already: a slow or
      // idle client gets no answer, only the end of the connection.
      if (ec && ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        const std::string why = message_for_parse_error(ec);
        co_await send_bare(stream, status_for_parse_error(ec), why);
        co_return;
      }
      if (ec) co_return;  // the client closed, or we shed the connection
      conn.awaiting_head = false;
      Exchange<Stream> ex{stream, buffer, parser, conn, Steady::now() + options.body_timeout};
      ex.keep_alive = parser.get().keep_alive();
      co_await answer(ex);
      keep_alive = ex.keep_alive;
    }
    if constexpr (is_tls<Stream>::value) {
      lowest.expires_after(std::chrono::seconds(2));
      co_await stream.async_shutdown(net::redirect_error(net::use_awaitable, ec));
    } else {
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  // An answer to a request that could not be parsed; the connection closes.
  template <class Stream>
  net::awaitable<void> send_bare(Stream& stream, int status, const std::string& message) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    res.set("X-Content-Type-Options", "nosniff");
    res.body() = dump({{"error", message}}) + "\n";
    res.keep_alive(false);
    res.prepare_payload();
    counters.count(status);
    beast::get_lowest_layer(stream).expires_after(options.io_timeout);
    error_code ec;
    co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
  }

  // ---- answering -------------------------------------------------------

  template <class Stream>
  net::awaitable<void> answer(Exchange<Stream>& ex) {
    const std::string method(view(ex.head().method_string()));
    const std::string target = ex.target();
    std::string failure;
    try {
      co_await dispatch(ex);
    } catch (const boost::system::system_error&) {
      throw;  // the connection failed: nothing to answer on
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    if (failure.empty()) co_return;
    // A bug, not the client's doing: this request alone fails.
    std::cerr << "powerdialer serve: internal error answering " << method << " "
              << target.substr(0, 200) << ": " << failure << "\n";
    ex.keep_alive = false;
    if (!ex.responded) {
      const ApiResponse r = error_reply(500, "internal error");
      co_await send_json(ex, r, kNoHeaders);
    }
  }

  template <class Stream>
  net::awaitable<void> dispatch(Exchange<Stream>& ex) {
    HeadVerdict v = check_request_head(ex.head(), policy);
    if (v.status != 0 && v.close) {
      ex.keep_alive = false;
      const ApiResponse r = error_reply(v.status, v.message);
      co_return co_await send_json(ex, r, kNoHeaders);
    }
    if (v.needs_token) {
      const std::string authorization = ex.header(http::field::authorization);
      std::function<bool()> verify = [this, &authorization] {
        return tokens.verify_header(authorization);
      };
      const bool ok = co_await on_worker(&verify);
      if (!ok) {
        const ApiResponse r = error_reply(
            401, authorization.empty() ? "missing API token: send 'Authorization: Bearer <token>' "
                                         "(create one with 'powerdialer token create')"
                                       : "invalid API token");
        Headers extra;
        extra.emplace_back("WWW-Authenticate", "Bearer realm=\"powerdialer\"");
        // A stranger's body is not worth reading.
        ex.drop_body = true;
        co_return co_await send_json(ex, r, extra);
      }
    }
    if (v.status != 0) {
      Headers extra;
      if (!v.allow.empty()) extra.emplace_back("Allow", v.allow);
      const ApiResponse r = error_reply(v.status, v.message);
      co_return co_await send_json(ex, r, extra);
    }
    const bool takes_body = v.route == Route::kCreateCampaign || v.route == Route::kPatchConfig ||
                            v.route == Route::kPutList || v.route == Route::kStart ||
                            v.route == Route::kStop || v.route == Route::kDisposition ||
                            v.route == Route::kDncAdd || v.route == Route::kDncLoad ||
                            v.route == Route::kDrainNode;
    if (takes_body && has_body(ex.head())) {
      if (std::string why = unsupported_media_type(v.route, ex.header(http::field::content_type));
          !why.empty()) {
        const ApiResponse r = error_reply(415, why);
        co_return co_await send_json(ex, r, kNoHeaders);
      }
    }
    const std::string& name = v.campaign;
    std::function<ApiResponse()> task;  // the Api call for the simple routes
    std::string body;
    switch (v.route) {
      case Route::kHealthz: {
        static const std::string kType = "text/plain", kOk = "ok\n";
        co_return co_await send_text(ex, 200, kType, kOk, kNoHeaders);
      }
      case Route::kMetrics: {
        auto snap = feed.latest();
        ServerFigures figures;
        figures.requests_by_status = counters.by_status();
        figures.live_feed_clients = feed.subscribers.load();
        static const std::vector<CampaignFrame> kNone;
        static const std::string kType = "text/plain; version=0.0.4; charset=utf-8";
        const std::string text = format_metrics(snap ? snap->campaigns : kNone, figures);
        co_return co_await send_text(ex, 200, kType, text, kNoHeaders);
      }
      case Route::kAsset: {
        const std::string target = ex.target();
        const WebAsset* asset = find_web_asset(target.substr(0, target.find('?')));
        Headers extra;
        extra.emplace_back("Cache-Control", "no-cache");
        extra.emplace_back("X-Frame-Options", "DENY");
        extra.emplace_back("Content-Security-Policy", kDashboardPolicy);
        extra.emplace_back("Referrer-Policy", "no-referrer");
        const std::string type(asset->content_type), content(asset->body);
        co_return co_await send_text(ex, 200, type, content, extra);
      }
      case Route::kListCampaigns:
        task = [this] { return api.list_campaigns(); };
        break;
      case Route::kCampaign:
        task = [this, &name] { return api.get_campaign(name); };
        break;
      case Route::kGetConfig:
        task = [this, &name] { return api.get_config(name); };
        break;
      case Route::kCompliance:
        task = [this, &name] { return api.compliance(name); };
        break;
      case Route::kRejects:
        co_return co_await send_campaign_rows(ex, name, v.route);
      case Route::kCreateCampaign:
        if (!co_await read_small_body(ex, body)) co_return;
        task = [this, &body] { return api.create_campaign(body); };
        break;
      case Route::kPatchConfig:
        if (!co_await read_small_body(ex, body)) co_return;
        task = [this, &name, &body] { return api.patch_config(name, body); };
        break;
      case Route::kStart:
      case Route::kStop:
        // The body (optional JSON) is read and ignored.
        if (!co_await read_small_body(ex, body)) co_return;
        if (v.route == Route::kStart) {
          task = [this, &name] { return api.start(name); };
        } else {
          task = [this, &name] { return api.stop(name); };
        }
        break;
      case Route::kDisposition: {
        if (!co_await read_small_body(ex, body)) co_return;
        const std::string& attempt = v.attempt;
        task = [this, &name, &body, &attempt] { return api.set_disposition(name, attempt, body); };
        break;
      }
      case Route::kPutList:
        co_return co_await upload_list(ex, name);
      case Route::kResults:
        co_return co_await send_campaign_rows(ex, name, v.route);
      case Route::kEvents:
        co_return co_await events(ex);
      case Route::kDncList:
        co_return co_await send_dnc_list(ex);
      case Route::kDncAdd:
        if (!co_await read_small_body(ex, body)) co_return;
        task = [this, &body] { return api.dnc_add(body); };
        break;
      case Route::kDncLoad:
        co_return co_await load_dnc(ex);
      case Route::kNodes:
        task = [this] { return api.nodes(); };
        break;
      case Route::kDrainNode:
        // The body (optional JSON) is read and ignored.
        if (!co_await read_small_body(ex, body)) co_return;
        task = [this] { return api.drain_node(); };
        break;
      case Route::kDncCheck:
      case Route::kDncRemove: {
        std::string region = query_param(ex.target(), "region");
        if (region.empty()) region = "US";
        body = std::move(region);  // kept alive for the task
        if (v.route == Route::kDncCheck) {
          task = [this, &v, &body] { return api.dnc_check(v.number, body); };
        } else {
          task = [this, &v, &body] { return api.dnc_remove(v.number, body); };
        }
        break;
      }
    }
    const ApiResponse r = co_await on_worker(&task);
    co_await send_json(ex, r, kNoHeaders);
  }

  // ---- responses -------------------------------------------------------

  template <class Stream>
  net::awaitable<void> send_text(Exchange<Stream>& ex, int status, const std::string& content_type,
                                 const std::string& body, const Headers& extra) {
    // A body left unread is read and dropped (bounded) so the client sees
    // this answer rather than a reset connection.
    if (!ex.parser.is_done() && ex.drop_body) ex.keep_alive = false;
    if (!ex.parser.is_done() && !ex.drop_body) co_await drain(ex);
    http::response<http::string_body> res{static_cast<http::status>(status), ex.head().version()};
    res.set(http::field::content_type, content_type);
    res.set("X-Content-Type-Options", "nosniff");
    for (const auto& [k, v] : extra) res.set(k, v);
    res.body() = body;
    res.keep_alive(ex.keep_alive);
    res.prepare_payload();
    counters.count(status);
    ex.responded = true;
    beast::get_lowest_layer(ex.stream).expires_after(options.io_timeout);
    co_await http::async_write(ex.stream, res, net::use_awaitable);
  }

  template <class Stream>
  net::awaitable<void> send_json(Exchange<Stream>& ex, const ApiResponse& r, const Headers& extra) {
    const std::string text = dump(r.body) + "\n";
    co_await send_text(ex, r.status, kJsonType, text, extra);
  }

  // ---- request bodies --------------------------------------------------

  // The client waits for "100 Continue" before it sends a large body.
  template <class Stream>
  net::awaitable<void> continue_if_asked(Exchange<Stream>& ex) {
    if (ex.continued || !beast::iequals(ex.header(http::field::expect), "100-continue")) co_return;
    ex.continued = true;
    http::response<http::empty_body> res{http::status::continue_, ex.head().version()};
    beast::get_lowest_layer(ex.stream).expires_after(options.io_timeout);
    co_await http::async_write(ex.stream, res, net::use_awaitable);
  }

  // The next piece of the body into `scratch`; bytes read (0 with the
  // body done, or on error: see ec).
  template <class Stream>
  net::awaitable<size_t> read_piece(Exchange<Stream>& ex, std::vector<char>& scratch,
                                    error_code& ec) {
    co_await continue_if_asked(ex);
    auto& body = ex.parser.get().body();
    body.data = scratch.data();
    body.size = scratch.size();
    body.more = true;
    beast::get_lowest_layer(ex.stream).expires_at(
        std::min(ex.deadline, Steady::now() + options.io_timeout));
    co_await http::async_read_some(ex.stream, ex.buffer, ex.parser,
                                   net::redirect_error(net::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    co_return scratch.size() - body.size;
  }

  // Reads and drops the rest of the body, up to a bound; the connection
  // closes after the answer unless the body ended.
  template <class Stream>
  net::awaitable<void> drain(Exchange<Stream>& ex) {
    const uint64_t bound = 2 * std::max(options.max_list_bytes, options.max_body_bytes);
    const auto declared = ex.parser.content_length_remaining();
    uint64_t total = 0;
    std::vector<char> scratch(kPiece);
    if (!declared || *declared <= bound) {
      while (!ex.parser.is_done() && total <= bound) {
        error_code ec;
        total += co_await read_piece(ex, scratch, ec);
        if (ec) break;
      }
    }
    if (!ex.parser.is_done()) ex.keep_alive = false;
  }

  // What went wrong reading a body, as the client should hear it.
  absl::Status body_error(const error_code& ec, size_t max) const {
    if (ec == beast::error::timeout) {
      return absl::DeadlineExceededError(
          cat("the request body took longer than ", options.body_timeout.count(),
              " s to arrive (or paused for ", options.io_timeout.count(), " s)"));
    }
    if (ec == http::error::body_limit) {
      return absl::ResourceExhaustedError(cat("request body larger than ", max, " bytes"));
    }
    return absl::InvalidArgumentError(cat("the request body was cut short (", ec.message(), ")"));
  }

  // A small JSON body, whole, into `out`; false when an error has been
  // answered instead.
  template <class Stream>
  net::awaitable<bool> read_small_body(Exchange<Stream>& ex, std::string& out) {
    const size_t max = options.max_body_bytes;
    const ApiResponse too_large =
        api_error(absl::ResourceExhaustedError(cat("request body larger than ", max, " bytes")));
    out.clear();
    if (const auto declared = ex.parser.content_length(); declared && *declared > max) {
      ex.keep_alive = false;
      co_await send_json(ex, too_large, kNoHeaders);
      co_return false;
    }
    std::vector<char> scratch(kPiece);
    while (!ex.parser.is_done()) {
      error_code ec;
      const size_t n = co_await read_piece(ex, scratch, ec);
      if (ec) {
        ex.keep_alive = false;
        const ApiResponse r = api_error(body_error(ec, max));
        co_await send_json(ex, r, kNoHeaders);
        co_return false;
      }
      out.append(scratch.data(), n);
      if (out.size() > max) {
        ex.keep_alive = false;
        co_await send_json(ex, too_large, kNoHeaders);
        co_return false;
      }
    }
    co_return true;
  }

  // Loads an uploaded file; `check` says, before it commits, whether the
  // upload arrived whole.
  using Loader =
      std::function<ApiResponse(std::istream&, const std::function<absl::Status()>& check)>;

  // PUT .../list: the body (or the file part of a multipart body) streams
  // through a bounded queue into Api::load_list on a worker, so an upload
  // is never held whole.
  template <class Stream>
  net::awaitable<void> upload_list(Exchange<Stream>& ex, const std::string& name) {
    const std::string append_param = query_param(ex.target(), "append");
    const bool append = append_param == "1" || append_param == "true" || append_param == "yes";
    if (!has_body(ex.head())) {
      std::function<ApiResponse()> task = [this, &name, append] {
        std::istringstream empty;
        return api.load_list(name, append, empty, nullptr);
      };
      const ApiResponse r = co_await on_worker(&task);
      co_return co_await send_json(ex, r, kNoHeaders);
    }
    const Loader load = [this, name, append](std::istream& in,
                                             const std::function<absl::Status()>& check) {
      return api.load_list(name, append, in, check);
    };
    const std::string what = cat("a list into '", name, "'");
    co_return co_await upload(ex, load, what);
  }

  // POST /api/dnc/load: a JSON body names a file the server reads; any
  // other body is the file itself (CSV, or multipart as a list upload).
  template <class Stream>
  net::awaitable<void> load_dnc(Exchange<Stream>& ex) {
    const std::string type = ex.header(http::field::content_type);
    if (!has_body(ex.head()) || type.substr(0, 16) == "application/json") {
      std::string body;
      if (!co_await read_small_body(ex, body)) co_return;
      std::function<ApiResponse()> task = [this, &body] { return api.dnc_load_file(body); };
      const ApiResponse r = co_await on_worker(&task);
      co_return co_await send_json(ex, r, kNoHeaders);
    }
    Api::DncLoadRequest request;
    const std::string target = ex.target();
    request.source = query_param(target, "source");
    request.expires = query_param(target, "expires");
    const std::string replace = query_param(target, "replace_source");
    request.replace_source = replace == "1" || replace == "true" || replace == "yes";
    if (std::string region = query_param(target, "region"); !region.empty()) {
      request.region = std::move(region);
    }
    const Loader load = [this, request](std::istream& in,
                                        const std::function<absl::Status()>& check) {
      return api.dnc_load(request, in, check);
    };
    const std::string what = "a do-not-call list";
    co_return co_await upload(ex, load, what);
  }

  // Streams an uploaded file (the body, or the file part of a multipart
  // body) through a bounded queue into `load` on a worker, so an upload is
  // never held whole; `load` is told, before it commits, whether the upload
  // arrived whole. `what` names the upload in the server's log.
  template <class Stream>
  net::awaitable<void> upload(Exchange<Stream>& ex, const Loader& load, const std::string& what) {
    const size_t max = options.max_list_bytes;
    const auto too_large = absl::ResourceExhaustedError(cat(
        "the list is larger than ", max, " bytes (serve --max-list-bytes); nothing was loaded"));
    if (const auto declared = ex.parser.content_length(); declared && *declared > max) {
      ex.keep_alive = false;
      const ApiResponse r = api_error(too_large);
      co_return co_await send_json(ex, r, kNoHeaders);
    }
    std::optional<MultipartFileReader> multipart;
    if (auto boundary = multipart_boundary(ex.header(http::field::content_type))) {
      if (boundary->empty()) {
        const ApiResponse r = error_reply(400, "multipart/form-data without a boundary parameter");
        co_return co_await send_json(ex, r, kNoHeaders);
      }
      multipart.emplace(std::move(*boundary));
    }

    Waker waker(ex.stream.get_executor());
    auto queue = make_queue(size_t{1} << 20, waker.wake_fn());
    struct UploadOutcome {
      std::mutex mu;
      std::optional<ApiResponse> response;  // guarded by mu
    };
    auto outcome = std::make_shared<UploadOutcome>();
    auto wake = waker.wake_fn();
    net::post(workers, [queue, outcome, wake, load, what] {
      ApiResponse r;
      try {
        QueueInBuf buf(*queue);
        std::istream in(&buf);
        r = load(in, [queue] { return queue->writer_status(); });
        // load_list may stop reading early (a bad header); the rest of
        // the upload is not wanted.
        queue->cancel();
        if (auto s = queue->writer_status();
            !s.ok() && (absl::IsResourceExhausted(s) || absl::IsDeadlineExceeded(s))) {
          r = api_error(s);
        }
      } catch (const std::exception& e) {
        std::cerr << "powerdialer serve: internal error loading " << what << ": " << e.what()
                  << "\n";
        queue->cancel();
        r = error_reply(500, "internal error");
      }
      {
        std::lock_guard<std::mutex> lock(outcome->mu);
        outcome->response = std::move(r);
      }
      wake();
    });
    // Whatever happens here, the worker must not wait on us for ever.
    struct CloseOnExit {
      ByteQueue& q;
      ~CloseOnExit() {
        q.close_writer(absl::InvalidArgumentError("the upload was cut short; nothing was loaded"));
      }
    } close_on_exit{*queue};

    size_t total = 0;
    std::vector<char> scratch(kPiece);
    std::string file;
    while (!ex.parser.is_done() && !queue->writer_closed()) {
      error_code ec;
      const size_t n = co_await read_piece(ex, scratch, ec);
      if (ec) {
        ex.keep_alive = false;
        queue->close_writer(ec == http::error::body_limit ? too_large : [&] {
          absl::Status s = body_error(ec, max);
          return absl::Status(s.code(), cat(sv(s.message()), "; nothing was loaded"));
        }());
        break;
      }
      total += n;
      if (total > max) {
        queue->close_writer(too_large);
        break;
      }
      std::string_view piece(scratch.data(), n);
      if (multipart) {
        file.clear();
        if (auto s = multipart->feed(piece, file); !s.ok()) {
          queue->close_writer(
              absl::InvalidArgumentError(cat(sv(s.message()), "; nothing was loaded")));
          break;
        }
        piece = file;
      }
      while (!piece.empty() && !queue->cancelled()) {
        const size_t taken = queue->try_push(piece);
        piece.remove_prefix(taken);
        if (taken == 0 && co_await waker.wait(ex.deadline)) {
          queue->close_writer(body_error(beast::error::timeout, max));
          break;
        }
      }
      if (multipart && multipart->file_done()) queue->close_writer(absl::OkStatus());
    }
    if (!queue->writer_closed()) {
      queue->close_writer(multipart ? multipart->finish() : absl::OkStatus());
    }
    // The answer, once the import has committed or rolled back.
    while (true) {
      {
        std::lock_guard<std::mutex> lock(outcome->mu);
        if (outcome->response) break;
      }
      co_await waker.wait(Steady::time_point::max());
    }
    ApiResponse r;
    {
      std::lock_guard<std::mutex> lock(outcome->mu);
      r = std::move(*outcome->response);
    }
    co_await send_json(ex, r, kNoHeaders);
  }

  // ---- streamed responses ----------------------------------------------

  // Sends a 200's head for a chunked body (the chunks follow with
  // http::make_chunk), as send_stream and the live feed both begin.
  template <class Stream>
  net::awaitable<void> write_chunked_head(Exchange<Stream>& ex,
                                          http::response<http::empty_body>& res) {
    res.set("X-Content-Type-Options", "nosniff");
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    beast::get_lowest_layer(ex.stream).expires_after(options.io_timeout);
    counters.count(200);
    ex.responded = true;
    co_await http::async_write_header(ex.stream, sr, net::use_awaitable);
  }

  // A chunked response whose body `produce` writes to a std::ostream on a
  // worker, flowing to the client through a bounded queue: memory stays
  // flat and a slow reader slows the producer down. An error from
  // `produce` (or the client going away) cuts the response off without
  // its last chunk, so no client takes a partial body for a whole one.
  template <class Stream>
  net::awaitable<void> send_stream(Exchange<Stream>& ex, const std::string& content_type,
                                   const Headers& extra,
                                   const std::function<absl::Status(std::ostream&)>& produce) {
    if (!ex.parser.is_done()) co_await drain(ex);
    Waker waker(ex.stream.get_executor());
    auto queue = make_queue(4 * kPiece, waker.wake_fn());
    struct CancelOnExit {
      ByteQueue& q;
      ~CancelOnExit() { q.cancel(); }
    } cancel_on_exit{*queue};
    net::post(workers, [queue, produce] {
      absl::Status status;
      try {
        QueueOutBuf buf(*queue);
        std::ostream out(&buf);
        status = produce(out);
        out.flush();
        if (status.ok() && !buf.ok()) status = absl::CancelledError("the client went away");
      } catch (const std::exception& e) {
        std::cerr << "powerdialer serve: internal error streaming a response: " << e.what() << "\n";
        status = absl::InternalError(e.what());
      }
      queue->close_writer(status);
    });

    http::response<http::empty_body> res{http::status::ok, ex.head().version()};
    res.set(http::field::content_type, content_type);
    for (const auto& [k, v] : extra) res.set(k, v);
    res.keep_alive(ex.keep_alive);
    co_await write_chunked_head(ex, res);
    auto& lowest = beast::get_lowest_layer(ex.stream);
    std::string chunk;
    while (true) {
      if (queue->try_pop(chunk)) {
        lowest.expires_after(options.io_timeout);
        const auto body = http::make_chunk(net::buffer(chunk));
        co_await net::async_write(ex.stream, body, net::use_awaitable);
        continue;
      }
      if (queue->writer_closed()) break;
      if (co_await waker.wait(Steady::now() + options.body_timeout)) break;
    }
    if (!queue->writer_closed() || !queue->writer_status().ok()) {
      ex.keep_alive = false;
      lowest.close();
      co_return;
    }
    lowest.expires_after(options.io_timeout);
    const auto last = http::make_chunk_last();
    co_await net::async_write(ex.stream, last, net::use_awaitable);
  }

  // GET .../results (CSV) and GET .../rejects (JSON): the campaign is looked
  // up on a worker, then its rows stream as the store reads them.
  template <class Stream>
  net::awaitable<void> send_campaign_rows(Exchange<Stream>& ex, const std::string& name,
                                          const Route& route) {
    const bool results = route == Route::kResults;
    std::function<absl::StatusOr<Api::CampaignSource>()> task = [this, &name] {
      return api.campaign_source(name);
    };
    auto src = co_await on_worker(&task);
    if (!src.ok()) {
      const ApiResponse r = api_error(src.status());
      co_return co_await send_json(ex, r, kNoHeaders);
    }
    auto shared = std::make_shared<Api::CampaignSource>(std::move(*src));
    Headers extra;
    if (results) {
      extra.emplace_back("Content-Disposition",
                         cat("attachment; filename=\"", name, "-results.csv\""));
    }
    extra.emplace_back("Cache-Control", "no-store");
    const std::function<absl::Status(std::ostream&)> produce =
        [shared, results](std::ostream& out) -> absl::Status {
      if (!results) return write_rejects_json(*shared->store, shared->campaign, out);
      auto rows = export_results(*shared->store, shared->campaign, out);
      return rows.ok() ? absl::OkStatus() : rows.status();
    };
    static const std::string kCsv = "text/csv; charset=utf-8", kJson = "application/json";
    co_await send_stream(ex, results ? kCsv : kJson, extra, produce);
  }

  // GET /api/dnc: the entries as a JSON array, streamed as the store reads
  // them; ?source= one source's, ?after=NUMBER&limit=N a page.
  template <class Stream>
  net::awaitable<void> send_dnc_list(Exchange<Stream>& ex) {
    const std::string target = ex.target();
    auto query = std::make_shared<DncQuery>();
    query->source = query_param(target, "source");
    const std::string after = query_param(target, "after");
    if (const std::string limit = query_param(target, "limit"); !limit.empty()) {
      int64_t n = -1;
      const auto [end, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), n);
      if (ec != std::errc() || end != limit.data() + limit.size() || n < 0) {
        const ApiResponse r = error_reply(400, "'limit' must be a whole number, 0 (all) or more");
        co_return co_await send_json(ex, r, kNoHeaders);
      }
      query->limit = n;
    }
    std::function<absl::StatusOr<StorePool::Handle>()> task = [this, &query, &after] {
      return api.dnc_source(*query, after);
    };
    auto store = co_await on_worker(&task);
    if (!store.ok()) {
      const ApiResponse r = api_error(store.status());
      co_return co_await send_json(ex, r, kNoHeaders);
    }
    auto shared = std::make_shared<StorePool::Handle>(std::move(*store));
    Headers extra;
    extra.emplace_back("Cache-Control", "no-store");
    const std::function<absl::Status(std::ostream&)> produce =
        [shared, query](std::ostream& out) -> absl::Status {
      DncJsonWriter w(out, system_clock().wall_now());
      PD_RETURN_IF_ERROR((*shared)->for_each_dnc(*query, [&](const DncEntry& e) { w.add(e); }));
      w.finish();
      return absl::OkStatus();
    };
    static const std::string kJson = "application/json";
    co_await send_stream(ex, kJson, extra, produce);
  }

  // GET /api/events: server-sent events. A watcher waits on a timer that
  // the feed's listener cancels on each new snapshot, so it holds no
  // thread; a keep-alive comment goes out when nothing else has for 15 s.
  template <class Stream>
  net::awaitable<void> events(Exchange<Stream>& ex) {
    const std::string campaign = query_param(ex.target(), "campaign");
    if (!campaign.empty()) {
      std::function<ApiResponse()> task = [this, &campaign] { return api.get_campaign(campaign); };
      const ApiResponse exists = co_await on_worker(&task);
      if (exists.status != 200) co_return co_await send_json(ex, exists, kNoHeaders);
    }
    if (feed.subscribers.fetch_add(1) >= live_feed_capacity(options.max_connections)) {
      feed.subscribers.fetch_sub(1);
      Headers extra;
      extra.emplace_back("Retry-After", "5");
      const ApiResponse r = error_reply(503, "too many live-feed clients; try again later");
      co_return co_await send_json(ex, r, extra);
    }
    auto waker = std::make_shared<Waker>(ex.stream.get_executor());
    {
      std::lock_guard<std::mutex> lock(watchers_mu);
      watchers.insert(waker);
    }
    struct Leave {
      Impl& impl;
      std::shared_ptr<Waker> waker;
      ~Leave() {
        impl.feed.subscribers.fetch_sub(1);
        std::lock_guard<std::mutex> lock(impl.watchers_mu);
        impl.watchers.erase(waker);
      }
    } leave{*this, waker};
    // Shedding or stopping must also end the wait. (The connection ends
    // with the feed, so its close function stays this one.)
    auto closed = std::make_shared<bool>(false);
    ex.conn.close = [closed, w = waker, inner = ex.conn.close] {
      *closed = true;
      w->timer->cancel();
      if (inner) inner();
    };
    if (!ex.parser.is_done()) co_await drain(ex);

    http::response<http::empty_body> res{http::status::ok, ex.head().version()};
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Accel-Buffering", "no");
    res.keep_alive(false);
    ex.keep_alive = false;
    co_await write_chunked_head(ex, res);
    auto& lowest = beast::get_lowest_layer(ex.stream);

    uint64_t generation = 0;
    auto last_write = Steady::now();
    while (!*closed && !stopping) {
      if (feed.closed()) {
        lowest.expires_after(options.io_timeout);
        const auto last = http::make_chunk_last();
        co_await net::async_write(ex.stream, last, net::use_awaitable);
        co_return;
      }
      std::string out;
      if (auto snap = feed.latest(); snap && snap->generation > generation) {
        generation = snap->generation;
        for (size_t i = 0; i < snap->campaigns.size(); ++i) {
          if (campaign.empty() || snap->campaigns[i].status.campaign.name == campaign) {
            out += snap->events[i];
          }
        }
      }
      const auto now = Steady::now();
      if (out.empty() && now >= last_write + kKeepalive) out = ": keepalive\n\n";
      if (!out.empty()) {
        lowest.expires_after(options.io_timeout);
        const auto chunk = http::make_chunk(net::buffer(out));
        co_await net::async_write(ex.stream, chunk, net::use_awaitable);
        last_write = now;
      }
      co_await waker->wait(last_write + kKeepalive);
    }
  }

  // ---- stopping ----------------------------------------------------------

  void begin_stop() {
    if (stopping.exchange(true)) return;
    error_code ec;
    acceptor.close(ec);
    for (auto& conn : table.all()) conn->shed();
    wake_watchers();
    // Requests in progress get a little time to end; then run() returns.
    grace.expires_after(std::chrono::seconds(10));
    grace.async_wait([this](error_code) { ioc.stop(); });
    if (sessions == 0) grace.cancel();
  }
};

HttpServer::HttpServer(HttpOptions options, Api& api, LiveFeed& feed, TokenVerifier& tokens,
                       HttpCounters& counters)
    : impl_(std::make_unique<Impl>(std::move(options), api, feed, tokens, counters)) {
  feed.set_listener([impl = impl_.get()] { impl->wake_watchers(); });
}

HttpServer::~HttpServer() {
  impl_->feed.set_listener(nullptr);
  impl_->ioc.stop();
  {
    std::lock_guard<std::mutex> lock(impl_->queues_mu);
    for (auto& w : impl_->queues) {
      if (auto q = w.lock()) {
        q->cancel();
        q->close_writer(absl::CancelledError("the server stopped"));
      }
    }
  }
  impl_->workers.join();
}

absl::Status HttpServer::bind() {
  Impl& i = *impl_;
  if (!i.options.tls_cert_file.empty() || !i.options.tls_key_file.empty()) {
    if (i.options.tls_cert_file.empty() || i.options.tls_key_file.empty()) {
      return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
    }
    i.tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    i.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
    error_code ec;
    i.tls->use_certificate_chain_file(i.options.tls_cert_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(cat("cannot use --tls-cert '", i.options.tls_cert_file,
                                            "': ", ec.message(),
                                            " (expected a PEM certificate chain)"));
    }
    i.tls->use_private_key_file(i.options.tls_key_file, ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError(cat("cannot use --tls-key '", i.options.tls_key_file,
                                            "': ", ec.message(),
                                            " (expected the certificate's PEM private key)"));
    }
  }
  // Each connection holds a descriptor; let the caps, not the soft limit,
  // decide how many there may be.
  if (rlimit lim{}; getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &lim);  // best effort: the old limit still works
  }
  auto unavailable = [&](const std::string& why) {
    return absl::UnavailableError(
        cat("cannot listen on ", i.options.host, ":", i.options.port, " (", why, ")"));
  };
  error_code ec;
  tcp::resolver resolver(i.ioc);
  auto endpoints = resolver.resolve(i.options.host, std::to_string(i.options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) return unavailable("not an address of this machine");
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  i.acceptor.open(endpoint.protocol(), ec);
  if (!ec) i.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) i.acceptor.bind(endpoint, ec);
  if (!ec) i.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    i.acceptor.close(ignored);
    return unavailable(ec == net::error::address_in_use
                           ? "in use"
                           : cat("not an address of this machine: ", ec.message()));
  }
  i.port = i.acceptor.local_endpoint().port();
  return absl::OkStatus();
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::run() {
  Impl& i = *impl_;
  net::co_spawn(i.control, i.accept_loop(), net::detached);
  std::vector<std::thread> threads;
  for (int n = 1; n < std::max(1, i.options.io_threads); ++n) {
    threads.emplace_back([&i] { i.ioc.run(); });
  }
  i.ioc.run();
  for (auto& t : threads) t.join();
}

void HttpServer::stop() {
  net::post(impl_->control, [impl = impl_.get()] { impl->begin_stop(); });
}

}  // namespace pd
