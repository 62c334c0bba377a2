#include "io/files_folder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/strings.h"

namespace pd {
namespace {

namespace fs = std::filesystem;

enum class Where { kInside, kTheFolder, kOutside };

Where where(const fs::path& path, const std::string& folder) {
  const fs::path rel = path.lexically_relative(folder);
  if (rel.empty() || *rel.begin() == "..") return Where::kOutside;
  if (rel == ".") return Where::kTheFolder;
  return Where::kInside;
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

absl::StatusOr<std::string> make_files_folder(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("the files folder (--files-dir) is empty");
  std::error_code ec;
  const bool created = fs::create_directories(path, ec);
  if (ec)
    return absl::PermissionDeniedError(cat(path, ": cannot create the folder: ", ec.message()));
  // Lists and results hold customers' numbers: a folder made here is the
  // owner's alone. One the operator made keeps the permissions they chose.
  if (created) fs::permissions(path, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return absl::PermissionDeniedError(cat(path, ": ", ec.message()));
  fs::path canonical = fs::canonical(path, ec);
  if (ec) return absl::PermissionDeniedError(cat(path, ": ", ec.message()));
  if (!fs::is_directory(canonical, ec))
    return absl::InvalidArgumentError(cat(path, ": is not a folder"));
  return canonical.string();
}

absl::StatusOr<std::string> path_in_folder(const std::string& folder, std::string_view key,
                                           std::string_view value) {
  auto refuse = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        cat(key, " ", echo(value), " ", why, ": the server reads and writes local files only in ",
            folder, " (serve --files-dir); give a file name inside it, or s3://bucket/key"));
  };
  if (value.empty()) return refuse("is empty");
  if (value.back() == '/') return refuse("names a folder, not a file");
  fs::path path(value);
  if (path.is_relative()) path = fs::path(folder) / path;
  path = path.lexically_normal();
  switch (where(path, folder)) {
    case Where::kOutside:
      return refuse("is outside the server's files folder");
    case Where::kTheFolder:
      return refuse("names the files folder itself, not a file in it");
    case Where::kInside:
      break;
  }
  // Symbolic links on the way are followed as the file system would, and
  // must not lead out.
  std::error_code ec;
  const fs::path real = fs::weakly_canonical(path, ec);
  if (ec) return refuse(cat("cannot be resolved (", ec.message(), ")"));
  if (where(real, folder) != Where::kInside) {
    return refuse("leads out of the server's files folder through a symbolic link");
  }
  if (fs::is_directory(real, ec)) return refuse("names a folder, not a file");
  return real.string();
}

absl::StatusOr<FolderEntry> open_in_folder(const std::string& folder, std::string_view key,
                                           std::string_view value) {
  auto checked = path_in_folder(folder, key, value);
  if (!checked.ok()) return checked.status();
  return open_checked_path(folder, key, *std::move(checked));
}

absl::StatusOr<FolderEntry> open_checked_path(const std::string& folder, std::string_view key,
                                              std::string path) {
  FolderEntry entry;
  entry.path = std::move(path);
  if (where(entry.path, folder) != Where::kInside) {
    return absl::InvalidArgumentError(cat(key, " ", entry.path, " is not in ", folder));
  }
  const fs::path rel = fs::path(entry.path).lexically_relative(folder);
  std::vector<std::string> parts;
  for (const fs::path& part : rel) parts.push_back(part.string());
  entry.name = parts.back();
  parts.pop_back();

  entry.dir = UniqueFd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (entry.dir.get() < 0) {
    return absl::UnavailableError(
        cat("the server's files folder ", folder, " cannot be opened: ", std::strerror(errno)));
  }
  std::string walked = folder;
  for (const std::string& part : parts) {
    walked += "/" + part;
    const int fd =
        ::openat(entry.dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      struct stat st {};
      if (::fstatat(entry.dir.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        return absl::PermissionDeniedError(
            cat(key, " ", entry.path, ": ", walked, " became a symbolic link; it is not followed"));
      }
      return absl::NotFoundError(cat(key, " ", entry.path, ": ", walked, ": ", std::strerror(err)));
    }
    entry.dir = UniqueFd(fd);
  }
  return entry;
}

}  // namespace pd
