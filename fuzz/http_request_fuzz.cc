// libFuzzer harness: arbitrary bytes as an HTTP request, through a Beast
// request parser set up exactly as `serve` sets up its own
// (configure_request_parser), then the server's request-head checks and
// body-related helpers. Nothing here may crash, hang or trip a sanitizer.
//
// Needs powerdialer_lib's src/server/http_request_check.cc and
// src/server/multipart_reader.cc (and the generated web assets, which
// match_route consults), Boost headers and absl::status.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>  // first: Boost 1.74's asio uses std::exchange without including it

#include "server/http_request_check.h"
#include "server/multipart_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = boost::beast::http;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  http::request_parser<http::buffer_body> parser;
  pd::ParserLimits limits;
  limits.header_bytes = 4096;  // small, so the fuzzer reaches the limit too
  pd::configure_request_parser(parser, limits);

  boost::system::error_code ec;
  size_t used = 0;
  // Fed in two pieces, as a socket would deliver them; what the parser has
  // not consumed stays buffered, as in the server's flat_buffer.
  std::string buffered;
  const size_t split = size / 2;
  for (std::string_view piece : {input.substr(0, split), input.substr(split)}) {
    buffered.append(piece);
    while (!buffered.empty() && !parser.is_header_done()) {
      const size_t n = parser.put(boost::asio::buffer(buffered.data(), buffered.size()), ec);
      used += n;
      buffered.erase(0, n);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec || n == 0) break;
    }
    if (ec || parser.is_header_done()) break;
  }
  if (ec) {
    const int status = pd::status_for_parse_error(ec);
    if (status != 400 && status != 413 && status != 431) __builtin_trap();
    (void)pd::message_for_parse_error(ec);
    return 0;
  }
  if (!parser.is_header_done()) return 0;

  const auto& head = parser.get().base();
  pd::HeadPolicy policy;
  policy.allowed_hosts = {"dialer.example"};
  const pd::HeadVerdict verdict = pd::check_request_head(head, policy);
  if (verdict.status == 405 && verdict.allow.empty()) __builtin_trap();
  (void)pd::has_body(head);
  const auto type = head.find(http::field::content_type);
  const std::string content_type =
      type == head.end() ? std::string() : std::string(type->value().data(), type->value().size());
  (void)pd::unsupported_media_type(verdict.route, content_type);
  const std::string target(head.target().data(), head.target().size());
  (void)pd::query_param(target, "campaign");
  (void)pd::query_param(target, "append");

  // The rest of the input as a multipart body, when the head says so.
  if (auto boundary = pd::multipart_boundary(content_type); boundary && !boundary->empty()) {
    pd::MultipartFileReader reader(*boundary);
    std::string file;
    const std::string_view body = input.substr(std::min(used, input.size()));
    for (size_t i = 0; i < body.size(); i += 7) {
      if (!reader.feed(body.substr(i, 7), file).ok()) break;
      if (file.size() > body.size()) __builtin_trap();  // never more out than in
    }
    (void)reader.finish();
  }
  return 0;
}
