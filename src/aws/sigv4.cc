#include "aws/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

#include "core/status_macros.h"
#include "core/strings.h"
#include "core/time_format.h"

namespace pd::aws {
namespace {

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Headers that intermediaries may add or rewrite, so signing them would make
// a correct request fail verification (botocore leaves out the same ones).
bool is_unsigned_header(std::string_view lower_name) {
  return lower_name == "user-agent" || lower_name == "expect" || lower_name == "x-amzn-trace-id" ||
         lower_name == "authorization";
}

std::string canonical_header_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool in_space = false;
  for (char c : trim(v)) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
  return out;
}

// Removes "." and ".." segments and empty segments ("//"), keeping a
// trailing slash: what RFC 3986 normalisation does for the signers.
std::string normalize_path(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view seg = path.substr(pos, next - pos);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    pos = next + 1;
  }
  std::string out = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += '/';
    out += segments[i];
  }
  if (!segments.empty() && path.size() > 1 && path.back() == '/') out += '/';
  return out;
}

std::string header_value(const Headers& headers, std::string_view lower_name) {
  for (const auto& [name, value] : headers)
    if (to_lower(name) == lower_name) return value;
  return {};
}

bool has_header(const Headers& headers, std::string_view lower_name) {
  for (const auto& h : headers)
    if (to_lower(h.first) == lower_name) return true;
  return false;
}

void set_header(Headers& headers, std::string_view name, std::string value) {
  const std::string lower = to_lower(name);
  std::erase_if(headers, [&](const auto& h) { return to_lower(h.first) == lower; });
  headers.emplace_back(std::string(name), std::move(value));
}

absl::Status verify_error(absl::StatusCode code, std::string_view aws_code, std::string_view why) {
  return absl::Status(code, cat(aws_code, ": ", why));
}

}  // namespace

