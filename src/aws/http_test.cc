#include "aws/http.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "aws/aws_test_util.h"
#include "core/strings.h"

namespace pd::aws {
namespace {

using testing::LocalServer;

TEST(HttpClient, SendsMethodHeadersAndBodyAndLowerCasesResponseHeaders) {
  LocalServer s;
  std::mutex mu;
  httplib::Request seen;
  s.server().Put("/things/1", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen = req;
    }
    res.status = 201;
    res.set_header("X-Amzn-RequestId", "req-1");
    res.set_content("created", "text/plain");
  });
  s.start();

  HttpClient http;
  const std::string big(100'000, 'b');  // large enough that curl would ask for 100-continue
  auto resp = http.send({"PUT", s.url("/things/1?a=1"), {{"X-Custom", "v"}}, big});
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 201);
  EXPECT_EQ(resp->body, "created");
  EXPECT_EQ(resp->header("x-amzn-requestid"), "req-1");
  EXPECT_EQ(resp->header("X-AMZN-REQUESTID"), "req-1");
  for (const auto& [name, value] : resp->headers) EXPECT_EQ(name, to_lower(name));

  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen.method, "PUT");
  EXPECT_EQ(seen.body, big);
  EXPECT_EQ(seen.get_param_value("a"), "1");
  EXPECT_EQ(seen.get_header_value("X-Custom"), "v");
  EXPECT_FALSE(seen.has_header("Expect"));
  // Not labelled as a form when the caller gave no type.
  EXPECT_FALSE(seen.has_header("Content-Type"));
}

TEST(HttpClient, EmptyPutDeleteAndErrorStatusesAreResponses) {
  LocalServer s;
  std::mutex mu;
  std::vector<std::string> seen;
  auto record = [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(req.method + " " + req.get_header_value("Content-Length"));
    res.status = 404;
    res.set_content(R"({"message":"no"})", "application/json");
  };
  s.server().Put("/x", record);
  s.server().Delete("/x", record);
  s.server().Post("/x", record);
  s.start();

  HttpClient http;
  for (const char* method : {"PUT", "DELETE", "POST"}) {
    auto resp = http.send({method, s.url("/x"), {}, ""});
    ASSERT_TRUE(resp.ok()) << method << ": " << resp.status();
    EXPECT_EQ(resp->status, 404);
    EXPECT_EQ(resp->body, R"({"message":"no"})");
  }
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], "PUT 0");
  EXPECT_EQ(seen[1].substr(0, 6), "DELETE");
  EXPECT_EQ(seen[2], "POST 0");
}

TEST(HttpClient, ReusesTheConnectionOnTheSameThread) {
  LocalServer s(/*keep_alive=*/true);
  std::mutex mu;
  std::vector<int> ports;
  s.server().Get("/ping", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    ports.push_back(req.remote_port);
    res.set_content("pong", "text/plain");
  });
  s.start();
  HttpClient http;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(http.send({"GET", s.url("/ping"), {}, ""}).ok());
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0], ports[1]);
  EXPECT_EQ(ports[1], ports[2]);
}

TEST(HttpClient, RefusedConnectionIsUnavailableNamingTheUrl) {
  HttpClient http;
  // Port 1 on loopback: nothing listens there.
  auto resp = http.send({"GET", "http://127.0.0.1:1/path", {}, ""});
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(resp.status().message().find("http://127.0.0.1:1/path"), absl::string_view::npos)
      << resp.status();
}

TEST(HttpClient, TimeoutIsUnavailable) {
  LocalServer s;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  s.server().Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    res.set_content("late", "text/plain");
  });
  s.start();
  HttpClient http(HttpOptions{std::chrono::milliseconds(1000), std::chrono::milliseconds(5000)});
  HttpRequest req{"GET", s.url("/slow"), {}, ""};
  req.timeout = std::chrono::milliseconds(200);  // the per-request override wins
  auto resp = http.send(req);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(resp.status().message().find("/slow"), absl::string_view::npos);
  EXPECT_NE(to_lower(pd::sv(resp.status().message())).find("timed out"), std::string::npos)
      << resp.status();
}

TEST(HttpSplitUrl, SplitsAndDropsDefaultPorts) {
  auto u = split_url("HTTPS://Connect.us-east-1.amazonaws.com:443/contact/outbound-voice?a=b#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "connect.us-east-1.amazonaws.com");
  EXPECT_EQ(u->path, "/contact/outbound-voice");
  EXPECT_EQ(u->query, "a=b");
  u = split_url("http://127.0.0.1:8080");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1:8080");
  EXPECT_EQ(u->path, "/");
  u = split_url("http://user@host?x");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "host");
  EXPECT_EQ(u->query, "x");
  EXPECT_FALSE(split_url("no-scheme/path").ok());
  EXPECT_FALSE(split_url("http:///path").ok());
}

}  // namespace
}  // namespace pd::aws
