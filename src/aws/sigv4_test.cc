#include "aws/sigv4.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/strings.h"
#include "core/time_format.h"

#ifndef PD_FIXTURES_DIR
#error "PD_FIXTURES_DIR must point at tests/fixtures"
#endif

namespace pd::aws {
namespace {

namespace fs = std::filesystem;

const fs::path kSuiteDir = fs::path(PD_FIXTURES_DIR) / "sigv4-test-suite";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string without_trailing_newline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// A raw HTTP request as the suite writes it: "METHOD target HTTP/1.1", then
// headers (indented lines continue the previous one), a blank line, a body.
struct RawRequest {
  std::string method;
  std::string path;
  std::string query;
  Headers headers;
  std::string body;
};

RawRequest parse_request(const std::string& text) {
  RawRequest r;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  const size_t sp = line.find(' ');
  const size_t version = line.rfind(" HTTP/");
  r.method = line.substr(0, sp);
  const std::string target = line.substr(sp + 1, version - sp - 1);
  const size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;
    if (std::isspace(static_cast<unsigned char>(line.front())) && !r.headers.empty()) {
      r.headers.back().second += cat(" ", trim(line));
      continue;
    }
    const size_t colon = line.find(':');
    r.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  std::ostringstream rest;
  rest << in.rdbuf();
  r.body = rest.str();
  return r;
}

std::string header_named(const Headers& headers, std::string_view lower) {
  for (const auto& [k, v] : headers)
    if (to_lower(k) == lower) return v;
  return {};
}

struct SuiteCase {
  std::string name;
  RawRequest request;
  Credentials credentials;
  std::string region;
  std::string service;
  WallTime time;
  SigningOptions options;
};

SuiteCase load_case(const std::string& name) {
  const fs::path dir = kSuiteDir / name;
  SuiteCase c;
  c.name = name;
  c.request = parse_request(read_file(dir / "request.txt"));
  const auto ctx = nlohmann::json::parse(read_file(dir / "context.json"));
  c.credentials.access_key_id = ctx["credentials"]["access_key_id"];
  c.credentials.secret_access_key = ctx["credentials"]["secret_access_key"];
  c.credentials.session_token = ctx["credentials"].value("token", "");
  c.region = ctx["region"];
  c.service = ctx["service"];
  c.time = parse_iso8601(ctx["timestamp"].get<std::string>()).value();
  c.options.normalize_path = ctx.value("normalize", true);
  c.options.double_encode_path = true;  // the suite's paths are raw: encoded once
  c.options.add_content_sha256 = ctx.value("sign_body", false);
  c.options.omit_session_token = ctx.value("omit_session_token", false);
  return c;
}

std::vector<std::string> suite_cases() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kSuiteDir))
    if (entry.is_directory() && fs::exists(entry.path() / "header-signature.txt"))
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

SecretLookup lookup_for(const Credentials& c) {
  return [c](std::string_view id) -> std::optional<std::string> {
    if (id == c.access_key_id) return c.secret_access_key;
    return std::nullopt;
  };
}

class Sigv4Suite : public ::testing::TestWithParam<std::string> {};

TEST(Sigv4SuiteFixtures, AreAllThere) {
  // The parameterised suite below silently runs nothing if the path is wrong.
  EXPECT_GE(suite_cases().size(), 30u) << kSuiteDir;
}