SigningOptions SigningOptions::for_service(std::string_view service) {
  SigningOptions o;
  if (service == "s3") {
    o.normalize_path = false;
    o.double_encode_path = false;
    o.add_content_sha256 = true;
  }
  return o;
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return hex_encode({reinterpret_cast<const char*>(digest), sizeof digest});
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string amz_date(WallTime t) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto day = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{secs - day};
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

std::string canonical_uri(std::string_view raw_path, const SigningOptions& options) {
  std::string path = raw_path.empty() ? std::string("/") : std::string(raw_path);
  if (options.normalize_path) path = normalize_path(path);
  if (options.double_encode_path) path = uri_encode(path, /*keep_slash=*/true);
  return path;
}

std::string canonical_query(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t pos = 0;
  while (pos <= raw_query.size()) {
    size_t amp = raw_query.find('&', pos);
    if (amp == std::string_view::npos) amp = raw_query.size();
    std::string_view part = raw_query.substr(pos, amp - pos);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      std::string_view key = part.substr(0, eq);
      std::string_view value =
          eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
      pairs.emplace_back(uri_encode(percent_decode(key)), uri_encode(percent_decode(value)));
    }
    pos = amp + 1;
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

CanonicalHeaders canonical_headers(const Headers& headers) {
  // Ordered by lower-cased name; repeated names keep their order of arrival.
  std::map<std::string, std::string> merged;
  for (const auto& [name, value] : headers) {
    auto [it, inserted] = merged.try_emplace(to_lower(trim(name)), canonical_header_value(value));
    if (!inserted) {
      it->second += ',';
      it->second += canonical_header_value(value);
    }
  }
  CanonicalHeaders out;
  for (const auto& [name, value] : merged) {
    out.block += cat(name, ":", value, "\n");
    if (!out.signed_headers.empty()) out.signed_headers += ';';
    out.signed_headers += name;
  }
  return out;
}

std::string canonical_request(std::string_view method, std::string_view raw_path,
                              std::string_view raw_query, const Headers& signed_headers,
                              std::string_view payload_hash, const SigningOptions& options) {
  const CanonicalHeaders ch = canonical_headers(signed_headers);
  return cat(method, "\n", canonical_uri(raw_path, options), "\n", canonical_query(raw_query), "\n",
             ch.block, "\n", ch.signed_headers, "\n", payload_hash);
}

std::string credential_scope(std::string_view date8, std::string_view region,
                             std::string_view service) {
  return cat(date8, "/", region, "/", service, "/aws4_request");
}

std::string string_to_sign(std::string_view amz_datetime, std::string_view scope,
                           std::string_view canonical_request) {
  return cat(kSigV4Algorithm, "\n", amz_datetime, "\n", scope, "\n", sha256_hex(canonical_request));
}

std::string signing_key(std::string_view secret, std::string_view date8, std::string_view region,
                        std::string_view service) {
  const std::string k_date = hmac_sha256(cat("AWS4", secret), date8);
  const std::string k_region = hmac_sha256(k_date, region);
  const std::string k_service = hmac_sha256(k_region, service);
  return hmac_sha256(k_service, "aws4_request");
}

std::string signature(std::string_view key, std::string_view sts) {
  return hex_encode(hmac_sha256(key, sts));
}

absl::StatusOr<SignedRequest> sign_request(HttpRequest& request, const Credentials& credentials,
                                           std::string_view region, std::string_view service,
                                           WallTime now) {
  return sign_request(request, credentials, region, service, now,
                      SigningOptions::for_service(service));
}

absl::StatusOr<SignedRequest> sign_request(HttpRequest& request, const Credentials& credentials,
                                           std::string_view region, std::string_view service,
                                           WallTime now, const SigningOptions& options) {
  PD_ASSIGN_OR_RETURN(UrlParts url, split_url(request.url));
  const std::string datetime = amz_date(now);
  const std::string date8 = datetime.substr(0, 8);

  std::erase_if(request.headers,
                [](const auto& h) { return to_lower(h.first) == "authorization"; });
  if (!has_header(request.headers, "host")) request.headers.emplace_back("Host", url.host);
  set_header(request.headers, "X-Amz-Date", datetime);
  if (!credentials.session_token.empty() && !options.omit_session_token)
    set_header(request.headers, "X-Amz-Security-Token", credentials.session_token);
  // A caller-supplied x-amz-content-sha256 (e.g. UNSIGNED-PAYLOAD) stands.
  std::string payload_hash = header_value(request.headers, "x-amz-content-sha256");
  if (payload_hash.empty()) {
    payload_hash = sha256_hex(request.body);
    if (options.add_content_sha256)
      set_header(request.headers, "X-Amz-Content-Sha256", payload_hash);
  }

  Headers to_sign;
  for (const auto& h : request.headers)
    if (!is_unsigned_header(to_lower(h.first))) to_sign.push_back(h);

  SignedRequest out;
  out.canonical_request =
      canonical_request(request.method, url.path, url.query, to_sign, payload_hash, options);
  const std::string scope = credential_scope(date8, region, service);
  out.string_to_sign = string_to_sign(datetime, scope, out.canonical_request);
  out.signature = signature(signing_key(credentials.secret_access_key, date8, region, service),
                            out.string_to_sign);
  out.authorization = cat(kSigV4Algorithm, " Credential=", credentials.access_key_id, "/", scope,
                          ", SignedHeaders=", canonical_headers(to_sign).signed_headers,
                          ", Signature=", out.signature);
  request.headers.emplace_back("Authorization", out.authorization);
  if (!credentials.session_token.empty() && options.omit_session_token)
    set_header(request.headers, "X-Amz-Security-Token", credentials.session_token);
  return out;
}

absl::StatusOr<Authorization> parse_authorization(std::string_view value) {
  value = trim(value);
  if (value.substr(0, kSigV4Algorithm.size()) != kSigV4Algorithm ||
      value.size() == kSigV4Algorithm.size() || value[kSigV4Algorithm.size()] != ' ')
    return absl::InvalidArgumentError(cat("Authorization is not ", kSigV4Algorithm));
  value.remove_prefix(kSigV4Algorithm.size());
  std::map<std::string, std::string, std::less<>> fields;
  size_t pos = 0;
  while (pos < value.size()) {
    size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view item = trim(value.substr(pos, comma - pos));
    const size_t eq = item.find('=');
    if (eq != std::string_view::npos)
      fields[std::string(trim(item.substr(0, eq)))] = std::string(trim(item.substr(eq + 1)));
    pos = comma + 1;
  }
  auto field = [&](std::string_view name) -> const std::string* {
    auto it = fields.find(name);
    return it == fields.end() || it->second.empty() ? nullptr : &it->second;
  };
  const std::string* credential = field("Credential");
  const std::string* signed_headers = field("SignedHeaders");
  const std::string* sig = field("Signature");
  if (!credential || !signed_headers || !sig)
    return absl::InvalidArgumentError(
        "Authorization needs Credential, SignedHeaders and Signature");
  // Credential=AKID/date/region/service/aws4_request (the key id has no '/').
  std::vector<std::string> parts;
  for (size_t p = 0;;) {
    const size_t slash = credential->find('/', p);
    parts.push_back(
        credential->substr(p, slash == std::string::npos ? std::string::npos : slash - p));
    if (slash == std::string::npos) break;
    p = slash + 1;
  }
  if (parts.size() != 5 || parts[4] != "aws4_request" || parts[1].size() != 8)
    return absl::InvalidArgumentError(cat("malformed Credential ", *credential));
  Authorization a{parts[0], parts[1], parts[2], parts[3], {}, *sig};
  for (size_t p = 0;;) {
    const size_t semi = signed_headers->find(';', p);
    a.signed_headers.push_back(
        signed_headers->substr(p, semi == std::string::npos ? std::string::npos : semi - p));
    if (semi == std::string::npos) break;
    p = semi + 1;
  }
  return a;
}

absl::Status verify_request(std::string_view method, std::string_view raw_path,
                            std::string_view raw_query, const Headers& headers,
                            std::string_view body, const SecretLookup& secret_for,
                            const VerifyOptions& options) {
  using absl::StatusCode;
  const std::string auth_value = header_value(headers, "authorization");
  if (auth_value.empty())
    return verify_error(StatusCode::kUnauthenticated, "MissingAuthenticationToken",
                        "Missing Authentication Token (no Authorization header)");
  auto auth = parse_authorization(auth_value);
  if (!auth.ok())
    return verify_error(StatusCode::kUnauthenticated, "IncompleteSignature",
                        sv(auth.status().message()));

  std::string datetime = header_value(headers, "x-amz-date");
  if (datetime.empty())
    return verify_error(StatusCode::kUnauthenticated, "IncompleteSignature",
                        "no x-amz-date header");
  std::optional<WallTime> when;
  if (datetime.size() == 16 && datetime[8] == 'T' && datetime[15] == 'Z') {
    when = parse_iso8601(cat(datetime.substr(0, 4), "-", datetime.substr(4, 2), "-",
                             datetime.substr(6, 2), "T", datetime.substr(9, 2), ":",
                             datetime.substr(11, 2), ":", datetime.substr(13, 2), "Z"));
  }
  if (!when)
    return verify_error(StatusCode::kUnauthenticated, "IncompleteSignature",
                        cat("malformed x-amz-date ", datetime));
  if (auth->date8 != datetime.substr(0, 8))
    return verify_error(
        StatusCode::kPermissionDenied, "InvalidSignatureException",
        cat("credential scope date ", auth->date8, " is not the date of x-amz-date ", datetime));
  const auto skew = options.now > *when ? options.now - *when : *when - options.now;
  if (skew > options.max_skew)
    return verify_error(
        StatusCode::kPermissionDenied, "InvalidSignatureException",
        cat("Signature expired: ", datetime, " is more than ", options.max_skew.count(),
            " minutes from the server time ", amz_date(options.now)));
  if (!options.expected_service.empty() && auth->service != options.expected_service)
    return verify_error(StatusCode::kPermissionDenied, "InvalidSignatureException",
                        cat("credential scope names service '", auth->service, "', expected '",
                            options.expected_service, "'"));

  const std::optional<std::string> secret = secret_for(auth->access_key_id);
  if (!secret)
    return verify_error(StatusCode::kUnauthenticated, "UnrecognizedClientException",
                        cat("The security token included in the request is invalid (unknown "
                            "access key id ",
                            auth->access_key_id, ")"));

  Headers signed_headers;
  for (const std::string& name : auth->signed_headers) {
    bool found = false;
    for (const auto& h : headers) {
      if (to_lower(h.first) == name) {
        signed_headers.push_back(h);
        found = true;
      }
    }
    if (!found)
      return verify_error(StatusCode::kPermissionDenied, "InvalidSignatureException",
                          cat("signed header '", name, "' is not in the request"));
  }
  if (std::find(auth->signed_headers.begin(), auth->signed_headers.end(), "host") ==
      auth->signed_headers.end())
    return verify_error(StatusCode::kPermissionDenied, "InvalidSignatureException",
                        "'host' must be a signed header");

  const std::string body_hash = sha256_hex(body);
  std::string payload_hash = header_value(headers, "x-amz-content-sha256");
  if (payload_hash.empty()) {
    payload_hash = body_hash;
  } else if (payload_hash != kUnsignedPayload && payload_hash.rfind("STREAMING-", 0) != 0 &&
             payload_hash != body_hash) {
    return verify_error(StatusCode::kPermissionDenied, "XAmzContentSHA256Mismatch",
                        "x-amz-content-sha256 does not match the body");
  }

  const SigningOptions signing =
      options.signing.value_or(SigningOptions::for_service(auth->service));
  const std::string creq =
      canonical_request(method, raw_path, raw_query, signed_headers, payload_hash, signing);
  const std::string sts =
      string_to_sign(datetime, credential_scope(auth->date8, auth->region, auth->service), creq);
  const std::string expected =
      signature(signing_key(*secret, auth->date8, auth->region, auth->service), sts);
  if (expected.size() != auth->signature.size() ||
      CRYPTO_memcmp(expected.data(), auth->signature.data(), expected.size()) != 0)
    return verify_error(StatusCode::kPermissionDenied, "InvalidSignatureException",
                        cat("The request signature we calculated does not match the signature "
                            "you provided. The canonical string for this request should have "
                            "been\n'",
                            creq, "'\nThe String-to-Sign should have been\n'", sts, "'"));
  return absl::OkStatus();
}

std::string sigv4_error_code(const absl::Status& status) {
  const std::string_view m = sv(status.message());
  const size_t colon = m.find(':');
  return colon == std::string_view::npos ? std::string() : std::string(m.substr(0, colon));
}

}  // namespace pd::aws
