#include "io/dnc_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "core/strings.h"
#include "core/time_format.h"
#include "io/phone.h"

namespace pd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

struct FakeDnc {
  struct Added {
    std::string number, source;
    std::optional<WallTime> expires_at;
    bool operator==(const Added&) const = default;
  };
  int opened = 0;
  bool committed = false;
  std::vector<Added> added;
};

class FakeDncWriter : public DncWriter {
 public:
  explicit FakeDncWriter(FakeDnc& dnc) : dnc_(dnc) {}
  absl::Status add(std::string_view e164, std::string_view source,
                   std::optional<WallTime> expires_at) override {
    dnc_.added.push_back({std::string(e164), std::string(source), expires_at});
    return absl::OkStatus();
  }
  absl::StatusOr<DncLoadResult> commit() override {
    dnc_.committed = true;
    return DncLoadResult{static_cast<int64_t>(dnc_.added.size()), 0,
                         static_cast<int64_t>(dnc_.added.size())};
  }

 private:
  FakeDnc& dnc_;
};

WallTime at(std::string_view iso) { return *parse_iso8601(iso); }

struct ImportRun {
  FakeDnc dnc;
  std::vector<std::pair<int64_t, std::string>> rejects;
  absl::StatusOr<DncImportSummary> summary = absl::UnknownError("not run");
};

ImportRun import(const std::string& text, DncImportOptions options = {}) {
  ImportRun r;
  if (options.source.empty()) options.source = "test";
  options.workers = 1;
  options.on_reject = [&](int64_t line, std::string_view why) {
    r.rejects.emplace_back(line, std::string(why));
  };
  std::istringstream in(text);
  r.summary = import_dnc(
      in, "dnc.csv",
      [&]() -> absl::StatusOr<std::unique_ptr<DncWriter>> {
        ++r.dnc.opened;
        return std::make_unique<FakeDncWriter>(r.dnc);
      },
      options);
  return r;
}

TEST(DncFile, OneNumberPerLineIsNormalisedLikeListNumbers) {
  ImportRun r = import("(202) 555-0123\n\n+44 20 7946 0958\n202.555.0124\n");
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(r.summary->rows, 3);
  EXPECT_EQ(r.summary->rejected, 0);
  ASSERT_EQ(r.dnc.added.size(), 3u);
  EXPECT_EQ(r.dnc.added[0].number, *normalize_phone("(202) 555-0123", "US"));
  EXPECT_EQ(r.dnc.added[0].number, "+12025550123");
  EXPECT_EQ(r.dnc.added[1].number, "+442079460958");
  EXPECT_EQ(r.dnc.added[2].number, "+12025550124");
  EXPECT_EQ(r.dnc.added[0].source, "test");
  EXPECT_FALSE(r.dnc.added[0].expires_at);
  EXPECT_TRUE(r.dnc.committed);
}

TEST(DncFile, BadRowsAreReportedByLineAndGoodOnesKept) {
  ImportRun r = import("2025550123\n12\nnot a number\n2025550125\n\"unterminated\n");
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(r.summary->rows, 5);
  EXPECT_EQ(r.summary->rejected, 3);
  ASSERT_EQ(r.dnc.added.size(), 2u);
  EXPECT_EQ(r.dnc.added[1].number, "+12025550125");
  ASSERT_EQ(r.rejects.size(), 3u);
  EXPECT_EQ(r.rejects[0].first, 2);
  EXPECT_THAT(r.rejects[0].second, HasSubstr("invalid phone \"12\""));
  EXPECT_EQ(r.rejects[1].first, 3);
  EXPECT_EQ(r.rejects[2].first, 5);
  EXPECT_THAT(r.summary->rejected_by_reason,
              ElementsAre(Pair("invalid_phone", 2), Pair("unreadable_row", 1)));
}

TEST(DncFile, CsvWithNumberExpiresAndSourceColumns) {
  ImportRun r = import(
      "Name,Phone_Number,Expires,Source\n"
      "a,2025550123,2027-01-31,fcc\n"
      "b,2025550124,,\n"
      "c,2025550125,2027-01-31T12:00:00-05:00,state:fl\n"
      "d,2025550126,31/01/2027,fcc\n"
      "e,2025550127,,bad label!\n"
      "f,2025550128\n"
      "g,,,\n",
      {.default_region = "US", .source = "file", .expires_at = at("2030-01-01T00:00:00.000Z")});
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(r.summary->rows, 7);
  ASSERT_EQ(r.dnc.added.size(), 3u);
  EXPECT_EQ(r.dnc.added[0],
            (FakeDnc::Added{"+12025550123", "fcc", at("2027-02-01T00:00:00.000Z")}));
  // Defaults fill what a row leaves empty.
  EXPECT_EQ(r.dnc.added[1],
            (FakeDnc::Added{"+12025550124", "file", at("2030-01-01T00:00:00.000Z")}));
  EXPECT_EQ(r.dnc.added[2],
            (FakeDnc::Added{"+12025550125", "state:fl", at("2027-01-31T17:00:00.000Z")}));
  ASSERT_EQ(r.rejects.size(), 4u);
  EXPECT_EQ(r.rejects[0].first, 5);
  EXPECT_THAT(r.rejects[0].second, HasSubstr("invalid expiry \"31/01/2027\""));
  EXPECT_EQ(r.rejects[1].first, 6);
  EXPECT_THAT(r.rejects[1].second, HasSubstr("bad label!"));
  EXPECT_EQ(r.rejects[2].first, 7);
  EXPECT_THAT(r.rejects[2].second, HasSubstr("expected 4 fields, found 2"));
  EXPECT_EQ(r.rejects[3].first, 8);
  EXPECT_EQ(r.rejects[3].second, "missing number");
}

