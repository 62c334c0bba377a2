#include "server/multipart_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace pd {
namespace {

const std::string kBody =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"note\"\r\n\r\n"
    "not the list\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"list.csv\"\r\n"
    "Content-Type: text/csv\r\n\r\n"
    "custID,phone\r\nA1,+12025550100\r\n--X not yet\r\n"
    "\r\n--XyZ--\r\n";
const std::string kFile = "custID,phone\r\nA1,+12025550100\r\n--X not yet\r\n";

TEST(MultipartFileReader, TakesTheFilePartWhateverTheReadSizes) {
  for (size_t step : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{64}, kBody.size()}) {
    MultipartFileReader reader("XyZ");
    std::string file;
    for (size_t i = 0; i < kBody.size(); i += step) {
      ASSERT_TRUE(reader.feed(std::string_view(kBody).substr(i, step), file).ok());
    }
    EXPECT_TRUE(reader.finish().ok()) << step;
    EXPECT_EQ(file, kFile) << step;
  }
}

TEST(MultipartFileReader, TheFirstPartWithAFilenameWhenNoneIsNamedFile) {
  MultipartFileReader reader("b");
  std::string file;
  ASSERT_TRUE(reader
                  .feed("preamble\r\n--b\r\nContent-Disposition: form-data; name=\"upload\"; "
                        "filename=\"x.csv\"\r\n\r\nrow\r\n--b--",
                        file)
                  .ok());
  EXPECT_TRUE(reader.finish().ok());
  EXPECT_EQ(file, "row");
}

TEST(MultipartFileReader, NoFilePartOrACutShortOneIsAnError) {
  MultipartFileReader none("b");
  std::string file;
  ASSERT_TRUE(
      none.feed("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--", file).ok());
  EXPECT_NE(none.finish().message().find("no file part"), std::string::npos);

  MultipartFileReader cut("b");
  ASSERT_TRUE(
      cut.feed("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nrow1\r\nro", file)
          .ok());
  EXPECT_FALSE(cut.finish().ok());

  MultipartFileReader endless("b");
  EXPECT_FALSE(endless.feed("--b\r\n" + std::string(10000, 'h'), file).ok());
}

}  // namespace
}  // namespace pd
