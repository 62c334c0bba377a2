// Takes the file out of a multipart/form-data body as it streams in, so a
// list sent by a browser form or `curl -F file=@list.csv` is imported like
// a plain CSV body, never held whole. Boost 1.74 has no multipart parser
// and cpp-httplib's needs the whole body in memory, so this small one is
// ours: RFC 7578 as browsers and curl send it (one level, no nested
// multipart, part headers up to 8 KiB).
//
// Thread-safety: none (one reader per request).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace pd {

class MultipartFileReader {
 public:
  // `boundary` from the Content-Type; the file is the part named `field`,
  // else the first part with a filename.
  explicit MultipartFileReader(std::string boundary, std::string field = "file");

  // Feeds the next bytes of the body and appends the file's bytes found so
  // far to `file`. kInvalidArgument when the body is not multipart.
  absl::Status feed(std::string_view data, std::string& file);
  // At the end of the body: OK when a whole file part was seen.
  absl::Status finish() const;
  // The file part has ended (the rest of the body is skipped).
  bool file_done() const { return file_done_; }

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kEpilogue };
  absl::Status step(bool& progressed, std::string& file);

  const std::string delimiter_;  // "\r\n--" + boundary
  const std::string field_;
  std::string pending_;  // bytes not yet consumed, bounded
  State state_ = State::kPreamble;
  bool in_file_ = false;
  bool file_found_ = false;
  bool file_done_ = false;
};

}  // namespace pd