TEST_P(Sigv4Suite, SignsAsTheSuiteExpects) {
  const SuiteCase c = load_case(GetParam());
  const fs::path dir = kSuiteDir / c.name;
  HttpRequest req;
  req.method = c.request.method;
  req.url = cat("https://", header_named(c.request.headers, "host"), c.request.path,
                c.request.query.empty() ? "" : "?", c.request.query);
  req.headers = c.request.headers;
  req.body = c.request.body;

  auto signed_req = sign_request(req, c.credentials, c.region, c.service, c.time, c.options);
  ASSERT_TRUE(signed_req.ok()) << signed_req.status();
  EXPECT_EQ(signed_req->canonical_request,
            without_trailing_newline(read_file(dir / "header-canonical-request.txt")));
  EXPECT_EQ(signed_req->string_to_sign,
            without_trailing_newline(read_file(dir / "header-string-to-sign.txt")));
  EXPECT_EQ(signed_req->signature,
            without_trailing_newline(read_file(dir / "header-signature.txt")));

  const RawRequest expected = parse_request(read_file(dir / "header-signed-request.txt"));
  EXPECT_EQ(header_named(req.headers, "authorization"),
            header_named(expected.headers, "authorization"));
  EXPECT_EQ(header_named(req.headers, "x-amz-security-token"),
            header_named(expected.headers, "x-amz-security-token"));
}

