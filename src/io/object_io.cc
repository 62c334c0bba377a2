#include "io/object_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ext/stdio_filebuf.h>
#include <filesystem>
#include <fstream>

#include "aws/aws_client.h"
#include "aws/s3.h"
#include "core/strings.h"
#include "io/files_folder.h"
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

// libstdc++'s stdio_filebuf turns a descriptor that was opened safely
// (openat, O_NOFOLLOW) into a stream; std::fstream can only open by name.
using FdBuf = __gnu_cxx::stdio_filebuf<char>;

class FolderInput final : public std::istream {
 public:
  explicit FolderInput(int fd) : std::istream(nullptr), buf_(fd, std::ios::in) { rdbuf(&buf_); }

 private:
  FdBuf buf_;
};

absl::StatusOr<std::unique_ptr<std::istream>> open_input_in_folder(const std::string& location,
                                                                   const std::string& folder) {
  auto entry = open_in_folder(folder, "inputfile", location);
  if (!entry.ok()) return entry.status();
  // O_NONBLOCK: opening a FIFO someone left there must not hang the server.
  UniqueFd fd(::openat(entry->dir.get(), entry->name.c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ELOOP) {
      return absl::PermissionDeniedError(
          cat("inputfile ", entry->path, ": is a symbolic link; it is not followed"));
    }
    return absl::NotFoundError(cat(entry->path, ": cannot open: ", std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(cat(entry->path, ": is not a regular file"));
  }
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return std::unique_ptr<std::istream>(std::make_unique<FolderInput>(fd.release()));
}

// LocalOutput's temporary-file-and-rename, inside the files folder: the
// temporary file is created new (O_EXCL, O_NOFOLLOW) in the parent folder
// opened by open_in_folder, and renamed over the name in that same folder.
// rename() replaces a symbolic link rather than writing through it, and one
// found at the name is refused.
class FolderOutput final : public OutputObject {
 public:
  FolderOutput(FolderEntry entry, std::string tmp, int fd)
      : entry_(std::move(entry)), tmp_(std::move(tmp)), buf_(fd, std::ios::out), out_(&buf_) {}
  ~FolderOutput() override {
    if (!committed_) {
      buf_.close();
      ::unlinkat(entry_.dir.get(), tmp_.c_str(), 0);
    }
  }
  std::ostream& stream() override { return out_; }
  absl::Status commit() override {
    out_.flush();
    if (!out_ || buf_.close() == nullptr)
      return absl::DataLossError(cat(entry_.path, ": write failed"));
    if (auto s = check_target(entry_); !s.ok()) return s;
    if (::renameat(entry_.dir.get(), tmp_.c_str(), entry_.dir.get(), entry_.name.c_str()) != 0) {
      return absl::PermissionDeniedError(cat(entry_.path, ": ", std::strerror(errno)));
    }
    committed_ = true;
    return absl::OkStatus();
  }

  // The name may hold an old file, not a link or a folder.
  static absl::Status check_target(const FolderEntry& e) {
    struct stat st {};
    if (::fstatat(e.dir.get(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return absl::OkStatus();
    }
    if (S_ISLNK(st.st_mode)) {
      return absl::PermissionDeniedError(
          cat("outputfile ", e.path, ": is a symbolic link; it is not written through"));
    }
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(cat("outputfile ", e.path, ": is not a regular file"));
    }
    return absl::OkStatus();
  }

 private:
  FolderEntry entry_;
  std::string tmp_;
  FdBuf buf_;
  std::ostream out_;
  bool committed_ = false;
};

absl::StatusOr<std::unique_ptr<OutputObject>> open_output_in_folder(const std::string& location,
                                                                    const std::string& folder) {
  auto entry = open_in_folder(folder, "outputfile", location);
  if (!entry.ok()) return entry.status();
  if (auto s = FolderOutput::check_target(*entry); !s.ok()) return s;
  const std::string tmp = entry->name + ".partial";
  ::unlinkat(entry->dir.get(), tmp.c_str(), 0);  // a stale one (or a link) goes, unfollowed
  const int fd = ::openat(entry->dir.get(), tmp.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) {
    return absl::PermissionDeniedError(cat(entry->path, ": cannot write: ", std::strerror(errno)));
  }
  return std::unique_ptr<OutputObject>(std::make_unique<FolderOutput>(*std::move(entry), tmp, fd));
}

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
  if (!options.files_folder.empty()) return open_input_in_folder(location, options.files_folder);
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
  if (!options.files_folder.empty()) return open_output_in_folder(location, options.files_folder);
  auto out = std::make_unique<LocalOutput>(location, location + ".partial");
  if (!out->ok()) {
    return absl::PermissionDeniedError(cat(location, ": cannot write: ", std::strerror(errno)));
  }
  return std::unique_ptr<OutputObject>(std::move(out));
}

}  // namespace pd
