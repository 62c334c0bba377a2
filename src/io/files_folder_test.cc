#include "io/files_folder.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/strings.h"
#include "io/object_io.h"

namespace pd {
namespace {

namespace fs = std::filesystem;

class FilesFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            cat("pd-files-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    fs::create_directories(base_ / "outside");
    auto made = make_files_folder((base_ / "files").string());
    ASSERT_TRUE(made.ok()) << made.status();
    folder_ = *made;
  }
  void TearDown() override { fs::remove_all(base_); }

  absl::StatusOr<std::string> check(std::string_view value) {
    return path_in_folder(folder_, "outputfile", value);
  }
  // The error of a refused value, which must name the key and the folder.
  std::string refused(std::string_view value) {
    auto r = check(value);
    EXPECT_FALSE(r.ok()) << value << " was accepted as " << r.value_or("");
    if (r.ok()) return {};
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(sv(r.status().message()));
    EXPECT_NE(message.find("outputfile"), std::string::npos) << message;
    EXPECT_NE(message.find(folder_), std::string::npos) << message;
    return message;
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path base_;
  std::string folder_;
};

TEST_F(FilesFolderTest, IsMadeOwnerOnlyAndCanonical) {
  EXPECT_EQ(fs::status(folder_).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(folder_, fs::canonical(folder_).string());
  // Through a symbolic link, the folder is named by its real path.
  fs::create_directory_symlink(folder_, base_ / "alias");
  EXPECT_EQ(*make_files_folder((base_ / "alias").string()), folder_);
}

TEST_F(FilesFolderTest, RelativeNamesResolveInsideTheFolder) {
  EXPECT_EQ(*check("spring.csv"), folder_ + "/spring.csv");
  EXPECT_EQ(*check("results/spring.csv"), folder_ + "/results/spring.csv");
  EXPECT_EQ(*check("./a/../spring.csv"), folder_ + "/spring.csv");
}

TEST_F(FilesFolderTest, AbsolutePathsInsideAreKeptOutsideRefused) {
  EXPECT_EQ(*check(folder_ + "/spring.csv"), folder_ + "/spring.csv");
  refused("/etc/cron.d/powerdialer");
  refused((base_ / "outside" / "x.csv").string());
  // A sibling whose name starts like the folder's is not inside it.
  refused(folder_ + "-other/x.csv");
}

TEST_F(FilesFolderTest, DotDotThatLeavesTheFolderIsRefused) {
  const std::string m = refused("../outside/x.csv");
  EXPECT_NE(m.find("'../outside/x.csv'"), std::string::npos) << m;
  refused("a/../../x.csv");
  refused(folder_ + "/../x.csv");
}

TEST_F(FilesFolderTest, TheFolderItselfOrAFolderOrNothingIsNotAFile) {
  refused("");
  refused(".");
  refused(folder_);
  refused(folder_ + "/");
  refused("results/");
  fs::create_directory(fs::path(folder_) / "sub");
  refused("sub");
}

TEST_F(FilesFolderTest, SymbolicLinksOutOfTheFolderAreRefused) {
  fs::create_directory_symlink(base_ / "outside", fs::path(folder_) / "out");
  fs::create_symlink("/etc/passwd", fs::path(folder_) / "passwd.csv");
  EXPECT_NE(refused("out/x.csv").find("symbolic link"), std::string::npos);
  refused("passwd.csv");
  // A link that stays inside is followed and stored as where it leads.
  fs::create_directory(fs::path(folder_) / "real");
  fs::create_directory_symlink(fs::path(folder_) / "real", fs::path(folder_) / "alias");
  EXPECT_EQ(*check("alias/x.csv"), folder_ + "/real/x.csv");
}

TEST_F(FilesFolderTest, OutputIsWrittenInsideAtomically) {
  ObjectIoOptions io;
  io.files_folder = folder_;
  auto out = open_output("spring.csv", io);
  ASSERT_TRUE(out.ok()) << out.status();
  (*out)->stream() << "a,b\r\n";
  EXPECT_FALSE(fs::exists(fs::path(folder_) / "spring.csv"));
  ASSERT_TRUE((*out)->commit().ok());
  EXPECT_EQ(read(fs::path(folder_) / "spring.csv"), "a,b\r\n");
  EXPECT_FALSE(fs::exists(fs::path(folder_) / "spring.csv.partial"));
  EXPECT_FALSE(open_output("/tmp/escape.csv", io).ok());
  EXPECT_FALSE(open_output("../outside/escape.csv", io).ok());
}

TEST_F(FilesFolderTest, ALinkThatAppearsAfterTheCheckIsNotWrittenThrough) {
  ObjectIoOptions io;
  io.files_folder = folder_;
  fs::create_directory(fs::path(folder_) / "results");
  auto out = open_output("results/spring.csv", io);
  ASSERT_TRUE(out.ok()) << out.status();
  (*out)->stream() << "secret rows\r\n";
  // Between opening and committing, the name becomes a link to a file
  // outside.
  const fs::path victim = base_ / "outside" / "victim";
  std::ofstream(victim) << "keep me";
  fs::create_symlink(victim, fs::path(folder_) / "results" / "spring.csv");
  EXPECT_FALSE((*out)->commit().ok());
  EXPECT_EQ(read(victim), "keep me");
}

TEST_F(FilesFolderTest, OpenInFolderWalksWithoutFollowingLinks) {
  fs::create_directories(fs::path(folder_) / "a" / "b");
  auto entry = open_in_folder(folder_, "inputfile", "a/b/list.csv");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->name, "list.csv");
  EXPECT_EQ(entry->path, folder_ + "/a/b/list.csv");
  EXPECT_GE(entry->dir.get(), 0);
  // A folder on the way replaced by a link out after the value was checked
  // (the race path_in_folder alone cannot close): the walk refuses it.
  const std::string checked = *path_in_folder(folder_, "inputfile", "a/b/list.csv");
  fs::remove_all(fs::path(folder_) / "a");
  fs::create_directories(base_ / "outside" / "b");
  fs::create_directory_symlink(base_ / "outside", fs::path(folder_) / "a");
  auto walked = open_checked_path(folder_, "inputfile", checked);
  ASSERT_FALSE(walked.ok());
  EXPECT_NE(std::string(sv(walked.status().message())).find("symbolic link"), std::string::npos)
      << walked.status();
  EXPECT_FALSE(open_in_folder(folder_, "inputfile", "a/b/list.csv").ok());
}

TEST_F(FilesFolderTest, InputIsReadInsideOnlyAndNeverThroughALink) {
  ObjectIoOptions io;
  io.files_folder = folder_;
  std::ofstream(fs::path(folder_) / "list.csv") << "custID,phone\n";
  auto in = open_input("list.csv", io);
  ASSERT_TRUE(in.ok()) << in.status();
  std::string line;
  std::getline(**in, line);
  EXPECT_EQ(line, "custID,phone");
  EXPECT_FALSE(open_input("/etc/passwd", io).ok());
  fs::create_symlink("/etc/passwd", fs::path(folder_) / "passwd.csv");
  EXPECT_FALSE(open_input("passwd.csv", io).ok());
  EXPECT_FALSE(open_input("missing.csv", io).ok());
  // A FIFO is not a list, and opening it does not hang.
  ASSERT_EQ(::mkfifo((fs::path(folder_) / "fifo.csv").c_str(), 0600), 0);
  EXPECT_FALSE(open_input("fifo.csv", io).ok());
}

TEST_F(FilesFolderTest, WithoutAFolderAnyPathIsOpen) {
  // The command line keeps full paths.
  const fs::path p = base_ / "outside" / "cli.csv";
  auto out = open_output(p.string(), {});
  ASSERT_TRUE(out.ok());
  (*out)->stream() << "x";
  ASSERT_TRUE((*out)->commit().ok());
  EXPECT_EQ(read(p), "x");
}

}  // namespace
}  // namespace pd
