#include "io/object_io.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "aws/aws_client.h"
#include "aws/s3.h"
#include "core/strings.h"
#include "io/s3_object.h"

namespace pd {
namespace {

// S3 without a region configured anywhere: us-east-1, as the AWS CLI does for
// S3 (buckets are global names; S3 redirects name the right region).
constexpr std::string_view kS3FallbackRegion = "us-east-1";

absl::StatusOr<std::shared_ptr<aws::S3Client>> s3_client(std::string_view location,
                                                         const ObjectIoOptions& options) {
  std::string region = options.region;
  if (region.empty() && !aws::resolve_region().ok()) region = std::string(kS3FallbackRegion);
  auto s3 = aws::make_s3_client(region, options.s3_endpoint, options.credentials);
  if (!s3.ok()) return absl::Status(s3.status().code(), cat(location, ": ", sv(s3.status().message())));
  return s3;
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

ObjectIoOptions object_io_options(const CampaignConfig& config) {
  ObjectIoOptions options;
  options.region = config.aws_region;
  options.s3_endpoint = config.s3_endpoint;
  return options;
}

bool is_s3_location(std::string_view location) { return location.substr(0, 5) == "s3://"; }

absl::StatusOr<std::unique_ptr<std::istream>> open_input(const std::string& location,
                                                         const ObjectIoOptions& options) {
  if (is_s3_location(location)) {
    auto where = aws::parse_s3_location(location);
    if (!where.ok()) return where.status();
    auto s3 = s3_client(location, options);
    if (!s3.ok()) return s3.status();
    auto in = S3InputStream::open(*std::move(s3), location, *std::move(where));
    if (!in.ok()) return in.status();
    return std::unique_ptr<std::istream>(*std::move(in));
  }
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

absl::StatusOr<std::unique_ptr<OutputObject>> open_output(const std::string& location,
                                                          const ObjectIoOptions& options) {
  if (is_s3_location(location)) {
    auto where = aws::parse_s3_location(location);
    if (!where.ok()) return where.status();
    auto s3 = s3_client(location, options);
    if (!s3.ok()) return s3.status();
    return std::unique_ptr<OutputObject>(
        std::make_unique<S3OutputObject>(*std::move(s3), location, *std::move(where)));
  }
  auto out = std::make_unique<LocalOutput>(location, location + ".partial");
  if (!out->ok()) {
    return absl::PermissionDeniedError(cat(location, ": cannot write: ", std::strerror(errno)));
  }
  return std::unique_ptr<OutputObject>(std::move(out));
}

}  // namespace pd
