#include "io/object_io.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/strings.h"

namespace pd {
namespace {

absl::Status s3_not_yet(std::string_view location) {
  return absl::UnimplementedError(
      cat(location,
          ": S3 locations need the Amazon Connect backend, which this build "
          "does not have yet; use a local file"));
}

class LocalOutput final : public OutputObject {
 public:
  LocalOutput(std::string path, std::string tmp) : path_(std::move(path)), tmp_(std::move(tmp)) {
    out_.open(tmp_, std::ios::binary | std::ios::trunc);
  }
  ~LocalOutput() override {
    if (!committed_) {
      out_.close();
      std::error_code ec;
      std::filesystem::remove(tmp_, ec);
    }
  }
  bool ok() const { return out_.is_open(); }
  std::ostream& stream() override { return out_; }
  absl::Status commit() override {
    out_.flush();
    if (!out_) return absl::DataLossError(cat(path_, ": write failed"));
    out_.close();
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) return absl::PermissionDeniedError(cat(path_, ": ", ec.message()));
    committed_ = true;
    return absl::OkStatus();
  }

 private:
  std::string path_, tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace

bool is_s3_location(std::string_view location) { return location.substr(0, 5) == "s3://"; }

absl::StatusOr<std::unique_ptr<std::istream>> open_input(const std::string& location) {
  if (is_s3_location(location)) return s3_not_yet(location);
  std::error_code ec;
  if (std::filesystem::is_directory(location, ec)) {
    return absl::InvalidArgumentError(cat(location, ": is a directory"));
  }
  auto in = std::make_unique<std::ifstream>(location, std::ios::binary);
  if (!in->is_open()) {
    return absl::NotFoundError(cat(location, ": cannot open: ", std::strerror(errno)));
  }
  return std::unique_ptr<std::istream>(std::move(in));
}

absl::StatusOr<std::unique_ptr<OutputObject>> open_output(const std::string& location) {
  if (is_s3_location(location)) return s3_not_yet(location);
  auto out = std::make_unique<LocalOutput>(location, location + ".partial");
  if (!out->ok()) {
    return absl::PermissionDeniedError(cat(location, ": cannot write: ", std::strerror(errno)));
  }
  return std::unique_ptr<OutputObject>(std::move(out));
}

}  // namespace pd
