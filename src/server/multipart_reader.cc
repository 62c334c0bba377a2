#include "server/multipart_reader.h"

#include <algorithm>
#include <cctype>

#include "core/strings.h"

namespace pd {
namespace {

constexpr size_t kMaxPartHeaders = 8 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The name and whether a filename is given, from a part's headers.
void disposition(std::string_view headers, std::string& name, bool& has_filename) {
  while (!headers.empty()) {
    const size_t eol = headers.find("\r\n");
    const std::string_view line = headers.substr(0, eol);
    headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos ||
        lower(trim(line.substr(0, colon))) != "content-disposition") {
      continue;
    }
    std::string_view rest = line.substr(colon + 1);
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      const std::string_view param = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const size_t eq = param.find('=');
      if (eq == std::string_view::npos) continue;
      const std::string key = lower(trim(param.substr(0, eq)));
      std::string_view value = trim(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (key == "name") name = std::string(value);
      if (key == "filename" || key == "filename*") has_filename = true;
    }
  }
}

}  // namespace

MultipartFileReader::MultipartFileReader(std::string boundary, std::string field)
    : delimiter_("\r\n--" + boundary), field_(std::move(field)), pending_("\r\n") {
  // pending_ starts with CRLF so the first boundary, which may open the
  // body, matches the same delimiter as the others.
}

absl::Status MultipartFileReader::feed(std::string_view data, std::string& file) {
  pending_.append(data);
  bool progressed = true;
  while (progressed) {
    progressed = false;
    if (auto s = step(progressed, file); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status MultipartFileReader::step(bool& progressed, std::string& file) {
  switch (state_) {
    case State::kPreamble:
    case State::kBody: {
      const size_t at = pending_.find(delimiter_);
      const size_t keep = delimiter_.size() - 1;  // a delimiter may straddle two reads
      const size_t take =
          at != std::string::npos ? at : (pending_.size() > keep ? pending_.size() - keep : 0);
      if (in_file_ && state_ == State::kBody) file.append(pending_, 0, take);
      if (at == std::string::npos) {
        pending_.erase(0, take);
        return absl::OkStatus();
      }
      pending_.erase(0, at + delimiter_.size());
      if (in_file_ && state_ == State::kBody) {
        in_file_ = false;
        file_done_ = true;
      }
      state_ = State::kAfterDelimiter;
      progressed = true;
      return absl::OkStatus();
    }
    case State::kAfterDelimiter: {
      if (pending_.size() >= 2 && pending_.compare(0, 2, "--") == 0) {
        state_ = State::kEpilogue;
        progressed = true;
        return absl::OkStatus();
      }
      const size_t eol = pending_.find("\r\n");
      if (eol == std::string::npos) {
        if (pending_.size() > 256) {
          return absl::InvalidArgumentError(
              "malformed multipart body: no line end after a boundary");
        }
        return absl::OkStatus();
      }
      const std::string_view padding(pending_.data(), eol);
      if (!std::all_of(padding.begin(), padding.end(),
                       [](char c) { return c == ' ' || c == '\t'; })) {
        return absl::InvalidArgumentError("malformed multipart body: text after a boundary");
      }
      pending_.erase(0, eol + 2);
      state_ = State::kHeaders;
      progressed = true;
      return absl::OkStatus();
    }
    case State::kHeaders: {
      size_t end = std::string::npos, skip = 0;
      if (pending_.compare(0, 2, "\r\n") == 0) {
        end = 0;
        skip = 2;
      } else if (const size_t at = pending_.find("\r\n\r\n"); at != std::string::npos) {
        end = at;
        skip = 4;
      }
      if (end == std::string::npos) {
        if (pending_.size() > kMaxPartHeaders) {
          return absl::InvalidArgumentError(cat(
              "malformed multipart body: part headers longer than ", kMaxPartHeaders, " bytes"));
        }
        return absl::OkStatus();
      }
      std::string name;
      bool has_filename = false;
      disposition(std::string_view(pending_).substr(0, end), name, has_filename);
      pending_.erase(0, end + skip);
      in_file_ = !file_found_ && (name == field_ || has_filename);
      file_found_ = file_found_ || in_file_;
      state_ = State::kBody;
      progressed = true;
      return absl::OkStatus();
    }
    case State::kEpilogue:
      pending_.clear();
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status MultipartFileReader::finish() const {
  if (!file_found_) {
    return absl::InvalidArgumentError(
        cat("the multipart upload has no file part: send the list as field '", field_,
            "' (curl -F ", field_, "=@list.csv)"));
  }
  if (!file_done_) {
    return absl::InvalidArgumentError("the multipart upload ended inside the file part");
  }
  return absl::OkStatus();
}

}  // namespace pd
