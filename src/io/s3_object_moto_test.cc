// S3 client and ObjectIO's s3:// streams against a real moto_server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "aws/s3.h"
#include "aws/testing/moto_server.h"
#include "core/strings.h"
#include "io/list_import.h"
#include "io/object_io.h"
#include "io/s3_object.h"
#include "store/store.h"

namespace pd {
namespace {

using ::testing::HasSubstr;

std::string message(const absl::Status& s) { return std::string(sv(s.message())); }

// Deterministic bytes: position i holds a function of i, so a misplaced or
// repeated range shows up as a mismatch.
char byte_at(size_t i) { return static_cast<char>((i * 131 + i / 4099) & 0xff); }

class MotoS3Test : public aws::testing::MotoSuite {
 protected:
  void SetUp() override {
    aws::testing::MotoSuite::SetUp();
    if (HasFatalFailure()) return;
    options_.region = aws::testing::MotoServer::kRegion;
    options_.s3_endpoint = moto().endpoint();
    options_.credentials = aws::testing::MotoServer::credentials();
    auto s3 = aws::make_s3_client(options_.region, options_.s3_endpoint, options_.credentials);
    ASSERT_TRUE(s3.ok()) << s3.status();
    s3_ = *s3;
  }
  void create_bucket(const std::string& bucket) {
    absl::Status s = s3_->create_bucket(bucket);
    ASSERT_TRUE(s.ok()) << s;
  }

  ObjectIoOptions options_;
  std::shared_ptr<aws::S3Client> s3_;
};

TEST_F(MotoS3Test, MultipartRoundTripWithBoundedMemory) {
  create_bucket("round-trip");
  const size_t total = (size_t{20} << 20) + 12345;  // three parts: 8 + 8 + 4 MiB
  const std::string location = "s3://round-trip/results/2026/out.csv";
  {
    S3OutputObject out(s3_, location, {"round-trip", "results/2026/out.csv"});
    std::string block(64 * 1024, '\0');
    for (size_t at = 0; at < total;) {
      const size_t n = std::min(block.size(), total - at);
      for (size_t i = 0; i < n; ++i) block[i] = byte_at(at + i);
      out.stream().write(block.data(), static_cast<std::streamsize>(n));
      at += n;
    }
    EXPECT_EQ(out.parts_uploaded(), 2);  // the third waits for commit()
    EXPECT_LE(out.buffer_capacity(), kS3ChunkBytes + 64 * 1024);
    absl::Status s = out.commit();
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(out.parts_uploaded(), 3);
  }
  auto info = s3_->head_object("round-trip", "results/2026/out.csv");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size, static_cast<int64_t>(total));

  // Read it back through ObjectIO, 8 MiB ranges.
  auto in = open_input(location, options_);
  ASSERT_TRUE(in.ok()) << in.status();
  std::string block(100 * 1000, '\0');
  size_t at = 0, mismatches = 0;
  while (**in) {
    (*in)->read(block.data(), static_cast<std::streamsize>(block.size()));
    const auto got = static_cast<size_t>((*in)->gcount());
    for (size_t i = 0; i < got; ++i) mismatches += block[i] != byte_at(at + i);
    at += got;
  }
  EXPECT_FALSE((*in)->bad());
  EXPECT_EQ(at, total);
  EXPECT_EQ(mismatches, 0u);
  auto* s3in = dynamic_cast<S3InputStream*>(in->get());
  ASSERT_NE(s3in, nullptr);
  EXPECT_LE(s3in->buffer_capacity(), kS3ChunkBytes + 1024);
}

TEST_F(MotoS3Test, RangedReads) {
  create_bucket("ranges");
  std::string body;
  for (int i = 0; i < 100; ++i) body += static_cast<char>('A' + i % 26);
  ASSERT_TRUE(s3_->put_object("ranges", "letters", body).ok());

  auto r = s3_->get_object_range("ranges", "letters", 3, 4);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->data, "DEFG");
  EXPECT_EQ(r->object_size, 100);
  auto tail = s3_->get_object_range("ranges", "letters", 98, 10);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->data, "UV");
  auto past = s3_->get_object_range("ranges", "letters", 100, 10);
  EXPECT_TRUE(absl::IsOutOfRange(past.status())) << past.status();

  // Many small ranges stitch back into the object.
  auto in = S3InputStream::open(s3_, "s3://ranges/letters", {"ranges", "letters"}, 7);
  ASSERT_TRUE(in.ok()) << in.status();
  std::ostringstream all;
  all << (*in)->rdbuf();
  EXPECT_EQ(all.str(), body);
  EXPECT_EQ((*in)->object_size(), 100);
}

TEST_F(MotoS3Test, ReplacedMidReadFailsRatherThanMixingVersions) {
  create_bucket("pinned");
  ASSERT_TRUE(s3_->put_object("pinned", "k", std::string(50, 'a')).ok());
  auto in = S3InputStream::open(s3_, "s3://pinned/k", {"pinned", "k"}, 10);
  ASSERT_TRUE(in.ok()) << in.status();
  ASSERT_TRUE(s3_->put_object("pinned", "k", std::string(50, 'b')).ok());
  std::string got(50, '\0');
  (*in)->read(got.data(), 50);
  EXPECT_TRUE((*in)->bad());
  EXPECT_EQ(got.find('b'), std::string::npos);  // not one byte of the new version
  EXPECT_THAT(message((*in)->error()), HasSubstr("s3://pinned/k: PreconditionFailed"));
}

