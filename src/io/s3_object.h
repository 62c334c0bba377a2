// Streams over one S3 object with bounded memory, for ObjectIO's s3://
// locations: S3InputStream reads successive ranges (one chunk in memory at a
// time, every range pinned to the ETag of the first, so a reader never mixes
// two versions); S3OutputObject uploads multipart parts as its buffer fills
// (one part in memory), and makes the object visible only on commit().
// Without commit() the multipart upload is aborted and the previous object
// (if any) stays as it was.
// Thread-safety: each object is used by one thread.
#pragma once

#include <cstddef>
#include <istream>
#include <memory>
#include <streambuf>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "aws/s3.h"
#include "io/object_io.h"

namespace pd {

inline constexpr size_t kS3ChunkBytes = size_t{8} << 20;
// S3's minimum size for every part but the last.
inline constexpr size_t kS3MinPartBytes = size_t{5} << 20;

class S3InputStream final : public std::istream {
 public:
  // Fetches the first chunk, so a missing bucket or key fails here.
  static absl::StatusOr<std::unique_ptr<S3InputStream>> open(
      std::shared_ptr<aws::S3Client> s3, std::string location, aws::S3Location where,
      size_t chunk_bytes = kS3ChunkBytes);

  // Why reading stopped early (the stream is then bad()); OK otherwise.
  const absl::Status& error() const { return buf_.error; }
  int64_t object_size() const { return buf_.size; }
  // Bytes held in memory at most (one chunk).
  size_t buffer_capacity() const { return buf_.chunk.capacity(); }

 private:
  struct Buf final : std::streambuf {
    int_type underflow() override;
    absl::Status fetch();  // the next chunk into `chunk`
    std::shared_ptr<aws::S3Client> s3;
    std::string location;
    aws::S3Location where;
    size_t chunk_bytes = kS3ChunkBytes;
    std::string chunk;
    std::string etag;
    int64_t next = 0;  // object offset of the next fetch
    int64_t size = 0;
    absl::Status error;
  };
  S3InputStream() : std::istream(nullptr) { rdbuf(&buf_); }
  Buf buf_;
};

class S3OutputObject final : public OutputObject {
 public:
  // `part_bytes` is raised to S3's 5 MiB minimum.
  S3OutputObject(std::shared_ptr<aws::S3Client> s3, std::string location, aws::S3Location where,
                 size_t part_bytes = kS3ChunkBytes);
  ~S3OutputObject() override;  // aborts an uncommitted multipart upload

  std::ostream& stream() override { return out_; }
  // Small objects (one buffer) go up with one PutObject; larger ones finish
  // the multipart upload. Either way the object appears whole or not at all.
  absl::Status commit() override;

  int parts_uploaded() const { return static_cast<int>(buf_.parts.size()); }
  size_t buffer_capacity() const { return buf_.pending.capacity(); }

 private:
  struct Buf final : std::streambuf {
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    bool flush_part();  // uploads `pending` as the next part; false on error
    std::shared_ptr<aws::S3Client> s3;
    std::string location;
    aws::S3Location where;
    size_t part_bytes = kS3ChunkBytes;
    std::string pending;  // the part being filled
    std::string upload_id;
    std::vector<aws::S3CompletedPart> parts;
    absl::Status error;
  };
  Buf buf_;
  std::ostream out_;
  bool finished_ = false;  // committed, or aborted after a failed commit
};

// "s3://b/k: NoSuchKey: The specified key does not exist." from an
// AwsClient status ("GetObject: NoSuchKey: ..."): the location instead of
// the API name, the status code kept.
absl::Status s3_error(std::string_view location, const absl::Status& status);

}  // namespace pd
