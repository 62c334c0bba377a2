#include "io/s3_object.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "core/strings.h"

namespace pd {

absl::Status s3_error(std::string_view location, const absl::Status& status) {
  std::string_view msg = sv(status.message());
  // AwsClient's messages start with the API name; the location says more.
  const std::string code = aws::aws_error_code(status);
  const size_t colon = msg.find(": ");
  if (colon != std::string_view::npos && msg.substr(0, colon).find(' ') == std::string_view::npos &&
      (code.empty() || msg.substr(colon + 2, code.size()) == code)) {
    msg.remove_prefix(colon + 2);
  }
  return absl::Status(status.code(), cat(location, ": ", msg));
}

// ---- reading ----

absl::StatusOr<std::unique_ptr<S3InputStream>> S3InputStream::open(
    std::shared_ptr<aws::S3Client> s3, std::string location, aws::S3Location where,
    size_t chunk_bytes) {
  std::unique_ptr<S3InputStream> in(new S3InputStream());
  Buf& b = in->buf_;
  b.s3 = std::move(s3);
  b.location = std::move(location);
  b.where = std::move(where);
  b.chunk_bytes = std::max<size_t>(chunk_bytes, 1);
  if (absl::Status s = b.fetch(); !s.ok()) return s;
  return in;
}

absl::Status S3InputStream::Buf::fetch() {
  auto range = s3->get_object_range(where.bucket, where.key, next,
                                     static_cast<int64_t>(chunk_bytes), etag);
  if (!range.ok()) return s3_error(location, range.status());
  if (next == 0) {
    etag = range->etag;
    size = range->object_size;
  }
  // One chunk at a time, however large the object.
  chunk = std::move(range->data);
  next += static_cast<int64_t>(chunk.size());
  char* base = chunk.data();
  setg(base, base, base + chunk.size());
  if (chunk.empty() && next < size) {
    return absl::DataLossError(cat(location, ": S3 returned no bytes at offset ", next, " of ", size));
  }
  return absl::OkStatus();
}

S3InputStream::Buf::int_type S3InputStream::Buf::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  if (next >= size) return traits_type::eof();
  error = fetch();
  if (!error.ok()) {
    // The only way a streambuf can tell its istream "this is an error, not
    // the end": the istream catches the exception and sets badbit (it is
    // never rethrown unless the caller asked for exceptions()).
    throw std::runtime_error(std::string(sv(error.message())));
  }
  if (gptr() == egptr()) return traits_type::eof();
  return traits_type::to_int_type(*gptr());
}

// ---- writing ----

S3OutputObject::S3OutputObject(std::shared_ptr<aws::S3Client> s3, std::string location,
                               aws::S3Location where, size_t part_bytes)
    : out_(&buf_) {
  buf_.s3 = std::move(s3);
  buf_.location = std::move(location);
  buf_.where = std::move(where);
  buf_.part_bytes = std::max(part_bytes, kS3MinPartBytes);
  buf_.pending.reserve(buf_.part_bytes);
}

S3OutputObject::~S3OutputObject() {
  if (!finished_ && !buf_.upload_id.empty()) {
    // Best effort: an upload left behind costs storage until a lifecycle
    // rule removes it, but is never visible as the object.
    (void)buf_.s3->abort_multipart_upload(buf_.where.bucket, buf_.where.key, buf_.upload_id);
  }
}

bool S3OutputObject::Buf::flush_part() {
  if (!error.ok()) return false;
  if (upload_id.empty()) {
    auto id = s3->create_multipart_upload(where.bucket, where.key);
    if (!id.ok()) {
      error = s3_error(location, id.status());
      return false;
    }
    upload_id = *std::move(id);
  }
  const int number = static_cast<int>(parts.size()) + 1;
  if (number > 10000) {
    error = absl::ResourceExhaustedError(
        cat(location, ": more than 10000 parts of ", part_bytes, " bytes"));
    return false;
  }
  auto etag = s3->upload_part(where.bucket, where.key, upload_id, number, pending);
  if (!etag.ok()) {
    error = s3_error(location, etag.status());
    return false;
  }
  parts.push_back({number, *std::move(etag)});
  pending.clear();  // keeps its capacity: one part in memory
  return true;
}

S3OutputObject::Buf::int_type S3OutputObject::Buf::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  const char ch = traits_type::to_char_type(c);
  return xsputn(&ch, 1) == 1 ? c : traits_type::eof();
}

std::streamsize S3OutputObject::Buf::xsputn(const char* s, std::streamsize n) {
  if (!error.ok()) return 0;
  std::streamsize done = 0;
  while (done < n) {
    const size_t room = part_bytes - pending.size();
    const size_t take = std::min(room, static_cast<size_t>(n - done));
    pending.append(s + done, take);
    done += static_cast<std::streamsize>(take);
    // Upload only when more is coming or the part is full: the last bytes
    // stay for commit(), which can then send a small object in one PUT.
    if (pending.size() == part_bytes && done < n && !flush_part()) return done;
  }
  return done;
}

absl::Status S3OutputObject::commit() {
  if (finished_) return absl::FailedPreconditionError(cat(buf_.location, ": already committed"));
  out_.flush();
  absl::Status result = buf_.error;
  if (result.ok() && out_.bad()) result = absl::DataLossError(cat(buf_.location, ": write failed"));
  if (result.ok() && buf_.upload_id.empty()) {  // at most one part's worth: one PUT
    auto put = buf_.s3->put_object(buf_.where.bucket, buf_.where.key, buf_.pending);
    if (!put.ok()) return s3_error(buf_.location, put.status());
    finished_ = true;
    return absl::OkStatus();
  }
  if (result.ok() && (!buf_.pending.empty() || buf_.parts.empty()) && !buf_.flush_part()) {
    result = buf_.error;
  }
  if (result.ok()) {
    result = buf_.s3->complete_multipart_upload(buf_.where.bucket, buf_.where.key, buf_.upload_id,
                                                buf_.parts);
    if (!result.ok()) result = s3_error(buf_.location, result);
  }
  if (result.ok()) {
    finished_ = true;
    return result;
  }
  // Leave the previous object as it was; the destructor aborts the upload.
  return result;
}

}  // namespace pd
