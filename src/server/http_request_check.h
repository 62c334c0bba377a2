// What `serve` decides from a request's head alone, before any body byte is
// read: whether the framing is sound (one Content-Length, no
// Content-Length beside Transfer-Encoding), whether the Host is one this
// server answers for (DNS rebinding), which route the method and path
// name, and whether the body's media type fits the route. Pure functions
// over a parsed Beast header, so they are unit-tested and fuzzed without
// sockets (fuzz/http_request_fuzz.cc).
//
// Thread-safety: pure.
#pragma once

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it
#include <vector>

namespace pd {

// How the server's request parser is set up: the fuzz harness configures
// its parser with the same function so it sees what the server sees.
struct ParserLimits {
  size_t header_bytes = 16 * 1024;
};
template <class Body>
void configure_request_parser(boost::beast::http::request_parser<Body>& parser,
                              const ParserLimits& limits) {
  parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
  // No limit here: each route holds the body to its own limit (413) as
  // the bytes arrive, and framing_error() answers an absurd length (400).
  // (Not boost::none: Beast 1.74 compares a length with the empty optional
  // and refuses every body.)
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.eager(false);
}

// The status for a request the parser refused: 431 for too large a head,
// 413 for too large a body, 400 otherwise (bad Content-Length, both
// Content-Length and Transfer-Encoding, bad syntax). The connection is
// closed after the answer in every case.
int status_for_parse_error(const boost::system::error_code& ec);
std::string message_for_parse_error(const boost::system::error_code& ec);

enum class Route {
  kHealthz,
  kMetrics,
  kListCampaigns,
  kCreateCampaign,
  kCampaign,
  kGetConfig,
  kPatchConfig,
  kPutList,
  kStart,
  kStop,
  kRejects,
  kResults,
  kCompliance,
  kEvents,
  kDisposition,  // POST /api/campaigns/NAME/attempts/ID/disposition
  kAsset,  // the dashboard's files
  // The store-wide do-not-call list.
  kDncList,    // GET /api/dnc
  kDncAdd,     // POST /api/dnc
  kDncLoad,    // POST /api/dnc/load
  kDncCheck,   // GET /api/dnc/NUMBER
  kDncRemove,  // DELETE /api/dnc/NUMBER
  // Dialer nodes sharing the store.
  kNodes,      // GET /api/nodes
  kDrainNode,  // POST /api/node/drain
};

struct HeadPolicy {
  // Host names (besides IP literals and "localhost") this server answers
  // for: serve --allowed-host.
  std::vector<std::string> allowed_hosts;
  bool metrics_need_token = false;
};

// The verdict on a request head. status 0: go on with `route`.
struct HeadVerdict {
  int status = 0;
  std::string message;
  std::string allow;   // the Allow header of a 405
  bool close = false;  // framing errors: answer, then close the connection
  bool needs_token = false;
  Route route = Route::kHealthz;
  std::string campaign;  // routes under /api/campaigns/NAME
  // kDisposition: the attempt in the path, its id or its call's contact id.
  std::string attempt;
  std::string number;    // /api/dnc/NUMBER, percent-decoded
};

// Framing and Host, then (when those pass) the route. A request under
// /api gets needs_token even when its route is unknown (404/405), so the
// caller checks the token before it answers anything but a framing or
// Host error.
HeadVerdict check_request_head(const boost::beast::http::request_header<>& head,
                               const HeadPolicy& policy);

// Framing alone: "" when sound, else why not (a 400 that closes).
std::string framing_error(const boost::beast::http::request_header<>& head);
// IP literals ("127.0.0.1", "[::1]", with or without ":port"), "localhost"
// and the allowed names (any case, optional trailing dot) pass.
bool host_allowed(std::string_view host, const std::vector<std::string>& allowed);
// The route of `path` (no query) for `method`; 404/405 verdicts otherwise.
HeadVerdict match_route(boost::beast::http::verb method, std::string_view path,
                        const HeadPolicy& policy);

// Whether the request carries a body: a Content-Length above 0, or chunked.
bool has_body(const boost::beast::http::request_header<>& head);

// The media type checks for a body: "" when `content_type` fits `route`,
// else the 415 message naming the types that work. A list takes text/csv,
// text/plain, application/octet-stream, multipart/form-data or none (a
// do-not-call load takes those and application/json, naming a file); the
// JSON routes take application/json, none, or curl -d's default
// application/x-www-form-urlencoded (the body must be JSON all the same).
std::string unsupported_media_type(Route route, std::string_view content_type);
// "multipart/form-data; boundary=xyz" -> "xyz" (quotes removed); nullopt
// when the type is not multipart/form-data, "" when the boundary is missing.
std::optional<std::string> multipart_boundary(std::string_view content_type);

// The value of `key` in the target's query string, percent-decoded; "" if
// absent.
std::string query_param(std::string_view target, std::string_view key);

}  // namespace pd