TEST(DncFile, HeaderWithoutNumberColumnChangesNothing) {
  ImportRun r = import("name,email\na,b\n");
  EXPECT_EQ(r.summary.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.summary.status().message(), HasSubstr("no number column"));
  EXPECT_THAT(r.summary.status().message(), HasSubstr("name, email"));
  EXPECT_EQ(r.dnc.opened, 0);
}

TEST(DncFile, TwoNumberColumnsAreRefused) {
  ImportRun r = import("phone,e164\n1,2\n");
  EXPECT_THAT(r.summary.status().message(), HasSubstr("both name the number"));
}

TEST(DncFile, NoValidRowCommitsNothing) {
  ImportRun r = import("phone\n12\nabc\n");
  EXPECT_EQ(r.summary.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.summary.status().message(), HasSubstr("no valid numbers (2 row(s) rejected)"));
  EXPECT_FALSE(r.dnc.committed);
}

TEST(DncFile, EmptyFileAndBadOptions) {
  EXPECT_THAT(import("\n\n").summary.status().message(), HasSubstr("file is empty"));
  EXPECT_THAT(import("2025550123\n", {.default_region = "XX"}).summary.status().message(),
              HasSubstr("unknown default region"));
  EXPECT_THAT(import("2025550123\n", {.source = "a b"}).summary.status().message(),
              HasSubstr("may hold only"));
}

TEST(DncFile, ManyRowsGoThroughInBatches) {
  std::string text = "phone\n";
  for (int i = 0; i < 5000; ++i) text += cat("+1202555", 1000 + i % 9000, "\n");
  ImportRun r = import(text);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(r.dnc.added.size(), 5000u);
  EXPECT_EQ(r.dnc.added[4999].number, "+12025555999");
}

TEST(DncFile, ExpiresParsing) {
  EXPECT_EQ(*parse_dnc_expires("2027-01-31"), at("2027-02-01T00:00:00.000Z"));
  EXPECT_EQ(*parse_dnc_expires("2027-01-31T17:00:00Z"), at("2027-01-31T17:00:00.000Z"));
  EXPECT_EQ(*parse_dnc_expires("2027-01-31t17:00:00.25z"), at("2027-01-31T17:00:00.250Z"));
  EXPECT_EQ(*parse_dnc_expires("2027-01-31T17:00:00+01:30"), at("2027-01-31T15:30:00.000Z"));
  for (std::string_view bad : {"", "2027-02-30", "2027-1-31", "2027-01-31T25:00:00Z",
                               "2027-01-31T17:00:00", "tomorrow", "2027-01-31T17:00:00+0100"}) {
    EXPECT_FALSE(parse_dnc_expires(bad).ok()) << bad;
  }
}

TEST(DncFile, KeysRoundTrip) {
  EXPECT_EQ(dnc_key("+12025550123"), 12025550123);
  EXPECT_EQ(dnc_number(12025550123), "+12025550123");
  EXPECT_EQ(dnc_key("+999999999999999"), 999999999999999);
  EXPECT_FALSE(dnc_key("12025550123"));
  EXPECT_FALSE(dnc_key("+0123"));
  EXPECT_FALSE(dnc_key("+1234567890123456"));
  EXPECT_FALSE(dnc_key("+1202x"));
}

TEST(DncFile, CsvOutputReadsBack) {
  std::ostringstream out;
  DncCsvWriter w(out);
  w.add({"+12025550123", "fcc", at("2026-12-01T10:00:00.000Z"), at("2027-01-01T00:00:00.000Z")});
  w.add({"+12025550124", "manual", at("2026-12-01T10:00:00.000Z"), std::nullopt});
  ImportRun r = import(out.str());
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_THAT(r.dnc.added,
              ElementsAre(FakeDnc::Added{"+12025550123", "fcc", at("2027-01-01T00:00:00.000Z")},
                          FakeDnc::Added{"+12025550124", "manual", std::nullopt}));
}

TEST(DncFile, JsonOutputAndCheck) {
  const WallTime now = at("2027-06-01T00:00:00.000Z");
  std::ostringstream out;
  DncJsonWriter w(out, now);
  w.add({"+12025550123", "fcc", at("2026-12-01T10:00:00.000Z"), at("2027-01-01T00:00:00.000Z")});
  w.finish();
  auto j = nlohmann::json::parse(out.str());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["expired"], true);
  EXPECT_EQ(j[0]["expires_at"], "2027-01-01T00:00:00.000Z");
  std::ostringstream empty;
  DncJsonWriter(empty, now).finish();
  EXPECT_EQ(nlohmann::json::parse(empty.str()), nlohmann::json::array());

  auto missing = dnc_check_json("+12025550123", std::nullopt, now);
  EXPECT_EQ(missing["listed"], false);
  auto listed = dnc_check_json(
      "+12025550123", DncEntry{"+12025550123", "fcc", at("2026-12-01T10:00:00.000Z"), {}}, now);
  EXPECT_EQ(listed["listed"], true);
  EXPECT_EQ(listed["source"], "fcc");
}

TEST(DncFile, SourceLabels) {
  EXPECT_TRUE(check_dnc_source("fcc-2026.12/state:FL_x").ok());
  EXPECT_FALSE(check_dnc_source("").ok());
  EXPECT_FALSE(check_dnc_source(std::string(65, 'a')).ok());
  EXPECT_FALSE(check_dnc_source("a,b").ok());
}

}  // namespace
}  // namespace pd