TEST_F(MotoS3Test, EmptyObjectRoundTrip) {
  create_bucket("empty");
  auto out = open_output("s3://empty/nothing.csv", options_);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_TRUE((*out)->commit().ok());
  auto in = open_input("s3://empty/nothing.csv", options_);
  ASSERT_TRUE(in.ok()) << in.status();
  std::ostringstream all;
  all << (*in)->rdbuf();
  EXPECT_EQ(all.str(), "");
  EXPECT_FALSE((*in)->bad());
}

TEST_F(MotoS3Test, MissingKeyAndBucketNameTheLocationAndAwsError) {
  create_bucket("errors");
  auto no_key = open_input("s3://errors/missing.csv", options_);
  EXPECT_TRUE(absl::IsNotFound(no_key.status())) << no_key.status();
  EXPECT_EQ(message(no_key.status()),
            "s3://errors/missing.csv: NoSuchKey: The specified key does not exist.");

  auto no_bucket = open_input("s3://no-such-bucket/list.csv", options_);
  EXPECT_TRUE(absl::IsNotFound(no_bucket.status())) << no_bucket.status();
  EXPECT_THAT(message(no_bucket.status()), HasSubstr("s3://no-such-bucket/list.csv: NoSuchBucket"));

  auto out = open_output("s3://no-such-bucket/out.csv", options_);
  ASSERT_TRUE(out.ok());
  (*out)->stream() << "custID,phone\n";
  absl::Status s = (*out)->commit();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_THAT(message(s), HasSubstr("s3://no-such-bucket/out.csv: NoSuchBucket"));

  EXPECT_THAT(message(open_input("s3://errors", options_).status()), HasSubstr("with a key"));
  EXPECT_THAT(message(open_input("s3://Bad_Bucket/k", options_).status()),
              HasSubstr("not a valid S3 bucket name"));
}

TEST_F(MotoS3Test, UncommittedOutputLeavesThePreviousObject) {
  create_bucket("keep");
  ASSERT_TRUE(s3_->put_object("keep", "results.csv", "previous\n").ok());
  {
    // Big enough that a multipart upload is under way when it is dropped.
    auto out = open_output("s3://keep/results.csv", options_);
    ASSERT_TRUE(out.ok());
    const std::string block(1 << 20, 'x');
    for (int i = 0; i < 10; ++i) (*out)->stream() << block;
    EXPECT_EQ(dynamic_cast<S3OutputObject*>(out->get())->parts_uploaded(), 1);
  }  // destroyed without commit(): aborted
  auto now = s3_->get_object("keep", "results.csv");
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(*now, "previous\n");
  {
    auto small = open_output("s3://keep/results.csv", options_);
    ASSERT_TRUE(small.ok());
    (*small)->stream() << "not committed\n";
  }
  EXPECT_EQ(*s3_->get_object("keep", "results.csv"), "previous\n");
}

// The `load s3://...` path: list_import reading through an S3 stream whose
// ranges cut records (and a multi-byte character) in the middle.
TEST_F(MotoS3Test, ListImportReadsThroughRanges) {
  create_bucket("lists");
  std::string csv = "custID,phone,name\n";
  for (int i = 0; i < 50; ++i) csv += cat("c", i, ",+1202555", 1000 + i, ",Zoë ", i, "\n");
  ASSERT_TRUE(s3_->put_object("lists", "dial/list.csv", csv).ok());

  struct Writer : ListWriter {
    std::set<std::string>* ids;
    absl::StatusOr<bool> add(std::string_view cust_id, std::string_view, std::string_view,
                             int64_t, const CalleeFacts&) override {
      return ids->emplace(cust_id).second;
    }
    absl::Status reject(int64_t, std::string_view reason) override {
      return absl::InternalError(std::string(reason));
    }
    absl::Status count_rejects(const std::map<std::string, int64_t>&) override {
      return absl::OkStatus();
    }
    absl::Status commit() override { return absl::OkStatus(); }
  };
  std::set<std::string> ids;
  auto in = S3InputStream::open(s3_, "s3://lists/dial/list.csv", {"lists", "dial/list.csv"}, 13);
  ASSERT_TRUE(in.ok()) << in.status();
  ImportOptions options;
  options.workers = 1;
  auto summary = import_list(
      **in, "s3://lists/dial/list.csv",
      [&]() -> absl::StatusOr<std::unique_ptr<ListWriter>> {
        auto w = std::make_unique<Writer>();
        w->ids = &ids;
        return w;
      },
      options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->loaded, 50);
  EXPECT_EQ(summary->rejected, 0);
  EXPECT_EQ(ids.size(), 50u);
}

TEST(S3LocationTest, Parses) {
  auto l = aws::parse_s3_location("s3://my.bucket-1/a/b c/d.csv");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->bucket, "my.bucket-1");
  EXPECT_EQ(l->key, "a/b c/d.csv");
  EXPECT_FALSE(aws::parse_s3_location("s3://bucket/").ok());
  EXPECT_FALSE(aws::parse_s3_location("s3://bucket").ok());
  EXPECT_FALSE(aws::parse_s3_location("s3://ab/k").ok());
  EXPECT_FALSE(aws::parse_s3_location("/local/path").ok());
}

}  // namespace
}  // namespace pd
