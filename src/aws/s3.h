// Amazon S3: the object calls the dialer needs for dialing lists and results
// files (ranged GetObject, HeadObject, PutObject, multipart upload) and
// CreateBucket for tests. REST-XML over AwsClient; errors are AwsClient's,
// with S3's XML error code ("GetObject: NoSuchKey: The specified key does
// not exist.").
//
// Addressing: path-style (https://s3.REGION.amazonaws.com/BUCKET/KEY)
// everywhere. One endpoint then serves every bucket (one AwsClient, one
// connection pool), emulators (moto, MinIO) work without wildcard DNS, and
// bucket names with dots keep a valid TLS certificate. AWS still serves
// path-style requests (its deprecation was postponed indefinitely); the
// bucket must live in the client's region (S3 answers PermanentRedirect
// otherwise, reported as an error naming the bucket).
//
// Thread-safety: thread-safe (AwsClient is); calls block.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "aws/aws_client.h"

namespace pd::aws {

struct S3Location {
  std::string bucket;
  std::string key;
};
// "s3://bucket/key/with/slashes" -> {bucket, key}; the key must not be empty.
absl::StatusOr<S3Location> parse_s3_location(std::string_view location);

struct S3ObjectInfo {
  int64_t size = 0;
  std::string etag;  // with its quotes, as S3 sends it
  std::string content_type;
};

// One range of an object, and what it says about the whole.
struct S3Range {
  std::string data;
  int64_t object_size = 0;  // from Content-Range (or the body, for a whole object)
  std::string etag;
};

struct S3CompletedPart {
  int part_number = 0;
  std::string etag;
};

class S3Client {
 public:
  // `client` is configured for service "s3" (see make_s3_client()).
  explicit S3Client(std::shared_ptr<AwsClient> client) : client_(std::move(client)) {}

  absl::StatusOr<S3ObjectInfo> head_object(const std::string& bucket, const std::string& key);
  // Bytes [offset, offset + length) of the object (fewer at its end). With
  // `if_match` (an ETag), fails with kFailedPrecondition (PreconditionFailed)
  // when the object has been replaced since, so a reader never stitches two
  // versions together. An empty object reads as an empty range; an offset
  // past the end is kOutOfRange.
  absl::StatusOr<S3Range> get_object_range(const std::string& bucket, const std::string& key,
                                           int64_t offset, int64_t length,
                                           const std::string& if_match = {});
  // The whole object (small objects: tests, configuration).
  absl::StatusOr<std::string> get_object(const std::string& bucket, const std::string& key);
  // Returns the new object's ETag.
  absl::StatusOr<std::string> put_object(const std::string& bucket, const std::string& key,
                                         std::string_view body,
                                         std::string_view content_type = "text/csv");

  // Multipart upload: parts 1..10000, each but the last at least 5 MiB.
  // Nothing is visible at the key until complete; abort discards the parts.
  absl::StatusOr<std::string> create_multipart_upload(const std::string& bucket,
                                                      const std::string& key,
                                                      std::string_view content_type = "text/csv");
  // Returns the part's ETag.
  absl::StatusOr<std::string> upload_part(const std::string& bucket, const std::string& key,
                                          const std::string& upload_id, int part_number,
                                          std::string_view body);
  absl::Status complete_multipart_upload(const std::string& bucket, const std::string& key,
                                         const std::string& upload_id,
                                         const std::vector<S3CompletedPart>& parts);
  absl::Status abort_multipart_upload(const std::string& bucket, const std::string& key,
                                      const std::string& upload_id);

  // In the client's region (a LocationConstraint outside us-east-1).
  absl::Status create_bucket(const std::string& bucket);

  AwsClient& aws() { return *client_; }

 private:
  absl::StatusOr<HttpResponse> call(AwsCall c, const std::string& bucket, const std::string& key);
  std::shared_ptr<AwsClient> client_;
};

// An S3 client for `region` (empty: resolve_region()) and
// `endpoint_override` (empty: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, then
// AWS's endpoint); credentials null: the default chain.
absl::StatusOr<std::shared_ptr<S3Client>> make_s3_client(
    std::string_view region, std::string_view endpoint_override,
    std::shared_ptr<CredentialsProvider> credentials, std::shared_ptr<HttpClient> http = nullptr);

}  // namespace pd::aws