TEST_P(Sigv4Suite, VerifyAcceptsTheSignedRequestAndRejectsATamperedOne) {
  const SuiteCase c = load_case(GetParam());
  const fs::path dir = kSuiteDir / c.name;
  VerifyOptions vo;
  vo.now = c.time + std::chrono::minutes(3);
  vo.signing = c.options;

  // The suite's own signed request, as a server would receive it.
  const RawRequest r = parse_request(read_file(dir / "header-signed-request.txt"));
  absl::Status ok =
      verify_request(r.method, r.path, r.query, r.headers, r.body, lookup_for(c.credentials), vo);
  EXPECT_TRUE(ok.ok()) << ok;

  // A different body (its hash is signed even when no header carries it).
  absl::Status tampered = verify_request(r.method, r.path, r.query, r.headers, r.body + "x",
                                         lookup_for(c.credentials), vo);
  EXPECT_EQ(tampered.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(sigv4_error_code(tampered), c.options.add_content_sha256 ? "XAmzContentSHA256Mismatch"
                                                                     : "InvalidSignatureException")
      << tampered;

  // A different path.
  tampered = verify_request(r.method, r.path + "x", r.query, r.headers, r.body,
                            lookup_for(c.credentials), vo);
  EXPECT_EQ(sigv4_error_code(tampered), "InvalidSignatureException") << tampered;

  // Another method.
  tampered = verify_request(r.method == "GET" ? "POST" : "GET", r.path, r.query, r.headers, r.body,
                            lookup_for(c.credentials), vo);
  EXPECT_EQ(sigv4_error_code(tampered), "InvalidSignatureException") << tampered;
}

INSTANTIATE_TEST_SUITE_P(Sigv4TestSuite, Sigv4Suite, ::testing::ValuesIn(suite_cases()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string n = param.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// Signing key and signature for the documented example
// (https://docs.aws.amazon.com/general/latest/gr/signature-v4-examples.html).
TEST(Sigv4, DerivesTheDocumentedSigningKey) {
  EXPECT_EQ(hex_encode(signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                   "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(Sigv4, EncodesOnlyWhatRfc3986Reserves) {
  EXPECT_EQ(uri_encode("a b/c~d-e_f.g+h=i"), "a%20b%2Fc~d-e_f.g%2Bh%3Di");
  EXPECT_EQ(uri_encode("a b/c", /*keep_slash=*/true), "a%20b/c");
  EXPECT_EQ(uri_encode("\xE1\x88\xB4"), "%E1%88%B4");
  EXPECT_EQ(percent_decode("%E1%88%B4%2f%zz%"), "\xE1\x88\xB4/%zz%");
}

TEST(Sigv4, CanonicalQuerySortsAndReencodes) {
  EXPECT_EQ(canonical_query("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
  EXPECT_EQ(canonical_query("k=a%20b&k2=a+b&%7e=x"), "k=a%20b&k2=a%2Bb&~=x");
  EXPECT_EQ(canonical_query(""), "");
}

TEST(Sigv4, S3SignsThePathAsSentAndItsPayloadHash) {
  HttpRequest req{
      "PUT", "https://bucket.s3.us-east-1.amazonaws.com/dir/a%20b//./c.csv", {}, "body"};
  Credentials creds{"AKID", "SECRET", "", std::nullopt, "test"};
  const WallTime t = parse_iso8601("2024-01-02T03:04:05Z").value();
  auto s = sign_request(req, creds, "us-east-1", "s3", t);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NE(s->canonical_request.find("\n/dir/a%20b//./c.csv\n"), std::string::npos)
      << s->canonical_request;
  EXPECT_NE(s->canonical_request.find(cat("x-amz-content-sha256:", sha256_hex("body"))),
            std::string::npos);

  // Other services normalise and encode the encoded path again.
  HttpRequest other{"GET", "https://connect.us-east-1.amazonaws.com/users/a%3Ab/./x", {}, ""};
  auto o = sign_request(other, creds, "us-east-1", "connect", t);
  ASSERT_TRUE(o.ok());
  EXPECT_NE(o->canonical_request.find("\n/users/a%253Ab/x\n"), std::string::npos)
      << o->canonical_request;
  EXPECT_EQ(o->canonical_request.find("x-amz-content-sha256"), std::string::npos);
}

TEST(Sigv4, AddsHostWithNonDefaultPortAndTheSessionToken) {
  HttpRequest req{
      "POST", "http://127.0.0.1:8123/contact/outbound-voice", {{"User-Agent", "x"}}, "{}"};
  Credentials creds{"AKID", "SECRET", "TOKEN", std::nullopt, "test"};
  auto s = sign_request(req, creds, "eu-west-2", "connect", WallTime{});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(header_named(req.headers, "host"), "127.0.0.1:8123");
  EXPECT_EQ(header_named(req.headers, "x-amz-security-token"), "TOKEN");
  EXPECT_EQ(header_named(req.headers, "x-amz-date"), "19700101T000000Z");
  // user-agent is left out of the signature (proxies rewrite it).
  EXPECT_NE(s->authorization.find("SignedHeaders=host;x-amz-date;x-amz-security-token,"),
            std::string::npos)
      << s->authorization;

  HttpRequest https{"GET", "HTTPS://Example.com:443", {}, ""};
  ASSERT_TRUE(sign_request(https, creds, "r", "s", WallTime{}).ok());
  EXPECT_EQ(header_named(https.headers, "host"), "example.com");

  HttpRequest bad{"GET", "/no/scheme", {}, ""};
  EXPECT_EQ(sign_request(bad, creds, "r", "s", WallTime{}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

class Sigv4Verify : public ::testing::Test {
 protected:
  Sigv4Verify() {
    req_ = HttpRequest{"POST",
                       "http://localhost:9000/contact/outbound-voice?x=a%20b",
                       {{"Content-Type", "application/json"}},
                       R"({"ClientToken":"t"})"};
    auto s = sign_request(req_, creds_, "us-east-1", "connect", t_);
    EXPECT_TRUE(s.ok());
  }
  absl::Status verify(const Headers& headers, std::string_view body,
                      std::chrono::minutes skew = std::chrono::minutes(0)) {
    VerifyOptions vo;
    vo.now = t_ + skew;
    return verify_request("POST", "/contact/outbound-voice", "x=a%20b", headers, body,
                          lookup_for(creds_), vo);
  }
  Credentials creds_{"AKIDTEST", "secret/key", "", std::nullopt, "test"};
  WallTime t_ = parse_iso8601("2025-06-01T10:00:00Z").value();
  HttpRequest req_;
};

TEST_F(Sigv4Verify, AcceptsItsOwnSignature) { EXPECT_TRUE(verify(req_.headers, req_.body).ok()); }

TEST_F(Sigv4Verify, NamesAMissingAuthorizationHeader) {
  Headers h = req_.headers;
  std::erase_if(h, [](const auto& kv) { return kv.first == "Authorization"; });
  const absl::Status s = verify(h, req_.body);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(sigv4_error_code(s), "MissingAuthenticationToken");
}

TEST_F(Sigv4Verify, NamesAnUnknownAccessKey) {
  Credentials other = creds_;
  other.access_key_id = "AKIDOTHER";
  HttpRequest r{"POST", req_.url, {{"Content-Type", "application/json"}}, req_.body};
  ASSERT_TRUE(sign_request(r, other, "us-east-1", "connect", t_).ok());
  const absl::Status s = verify(r.headers, r.body);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(sigv4_error_code(s), "UnrecognizedClientException");
  EXPECT_NE(s.message().find("AKIDOTHER"), absl::string_view::npos);
}

TEST_F(Sigv4Verify, RejectsAWrongSecretAndATamperedSignedHeader) {
  Credentials wrong = creds_;
  wrong.secret_access_key = "not-the-secret";
  HttpRequest r{"POST", req_.url, {{"Content-Type", "application/json"}}, req_.body};
  ASSERT_TRUE(sign_request(r, wrong, "us-east-1", "connect", t_).ok());
  absl::Status s = verify(r.headers, r.body);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(sigv4_error_code(s), "InvalidSignatureException");

  Headers h = req_.headers;
  for (auto& [k, v] : h)
    if (k == "Content-Type") v = "text/plain";
  s = verify(h, req_.body);
  EXPECT_EQ(sigv4_error_code(s), "InvalidSignatureException");
  // The message carries what the server computed, to debug a client.
  EXPECT_NE(s.message().find("content-type:text/plain"), absl::string_view::npos);
}

TEST_F(Sigv4Verify, RejectsARequestMoreThanFifteenMinutesOff) {
  EXPECT_TRUE(verify(req_.headers, req_.body, std::chrono::minutes(14)).ok());
  EXPECT_TRUE(verify(req_.headers, req_.body, std::chrono::minutes(-14)).ok());
  for (auto skew : {std::chrono::minutes(16), std::chrono::minutes(-16)}) {
    const absl::Status s = verify(req_.headers, req_.body, skew);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(sigv4_error_code(s), "InvalidSignatureException");
    EXPECT_NE(s.message().find("Signature expired"), absl::string_view::npos) << s;
  }
}

TEST_F(Sigv4Verify, RejectsMalformedAuthorizationAndDate) {
  Headers h = req_.headers;
  for (auto& [k, v] : h)
    if (k == "Authorization") v = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20250601/us-east-1";
  EXPECT_EQ(sigv4_error_code(verify(h, req_.body)), "IncompleteSignature");

  h = req_.headers;
  std::erase_if(h, [](const auto& kv) { return kv.first == "X-Amz-Date"; });
  EXPECT_EQ(sigv4_error_code(verify(h, req_.body)), "IncompleteSignature");
}

TEST(Sigv4, VerifyChecksTheContentHashHeaderAgainstTheBody) {
  Credentials creds{"AK", "SK", "", std::nullopt, "t"};
  HttpRequest r{"PUT", "http://127.0.0.1:1/bucket/key", {}, "data"};
  const WallTime t = parse_iso8601("2025-06-01T10:00:00Z").value();
  ASSERT_TRUE(sign_request(r, creds, "us-east-1", "s3", t).ok());
  VerifyOptions vo;
  vo.now = t;
  auto lookup = lookup_for(creds);
  EXPECT_TRUE(verify_request("PUT", "/bucket/key", "", r.headers, "data", lookup, vo).ok());
  EXPECT_EQ(
      sigv4_error_code(verify_request("PUT", "/bucket/key", "", r.headers, "other", lookup, vo)),
      "XAmzContentSHA256Mismatch");
}

TEST(Sigv4, ParsesAuthorization) {
  auto a = parse_authorization(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=abc");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(a->date8, "20150830");
  EXPECT_EQ(a->region, "us-east-1");
  EXPECT_EQ(a->service, "service");
  EXPECT_EQ(a->signed_headers, (std::vector<std::string>{"host", "x-amz-date"}));
  EXPECT_EQ(a->signature, "abc");
  EXPECT_FALSE(parse_authorization("Basic Zm9vOmJhcg==").ok());
}

}  // namespace
}  // namespace pd::aws
