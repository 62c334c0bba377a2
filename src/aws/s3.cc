#include "aws/s3.h"

#include <charconv>

#include "aws/sigv4.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace pd::aws {
namespace {

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string xml_unescape(std::string_view s) {
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}, {"&#34;", '"'}};
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    bool matched = false;
    if (s[i] == '&') {
      for (const auto& [entity, c] : kEntities) {
        if (s.substr(i, entity.size()) == entity) {
          out.push_back(c);
          i += entity.size();
          matched = true;
          break;
        }
      }
    }
    if (!matched) out.push_back(s[i++]);
  }
  return out;
}

// The text of the first <tag>...</tag> in `xml` (S3's responses here are
// flat: one element of each name), or nullopt.
std::optional<std::string> xml_text(std::string_view xml, std::string_view tag) {
  const std::string open = cat("<", tag, ">");
  const size_t start = xml.find(open);
  if (start == std::string_view::npos) return std::nullopt;
  const size_t from = start + open.size();
  const size_t end = xml.find(cat("</", tag, ">"), from);
  if (end == std::string_view::npos) return std::nullopt;
  return xml_unescape(xml.substr(from, end - from));
}

std::optional<int64_t> to_int(std::string_view s) {
  int64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Content-Range: "bytes 0-8388607/20000000" -> the total.
std::optional<int64_t> content_range_total(std::string_view v) {
  const size_t slash = v.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return to_int(trim(v.substr(slash + 1)));
}

bool is_valid_bucket_name(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

}  // namespace

absl::StatusOr<S3Location> parse_s3_location(std::string_view location) {
  if (location.substr(0, 5) != "s3://") {
    return absl::InvalidArgumentError(cat("'", location, "' is not an s3://bucket/key location"));
  }
  const std::string_view rest = location.substr(5);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 >= rest.size()) {
    return absl::InvalidArgumentError(cat("'", location, "': want s3://bucket/key, with a key"));
  }
  S3Location l{std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
  if (!is_valid_bucket_name(l.bucket)) {
    return absl::InvalidArgumentError(
        cat("'", location, "': '", l.bucket,
            "' is not a valid S3 bucket name (3-63 lower-case letters, digits, '-', '.')"));
  }
  return l;
}

absl::StatusOr<HttpResponse> S3Client::call(AwsCall c, const std::string& bucket,
                                            const std::string& key) {
  // Path-style (see s3.h). S3 signs the path as sent, so the key is encoded
  // once here, keeping its slashes.
  c.path = key.empty() ? cat("/", uri_encode(bucket))
                       : cat("/", uri_encode(bucket), "/", uri_encode(key, /*keep_slash=*/true));
  return client_->call(c);
}

absl::StatusOr<S3ObjectInfo> S3Client::head_object(const std::string& bucket,
                                                   const std::string& key) {
  AwsCall c;
  c.api = "HeadObject";
  c.method = "HEAD";
  PD_ASSIGN_OR_RETURN(HttpResponse r, call(std::move(c), bucket, key));
  S3ObjectInfo info;
  info.size = to_int(r.header("content-length")).value_or(0);
  info.etag = r.header("etag");
  info.content_type = r.header("content-type");
  return info;
}

absl::StatusOr<S3Range> S3Client::get_object_range(const std::string& bucket,
                                                   const std::string& key, int64_t offset,
                                                   int64_t length, const std::string& if_match) {
  if (offset < 0 || length <= 0) {
    return absl::InvalidArgumentError(cat("GetObject: bad range ", offset, "+", length));
  }
  AwsCall c;
  c.api = "GetObject";
  c.headers.emplace_back("Range", cat("bytes=", offset, "-", offset + length - 1));
  if (!if_match.empty()) c.headers.emplace_back("If-Match", if_match);
  auto r = call(std::move(c), bucket, key);
  if (!r.ok()) {
    // S3 answers a range that starts at or past the end with InvalidRange
    // (416). At offset 0 that is an empty object.
    if (aws_error_code(r.status()) == "InvalidRange") {
      if (offset == 0) {
        // An empty object: learn its ETag so a caller can still pin it.
        PD_ASSIGN_OR_RETURN(S3ObjectInfo info, head_object(bucket, key));
        return S3Range{{}, 0, info.etag};
      }
      return absl::OutOfRangeError(cat("GetObject: offset ", offset, " is past the end"));
    }
    return r.status();
  }
  S3Range range;
  range.etag = r->header("etag");
  if (r->status == 206) {
    auto total = content_range_total(r->header("content-range"));
    if (!total) {
      return absl::UnavailableError(
          cat("GetObject: 206 without a usable Content-Range: '", r->header("content-range"), "'"));
    }
    range.object_size = *total;
    range.data = std::move(r->body);
  } else {
    // 200: the server sent the whole object (it may ignore Range); keep the
    // part that was asked for.
    range.object_size = static_cast<int64_t>(r->body.size());
    if (offset >= range.object_size && offset > 0) {
      return absl::OutOfRangeError(cat("GetObject: offset ", offset, " is past the end"));
    }
    const size_t from = static_cast<size_t>(std::min<int64_t>(offset, range.object_size));
    range.data = r->body.substr(from, static_cast<size_t>(length));
  }
  return range;
}

absl::StatusOr<std::string> S3Client::get_object(const std::string& bucket,
                                                 const std::string& key) {
  AwsCall c;
  c.api = "GetObject";
  PD_ASSIGN_OR_RETURN(HttpResponse r, call(std::move(c), bucket, key));
  return std::move(r.body);
}

absl::StatusOr<std::string> S3Client::put_object(const std::string& bucket, const std::string& key,
                                                 std::string_view body,
                                                 std::string_view content_type) {
  AwsCall c;
  c.api = "PutObject";
  c.method = "PUT";
  c.headers.emplace_back("Content-Type", std::string(content_type));
  c.body = std::string(body);
  PD_ASSIGN_OR_RETURN(HttpResponse r, call(std::move(c), bucket, key));
  return r.header("etag");
}

absl::StatusOr<std::string> S3Client::create_multipart_upload(const std::string& bucket,
                                                              const std::string& key,
                                                              std::string_view content_type) {
  AwsCall c;
  c.api = "CreateMultipartUpload";
  c.method = "POST";
  c.query = {{"uploads", ""}};
  c.headers.emplace_back("Content-Type", std::string(content_type));
  PD_ASSIGN_OR_RETURN(HttpResponse r, call(std::move(c), bucket, key));
  auto id = xml_text(r.body, "UploadId");
  if (!id || id->empty()) {
    return absl::UnavailableError(cat("CreateMultipartUpload: no UploadId in the response: ",
                                      r.body.substr(0, 200)));
  }
  return *id;
}

absl::StatusOr<std::string> S3Client::upload_part(const std::string& bucket,
                                                  const std::string& key,
                                                  const std::string& upload_id, int part_number,
                                                  std::string_view body) {
  AwsCall c;
  c.api = "UploadPart";
  c.method = "PUT";
  c.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
  c.body = std::string(body);
  PD_ASSIGN_OR_RETURN(HttpResponse r, call(std::move(c), bucket, key));
  std::string etag = r.header("etag");
  if (etag.empty()) return absl::UnavailableError(cat("UploadPart ", part_number, ": no ETag"));
  return etag;
}

absl::Status S3Client::complete_multipart_upload(const std::string& bucket,
                                                 const std::string& key,
                                                 const std::string& upload_id,
                                                 const std::vector<S3CompletedPart>& parts) {
  std::string body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const S3CompletedPart& p : parts) {
    body += cat("<Part><ETag>", xml_escape(p.etag), "</ETag><PartNumber>", p.part_number,
                "</PartNumber></Part>");
  }
  body += "</CompleteMultipartUpload>";
  AwsCall c;
  c.api = "CompleteMultipartUpload";
  c.method = "POST";
  c.query = {{"uploadId", upload_id}};
  c.headers.emplace_back("Content-Type", "application/xml");
  c.body = std::move(body);
  PD_ASSIGN_OR_RETURN(HttpResponse r, call(std::move(c), bucket, key));
  // S3 can fail a completion after it has answered 200 (it keeps the
  // connection alive with whitespace): the error is then in the body.
  if (r.body.find("<Error>") != std::string::npos) {
    r.status = 500;
    return classify_aws_error("CompleteMultipartUpload", r);
  }
  return absl::OkStatus();
}

