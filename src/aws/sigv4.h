// AWS Signature Version 4: signs our requests to AWS, and verifies SigV4 on
// requests a server of ours receives (the Connect stand-in checks boto3's
// signatures with verify_request()).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv_create-signed-request.html
// The pieces (canonical request, string to sign, key, signature) are exposed
// so the AWS test-suite vectors can check each one.
// Thread-safety: plain functions over their arguments; safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "aws/credentials.h"
#include "aws/http.h"
#include "core/types.h"

namespace pd::aws {

// How the path and payload are treated. Every service except S3 normalises
// the path ("/a/./b/../c" -> "/a/c") and encodes the (already encoded) path
// once more; S3 signs the path exactly as sent and wants the payload hash in
// an x-amz-content-sha256 header.
struct SigningOptions {
  bool normalize_path = true;
  bool double_encode_path = true;
  bool add_content_sha256 = false;  // add (and sign) x-amz-content-sha256
  bool omit_session_token = false;  // add x-amz-security-token after signing, unsigned
  static SigningOptions for_service(std::string_view service);
};

inline constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// Building blocks.
std::string hex_encode(std::string_view bytes);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw bytes
// RFC 3986 encoding as SigV4 wants it: unreserved characters kept, the rest
// %XX (upper-case); '/' kept when `keep_slash`.
std::string uri_encode(std::string_view s, bool keep_slash = false);
std::string percent_decode(std::string_view s);
// "20150830T123600Z"
std::string amz_date(WallTime t);

// The canonical URI of a path as sent on the wire (no query).
std::string canonical_uri(std::string_view raw_path, const SigningOptions& options);
// The canonical query string of a raw query (without '?'): each name and
// value decoded and re-encoded, pairs sorted.
std::string canonical_query(std::string_view raw_query);
// Canonical header block ("name:value\n" per header) and the signed-header
// list ("host;x-amz-date") of `headers`. Names are lower-cased, values
// trimmed with inner whitespace runs collapsed, repeated names joined by ','.
struct CanonicalHeaders {
  std::string block;
  std::string signed_headers;
};
CanonicalHeaders canonical_headers(const Headers& headers);

std::string canonical_request(std::string_view method, std::string_view raw_path,
                              std::string_view raw_query, const Headers& signed_headers,
                              std::string_view payload_hash, const SigningOptions& options);
// "20150830/us-east-1/service/aws4_request"
std::string credential_scope(std::string_view date8, std::string_view region,
                             std::string_view service);
std::string string_to_sign(std::string_view amz_datetime, std::string_view scope,
                           std::string_view canonical_request);
// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request"), raw
// bytes.
std::string signing_key(std::string_view secret, std::string_view date8, std::string_view region,
                        std::string_view service);
// Hex HMAC of the string to sign under the signing key.
std::string signature(std::string_view signing_key, std::string_view string_to_sign);

// What sign_request() computed, for tests and debugging.
struct SignedRequest {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
  std::string authorization;
};

// Signs `request` in place: adds host (when missing), x-amz-date,
// x-amz-security-token (session credentials), x-amz-content-sha256 (S3) and
// Authorization. Every header already on the request is signed except
// user-agent, expect and x-amzn-trace-id, which proxies may change.
// kInvalidArgument when the URL has no scheme://host.
absl::StatusOr<SignedRequest> sign_request(HttpRequest& request, const Credentials& credentials,
                                           std::string_view region, std::string_view service,
                                           WallTime now);
absl::StatusOr<SignedRequest> sign_request(HttpRequest& request, const Credentials& credentials,
                                           std::string_view region, std::string_view service,
                                           WallTime now, const SigningOptions& options);

// The fields of "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/
// service/aws4_request, SignedHeaders=host;x-amz-date, Signature=...".
struct Authorization {
  std::string access_key_id;
  std::string date8;
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;
  std::string signature;
};
absl::StatusOr<Authorization> parse_authorization(std::string_view value);

// The secret for an access key id, or nullopt when the key is unknown.
using SecretLookup = std::function<std::optional<std::string>(std::string_view access_key_id)>;

struct VerifyOptions {
  WallTime now;                           // the server's clock
  std::chrono::minutes max_skew{15};      // as AWS allows
  std::optional<SigningOptions> signing;  // default: for_service(scope's service)
  std::string expected_service;           // empty: any
};

// Checks a received request's SigV4 signature: recomputes it from the
// request as received (method, raw path and query as on the wire, headers,
// body) and compares in constant time. OK, or kUnauthenticated/
// kPermissionDenied whose message starts with the error code AWS would
// answer with, then ": " and the reason:
//   MissingAuthenticationToken    no Authorization header (kUnauthenticated)
//   IncompleteSignature           malformed Authorization / x-amz-date (kUnauthenticated)
//   UnrecognizedClientException   unknown access key id (kUnauthenticated)
//   InvalidSignatureException     signature mismatch, or the request time is
//                                 more than max_skew away ("Signature expired")
//                                 (kPermissionDenied)
//   XAmzContentSHA256Mismatch     x-amz-content-sha256 is not the body's hash
absl::Status verify_request(std::string_view method, std::string_view raw_path,
                            std::string_view raw_query, const Headers& headers,
                            std::string_view body, const SecretLookup& secret_for,
                            const VerifyOptions& options);

// The leading AWS error code of a verify_request() status ("InvalidSignatureException").
std::string sigv4_error_code(const absl::Status& status);

}  // namespace pd::aws
