#include "server/http_request_check.h"

#include <gtest/gtest.h>

#include <boost/beast/http/empty_body.hpp>
#include <string>

namespace pd {
namespace {

namespace http = boost::beast::http;

// Parses `raw` with the server's parser set-up; the error, if any.
struct Parsed {
  boost::system::error_code ec;
  http::request_header<> head;
};
Parsed parse(const std::string& raw, ParserLimits limits = {}) {
  http::request_parser<http::empty_body> parser;
  configure_request_parser(parser, limits);
  Parsed out;
  parser.put(boost::asio::buffer(raw), out.ec);
  if (!out.ec && !parser.is_header_done()) out.ec = http::error::need_more;
  if (!out.ec) out.head = parser.get().base();
  return out;
}

HeadVerdict verdict(const std::string& raw, const HeadPolicy& policy = {}) {
  Parsed p = parse(raw);
  EXPECT_FALSE(p.ec) << p.ec.message() << " in " << raw;
  return check_request_head(p.head, policy);
}

TEST(HttpRequestCheck, ParserRefusesBadLengthsAndSmuggling) {
  for (const char* raw : {
           "POST /api/campaigns HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
           "POST /api/campaigns HTTP/1.1\r\nHost: x\r\nContent-Length: "
           "99999999999999999999\r\n\r\n",
           "POST /api/campaigns HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: "
           "4\r\n\r\n",
           "POST /api/campaigns HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
           "Transfer-Encoding: chunked\r\n\r\n",
           "POST /api/campaigns HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
           "Content-Length: 3\r\n\r\n",
       }) {
    Parsed p = parse(raw);
    ASSERT_TRUE(p.ec) << raw;
    EXPECT_EQ(status_for_parse_error(p.ec), 400) << raw;
  }
}

TEST(HttpRequestCheck, OversizedHeadIs431) {
  Parsed p = parse("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  ASSERT_TRUE(p.ec);
  EXPECT_EQ(status_for_parse_error(p.ec), 431);
}

TEST(HttpRequestCheck, FramingTheParserLetsThroughIsStillRefused) {
  // Beast takes a Transfer-Encoding other than chunked beside a length.
  HeadVerdict v = verdict(
      "POST /api/campaigns HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: "
      "3\r\n\r\n");
  EXPECT_EQ(v.status, 400);
  EXPECT_TRUE(v.close);
  v = verdict("POST /api/campaigns HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\n");
  EXPECT_EQ(v.status, 400);
  // 2^64-1 fits Beast's integer; it is still no length to wait for.
  v = verdict(
      "POST /api/campaigns HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n");
  EXPECT_EQ(v.status, 400);
  v = verdict(
      "POST /api/campaigns HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\n");
  EXPECT_EQ(v.status, 400);
  v = verdict("POST /api/campaigns HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 12\r\n\r\n");
  EXPECT_EQ(v.status, 0);
}

TEST(HttpRequestCheck, HostMustBeAnAddressLocalhostOrAllowed) {
  EXPECT_TRUE(host_allowed("127.0.0.1", {}));
  EXPECT_TRUE(host_allowed("127.0.0.1:8080", {}));
  EXPECT_TRUE(host_allowed("[::1]:8080", {}));
  EXPECT_TRUE(host_allowed("[::1]", {}));
  EXPECT_TRUE(host_allowed("10.1.2.3", {}));
  EXPECT_TRUE(host_allowed("localhost:9", {}));
  EXPECT_TRUE(host_allowed("LocalHost.", {}));
  EXPECT_FALSE(host_allowed("evil.example", {}));
  EXPECT_FALSE(host_allowed("evil.example:8080", {}));
  EXPECT_FALSE(host_allowed("127.0.0.1.evil.example", {}));
  EXPECT_FALSE(host_allowed("300.1.1.1", {}));
  EXPECT_FALSE(host_allowed("", {}));
  EXPECT_FALSE(host_allowed("a b", {}));
  EXPECT_FALSE(host_allowed("127.0.0.1:80:80", {}));
  EXPECT_TRUE(host_allowed("Dialer.Example.com:443", {"dialer.example.com"}));
  EXPECT_FALSE(host_allowed("other.example.com", {"dialer.example.com"}));

  HeadVerdict v = verdict("GET /metrics HTTP/1.1\r\nHost: rebound.example\r\n\r\n");
  EXPECT_EQ(v.status, 421);
  EXPECT_NE(v.message.find("--allowed-host"), std::string::npos);
  v = verdict("GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(v.status, 400);  // HTTP/1.1 needs a Host
  v = verdict("GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(v.status, 0);
}

TEST(HttpRequestCheck, RoutesMethodsAndTokens) {
  HeadVerdict v = verdict("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.route, Route::kHealthz);
  EXPECT_FALSE(v.needs_token);

  v = verdict("PUT /api/campaigns/spring/list?append=1 HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.route, Route::kPutList);
  EXPECT_EQ(v.campaign, "spring");
  EXPECT_TRUE(v.needs_token);

  v = verdict("GET /api/campaigns/spring/compliance HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.route, Route::kCompliance);
  EXPECT_EQ(v.campaign, "spring");
  EXPECT_TRUE(v.needs_token);
  v = verdict("POST /api/campaigns/spring/compliance HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.status, 405);

  v = verdict("DELETE /api/campaigns/spring HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.status, 405);
  EXPECT_EQ(v.allow, "GET");
  EXPECT_TRUE(v.needs_token);  // the token is checked before a 405
  v = verdict("OPTIONS /api/campaigns HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.status, 405);
  EXPECT_EQ(v.allow, "GET, POST");
  v = verdict("DELETE /api/campaigns/x/config HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.allow, "GET, PATCH");
  v = verdict("POST / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.status, 405);
  v = verdict("GET /nothing-here HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.status, 404);
  v = verdict("GET /api/nothing HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.status, 404);
  EXPECT_TRUE(v.needs_token);
  v = verdict("GET /api/campaigns/a%2fb HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.status, 404);
  v = verdict("GET http://evil/api/campaigns HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.status, 400);

  // Dialer nodes: both need the token; drain is a POST.
  v = verdict("GET /api/nodes HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.route, Route::kNodes);
  EXPECT_TRUE(v.needs_token);
  v = verdict("POST /api/node/drain HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.route, Route::kDrainNode);
  EXPECT_TRUE(v.needs_token);
  v = verdict("GET /api/node/drain HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(v.status, 405);
  EXPECT_EQ(v.allow, "POST");

  HeadPolicy policy;
  policy.metrics_need_token = true;
  v = verdict("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", policy);
  EXPECT_TRUE(v.needs_token);
}

TEST(HttpRequestCheck, MediaTypes) {
  for (const char* ok : {"", "text/csv", "text/csv; charset=utf-8", "TEXT/PLAIN",
                         "application/octet-stream", "multipart/form-data; boundary=x"}) {
    EXPECT_EQ(unsupported_media_type(Route::kPutList, ok), "") << ok;
  }
  const std::string why = unsupported_media_type(Route::kPutList, "application/json");
  EXPECT_NE(why.find("text/csv"), std::string::npos);
  EXPECT_NE(why.find("multipart/form-data"), std::string::npos);
  EXPECT_EQ(unsupported_media_type(Route::kCreateCampaign, "application/json; charset=utf-8"), "");
  EXPECT_EQ(unsupported_media_type(Route::kCreateCampaign, ""), "");
  // curl -d's default.
  EXPECT_EQ(unsupported_media_type(Route::kPatchConfig, "application/x-www-form-urlencoded"), "");
  EXPECT_NE(unsupported_media_type(Route::kPatchConfig, "text/csv"), "");
  EXPECT_NE(unsupported_media_type(Route::kCreateCampaign, "multipart/form-data; boundary=x")
                .find("application/json"),
            std::string::npos);

  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=----abc"), "----abc");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data; charset=x; boundary=\"a b\""), "a b");
  EXPECT_EQ(multipart_boundary("multipart/form-data"), "");
  EXPECT_EQ(multipart_boundary("text/csv"), std::nullopt);
}

TEST(HttpRequestCheck, QueryParameters) {
  EXPECT_EQ(query_param("/api/events?campaign=spring", "campaign"), "spring");
  EXPECT_EQ(query_param("/x?a=1&campaign=s%2Dp+q", "campaign"), "s-p q");
  EXPECT_EQ(query_param("/x?campaignx=1", "campaign"), "");
  EXPECT_EQ(query_param("/x", "campaign"), "");
  EXPECT_EQ(query_param("/x?append", "append"), "");
  EXPECT_EQ(query_param("/x?a=%", "a"), "%");
}

}  // namespace
}  // namespace pd