absl::Status S3Client::abort_multipart_upload(const std::string& bucket, const std::string& key,
                                              const std::string& upload_id) {
  AwsCall c;
  c.api = "AbortMultipartUpload";
  c.method = "DELETE";
  c.query = {{"uploadId", upload_id}};
  return call(std::move(c), bucket, key).status();
}

absl::Status S3Client::create_bucket(const std::string& bucket) {
  AwsCall c;
  c.api = "CreateBucket";
  c.method = "PUT";
  const std::string& region = client_->service().region;
  if (!region.empty() && region != "us-east-1") {
    c.headers.emplace_back("Content-Type", "application/xml");
    c.body = cat(
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>",
        xml_escape(region), "</LocationConstraint></CreateBucketConfiguration>");
  }
  return call(std::move(c), bucket, {}).status();
}

absl::StatusOr<std::shared_ptr<S3Client>> make_s3_client(
    std::string_view region, std::string_view endpoint_override,
    std::shared_ptr<CredentialsProvider> credentials, std::shared_ptr<HttpClient> http) {
  PD_ASSIGN_OR_RETURN(std::string resolved_region, resolve_region(region));
  PD_ASSIGN_OR_RETURN(std::string endpoint,
                      resolve_endpoint("s3", resolved_region, endpoint_override));
  if (!http) http = std::make_shared<HttpClient>();
  if (!credentials) credentials = default_credentials_chain(http);
  auto aws = std::make_shared<AwsClient>(
      ServiceConfig{"s3", std::move(resolved_region), std::move(endpoint)},
      std::move(credentials), std::move(http));
  return std::make_shared<S3Client>(std::move(aws));
}

}  // namespace pd::aws
