// The folder that `serve` keeps its local files in (serve --files-dir): the
// `inputfile` and `outputfile` values an API client sets must resolve inside
// it, and a campaign that serve runs opens its local files through it. So a
// token holder cannot make the server read or write anywhere else: not
// through "..", an absolute path elsewhere, or a symbolic link, whether the
// link is there when the value is set or appears before the file is opened.
// (The command line, run by the machine's own user, is not confined.)
//
// Thread-safety: plain functions over their arguments.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace pd {

// An open file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int release();

 private:
  int fd_ = -1;
};

// Creates `path` (and its parents) when missing, readable by its owner
// only, and returns its canonical absolute path (no symbolic link in it).
absl::StatusOr<std::string> make_files_folder(const std::string& path);

// `value` for config key `key` as a canonical absolute path inside
// `folder` (canonical, from make_files_folder): a relative value is taken
// inside the folder. kInvalidArgument naming the key and the folder when it
// leads out of it (by "..", an absolute path elsewhere or a symbolic link),
// names the folder itself or a folder (a trailing '/'), or is empty.
absl::StatusOr<std::string> path_in_folder(const std::string& folder, std::string_view key,
                                           std::string_view value);

// A file's parent folder, opened by walking down from `folder` without
// following any symbolic link, and the file's name in it: open the file
// with openat(dir, name, ... | O_NOFOLLOW). A link that appeared after
// path_in_folder's check is refused, not followed.
struct FolderEntry {
  UniqueFd dir;
  std::string name;
  std::string path;  // canonical, for messages
};
absl::StatusOr<FolderEntry> open_in_folder(const std::string& folder, std::string_view key,
                                           std::string_view value);
// open_in_folder's walk for a `path` that path_in_folder returned earlier
// (the file system may have changed since).
absl::StatusOr<FolderEntry> open_checked_path(const std::string& folder, std::string_view key,
                                              std::string path);

}  // namespace pd
