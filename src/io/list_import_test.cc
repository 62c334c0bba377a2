#include "io/list_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "io/phone_pool.h"

namespace pd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// What a fake store holds after an import.
struct FakeList {
  struct Added {
    std::string cust_id;
    std::string phone;
    std::string attributes;
    int64_t line = 0;
    bool operator==(const Added&) const = default;
  };
  int opened = 0;
  bool committed = false;
  std::vector<Added> added;
  std::vector<std::pair<int64_t, std::string>> rejects;
  std::map<std::string, int64_t> reject_counts;
  int64_t fail_add_at_line = -1;                                 // add() fails for this line
  std::set<std::pair<std::string, std::string>> listed_already;  // as for an append
  std::vector<CalleeFacts> callees;  // by added row
};

class FakeWriter : public ListWriter {
 public:
  explicit FakeWriter(FakeList& list) : list_(list) {}
  absl::StatusOr<bool> add(std::string_view cust_id, std::string_view phone,
                           std::string_view attributes_json, int64_t line,
                           const CalleeFacts& callee) override {
    if (line == list_.fail_add_at_line) {
      return absl::ResourceExhaustedError("list.db: the disk is full");
    }
    if (list_.listed_already.count({std::string(cust_id), std::string(phone)}) > 0) return false;
    if (!pairs_.emplace(cust_id, phone).second) return false;
    list_.added.push_back(
        {std::string(cust_id), std::string(phone), std::string(attributes_json), line});
    list_.callees.push_back(callee);
    return true;
  }
  absl::Status reject(int64_t line, std::string_view reason) override {
    list_.rejects.emplace_back(line, std::string(reason));
    return absl::OkStatus();
  }
  absl::Status count_rejects(const std::map<std::string, int64_t>& by_reason) override {
    list_.reject_counts = by_reason;
    return absl::OkStatus();
  }
  absl::Status commit() override {
    list_.committed = true;
    return absl::OkStatus();
  }

 private:
  FakeList& list_;
  std::set<std::pair<std::string, std::string>> pairs_;
};

struct ImportRun {
  absl::StatusOr<ImportSummary> summary;
  std::vector<std::pair<int64_t, std::string>> reported;  // through on_reject
};

ImportRun run(const std::string& csv, FakeList& list, ImportOptions options = {}) {
  if (options.pool == nullptr && options.workers == 0) options.workers = 1;
  ImportRun r;
  options.on_reject = [&r](int64_t line, std::string_view reason) {
    r.reported.emplace_back(line, std::string(reason));
  };
  std::istringstream in(csv);
  r.summary = import_list(
      in, "list.csv",
      [&list]() -> absl::StatusOr<std::unique_ptr<ListWriter>> {
        ++list.opened;
        return std::make_unique<FakeWriter>(list);
      },
      options);
  return r;
}

std::string message(const absl::Status& s) { return std::string(sv(s.message())); }

TEST(ListImportTest, LoadsCustomersWithE164Phones) {
  FakeList list;
  ImportRun r = run("custID,phone\nc1,+12025550123\nc2,(202) 555-0124\n", list);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_TRUE(list.committed);
  EXPECT_THAT(list.added, ElementsAre(FakeList::Added{"c1", "+12025550123", "{}", 2},
                                      FakeList::Added{"c2", "+12025550124", "{}", 3}));
  EXPECT_EQ(r.summary->rows, 2);
  EXPECT_EQ(r.summary->loaded, 2);
  EXPECT_EQ(r.summary->rejected, 0);
  EXPECT_EQ(r.summary->duplicates, 0);
}

TEST(ListImportTest, FindsRequiredColumnsIgnoringCaseAndOrder) {
  FakeList list;
  ImportRun r = run("PHONE,Name,CUSTID\n+12025550123,Ann,c1\n", list);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  ASSERT_EQ(list.added.size(), 1u);
  EXPECT_EQ(list.added[0].cust_id, "c1");
  EXPECT_EQ(list.added[0].phone, "+12025550123");
  EXPECT_EQ(list.added[0].attributes, R"({"Name":"Ann"})");
}

TEST(ListImportTest, StoresOtherColumnsAsAJsonObjectInColumnOrder) {
  FakeList list;
  ImportRun r =
      run("zone,custID,name,phone,note\n"
          "EST,c1,\"Smith, \"\"Jo\"\"\",+12025550123,\"two\nlines \\ é\"\n"
          "PST,c2,,+12025550124,\n",
          list);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  ASSERT_EQ(list.added.size(), 2u);
  EXPECT_EQ(list.added[0].attributes,
            R"({"zone":"EST","name":"Smith, \"Jo\"","note":"two\nlines \\ é"})");
  const auto parsed = nlohmann::json::parse(list.added[0].attributes);
  EXPECT_EQ(parsed["note"], "two\nlines \\ é");
  EXPECT_EQ(list.added[1].attributes, R"({"zone":"PST","name":"","note":""})");
  EXPECT_EQ(list.added[1].line, 4);  // the quoted field spanned lines 2-3
}

TEST(ListImportTest, TimezoneAndPostalCodeColumnsPlaceTheCalleeAndStayAttributes) {
  FakeList list;
  ImportRun r = run(
      "custID,phone,TimeZone,Postal_Code\n"
      "a,+13055550100,,32501\n"                // a Pensacola ZIP: Central time
      "b,+13055550101,America/Denver,32501\n"  // the timezone column wins
      "c,+13055550102,,\n"                     // the number's prefix: Miami
      "d,+13055550103,Mars/Base,\n",
      list);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  ASSERT_EQ(list.callees.size(), 3u);
  using Zones = std::vector<std::string>;
  EXPECT_EQ(list.callees[0].zones, Zones{"America/Chicago"});
  EXPECT_EQ(list.callees[0].region, "US-FL");
  EXPECT_EQ(list.callees[1].zones, Zones{"America/Denver"});
  EXPECT_EQ(list.callees[2].zones, Zones{"America/New_York"});
  EXPECT_EQ(list.callees[2].region, "US-FL");
  EXPECT_EQ(list.added[0].attributes, R"({"TimeZone":"","Postal_Code":"32501"})");
  ASSERT_EQ(r.reported.size(), 1u);
  EXPECT_EQ(r.reported[0].first, 5);
  EXPECT_EQ(r.reported[0].second,
            "column 3 (timezone): 'Mars/Base' is not an IANA time zone name (e.g. "
            "America/Chicago, Europe/London)");
  EXPECT_EQ(r.summary->rejected_by_reason.at(reject_reason::kInvalidTimezone), 1);
  // A zip column serves when there is no postal_code column.
  FakeList zip;
  ASSERT_TRUE(run("custID,phone,zip\na,+13055550100,79901-1234\n", zip).summary.ok());
  EXPECT_EQ(zip.callees[0].zones, Zones{"America/Denver"});  // El Paso
  EXPECT_EQ(zip.callees[0].region, "US-TX");
}

TEST(ListImportTest, ACustomerWithSeveralPhonesKeepsThemInFileOrderAndRepeatsOnce) {
  FakeList list;
  ImportRun r =
      run("custID,phone\n"
          "c1,+12025550123\n"
          "c2,+12025550199\n"
          "c1,+442079460958\n"
          "c1,(202) 555-0123\n"  // the same number as line 2, written otherwise
          "c2,+12025550123\n",   // another customer may share a number
          list);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_THAT(list.added, ElementsAre(FakeList::Added{"c1", "+12025550123", "{}", 2},
                                      FakeList::Added{"c2", "+12025550199", "{}", 3},
                                      FakeList::Added{"c1", "+442079460958", "{}", 4},
                                      FakeList::Added{"c2", "+12025550123", "{}", 6}));
  EXPECT_EQ(r.summary->rows, 5);
  EXPECT_EQ(r.summary->loaded, 4);
  EXPECT_EQ(r.summary->duplicates, 1);
  EXPECT_EQ(r.summary->rejected, 0);
  EXPECT_EQ(r.summary->customers, 0);  // left to the caller (see list_import.h)
}

TEST(ListImportTest, ReadsNumbersWithoutPlusInTheDefaultRegion) {
  FakeList list;
  ImportOptions o;
  o.default_region = "gb";  // any case
  ImportRun r =
      run("custID,phone\nc1,020 7946 0958\nc2,+1 202 555 0123\nc3,(202) 555-0124\n", list, o);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  ASSERT_EQ(list.added.size(), 2u);
  EXPECT_EQ(list.added[0].phone, "+442079460958");
  EXPECT_EQ(list.added[1].phone, "+12025550123");
  EXPECT_THAT(r.reported, ElementsAre(Pair(4, HasSubstr("invalid phone \"(202) 555-0124\""))));
}

TEST(ListImportTest, AnUnknownDefaultRegionIsAnErrorBeforeTheWriterOpens) {
  FakeList list;
  ImportOptions o;
  o.default_region = "XX";
  ImportRun r = run("custID,phone\nc1,+12025550123\n", list, o);
  ASSERT_FALSE(r.summary.ok());
  EXPECT_EQ(r.summary.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message(r.summary.status()), HasSubstr("unknown default region \"XX\""));
  EXPECT_EQ(list.opened, 0);
}

TEST(ListImportTest, RejectsEachBadRowWithItsLineAndReasonInLineOrder) {
  const std::string long_id(129, 'x');
  const std::string long_phone = "+1 202 555 0123 4567 8901 2345 6789 0123 4567 8901";
  FakeList list;
  ImportRun r = run(cat("custID,phone,name\n",                // 1
                        "c1,+12025550123,Ann\n",              // 2 good
                        "\n",                                 // 3 blank: skipped
                        "c2,+12025550124\n",                  // 4 two fields
                        ",+12025550125,Bo\n",                 // 5 no custID
                        "c3, ,Cy\n",                          // 6 no phone
                        long_id, ",+12025550126,Di\n",        // 7 custID too long
                        "c4,12,Ed\n",                         // 8 invalid phone
                        "c5,+12025550127,\"multi\nline\"\n",  // 9-10 good
                        "c6,abc,Fay\n",                       // 11 invalid phone
                        "c7,+12025550128,\"bad\"x\n",         // 12 CSV error
                        "c8,", long_phone, ",Gus\n",          // 13 invalid, long
                        "c9,+12025550129,\"unterminated\n"),  // 14 CSV error
                    list);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  ASSERT_EQ(r.reported.size(), 9u);
  EXPECT_THAT(r.reported[0], Pair(4, "expected 3 fields, found 2"));
  EXPECT_THAT(r.reported[1], Pair(5, "missing custID"));
  EXPECT_THAT(r.reported[2], Pair(6, "missing phone"));
  EXPECT_EQ(r.reported[3].first, 7);
  EXPECT_THAT(r.reported[3].second, HasSubstr("is longer than 128 bytes"));
  EXPECT_THAT(r.reported[4], Pair(8, "invalid phone \"12\": too short"));
  EXPECT_THAT(r.reported[5], Pair(11, "invalid phone \"abc\": not a phone number"));
  EXPECT_EQ(r.reported[6].first, 12);
  EXPECT_THAT(r.reported[6].second, HasSubstr("after closing quote"));
  EXPECT_THAT(r.reported[7],
              Pair(13, cat("invalid phone \"", long_phone.substr(0, 40), "...\": too long")));
  EXPECT_EQ(r.reported[8].first, 14);
  EXPECT_THAT(r.reported[8].second, HasSubstr("unterminated"));
  // The store got the same rejects, and the good rows.
  EXPECT_EQ(list.rejects, r.reported);
  ASSERT_EQ(list.added.size(), 2u);
  EXPECT_EQ(list.added[0].line, 2);
  EXPECT_EQ(list.added[1].line, 9);
  EXPECT_EQ(r.summary->rows, 11);
  EXPECT_EQ(r.summary->loaded, 2);
  EXPECT_EQ(r.summary->rejected, 9);
  // Counted by reason, for the store too.
  const std::map<std::string, int64_t> by_reason = {
      {"wrong_field_count", 1}, {"missing_custid", 1}, {"missing_phone", 1},
      {"custid_too_long", 1},   {"invalid_phone", 3},  {"unreadable_row", 2}};
  EXPECT_EQ(r.summary->rejected_by_reason, by_reason);
  EXPECT_EQ(list.reject_counts, by_reason);
  EXPECT_TRUE(list.committed);
}

TEST(ListImportTest, BlankLinesAreSkippedLikeCsvToolsDo) {
  FakeList list;
  ImportRun r = run(cat("custID,phone\n\n", std::string(100000, '\n'), "c1,+12025550123\n\r\n",
                        std::string(1000, '\n')),
                    list);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(r.summary->rows, 1);
  EXPECT_EQ(r.summary->rejected, 0);
  EXPECT_TRUE(list.rejects.empty());
  EXPECT_TRUE(list.reject_counts.empty());
  ASSERT_EQ(list.added.size(), 1u);
  EXPECT_EQ(list.added[0].line, 100003);  // lines still count from the file's first
}

TEST(ListImportTest, OnlyTheFirstRejectsAreKeptTheRestAreCounted) {
  FakeList list;
  std::string csv = "custID,phone\nc0,+12025550123\n";
  for (int i = 0; i < 3000; ++i) csv += cat("c", i, ",12\n");
  for (int i = 0; i < 500; ++i) csv += cat(",+12025550123\n");
  ImportRun r = run(csv, list);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(r.summary->rejected, 3500);
  EXPECT_EQ(r.reported.size(), 3500u);  // the caller still hears of every one
  ASSERT_EQ(list.rejects.size(), static_cast<size_t>(kMaxRejectsKept));
  EXPECT_EQ(list.rejects.front().first, 3);
  EXPECT_EQ(list.rejects.back().first, 3 + kMaxRejectsKept - 1);
  EXPECT_EQ(list.reject_counts,
            (std::map<std::string, int64_t>{{"invalid_phone", 3000}, {"missing_custid", 500}}));

  ImportOptions few;
  few.max_rejects_kept = 2;
  FakeList other;
  r = run(csv, other, few);
  ASSERT_TRUE(r.summary.ok());
  EXPECT_EQ(other.rejects.size(), 2u);
}

TEST(ListImportTest, AnAppendOfRowsAllListedAlreadySucceedsAddingNothing) {
  FakeList list;
  list.listed_already = {{"c1", "+12025550123"}, {"c2", "+12025550124"}};
  ImportRun r = run("custID,phone\nc1,+12025550123\nc2,(202) 555-0124\nc3,12\n", list);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(r.summary->loaded, 0);
  EXPECT_EQ(r.summary->duplicates, 2);
  EXPECT_EQ(r.summary->rejected, 1);
  EXPECT_TRUE(list.committed);
}

TEST(ListImportTest, AnEmptyFileIsAnError) {
  for (const std::string csv : {"", "\xEF\xBB\xBF", "\n\n", "\xEF\xBB\xBF\r\n"}) {
    FakeList list;
    ImportRun r = run(csv, list);
    ASSERT_FALSE(r.summary.ok());
    EXPECT_EQ(message(r.summary.status()), "list.csv: file is empty");
    EXPECT_EQ(list.opened, 0);
  }
}

TEST(ListImportTest, AMissingColumnIsNamedWithTheColumnsFound) {
  FakeList list;
  ImportRun r = run("custID,name\nc1,Ann\n", list);
  ASSERT_FALSE(r.summary.ok());
  EXPECT_EQ(r.summary.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(message(r.summary.status()),
            "list.csv: no \"phone\" column in the header (columns: custID, name)");
  r = run("\xEF\xBB\xBFPhone,name\n+12025550123,Ann\n", list);
  EXPECT_EQ(message(r.summary.status()),
            "list.csv: no \"custID\" column in the header (columns: Phone, name)");
  r = run("id,number\n", list);
  EXPECT_EQ(message(r.summary.status()),
            "list.csv: no \"custID\" or \"phone\" column in the header (columns: id, number)");
  std::string wide = "custID";
  for (int i = 1; i < 25; ++i) wide += cat(",c", i);
  r = run(wide + "\n", list);
  EXPECT_THAT(message(r.summary.status()), HasSubstr("c18, c19, ... (25 in all))"));
  EXPECT_EQ(list.opened, 0);
}

TEST(ListImportTest, RepeatedOrEmptyColumnNamesAreErrors) {
  FakeList list;
  ImportRun r = run("custID,phone,Phone\nc1,+12025550123,+12025550124\n", list);
  EXPECT_EQ(message(r.summary.status()),
            "list.csv: column 3 (\"Phone\") repeats the name of column 2 (\"phone\"); names "
            "must differ, ignoring case");
  r = run("custID,phone,name,NAME\n", list);
  EXPECT_THAT(message(r.summary.status()), HasSubstr("column 4 (\"NAME\") repeats"));
  r = run("custID,,phone\n", list);
  EXPECT_EQ(message(r.summary.status()), "list.csv: column 2 of the header has no name");
  r = run("custID,phone,\n", list);
  EXPECT_EQ(message(r.summary.status()), "list.csv: column 3 of the header has no name");
  EXPECT_EQ(list.opened, 0);
}

TEST(ListImportTest, AttributeColumnsMustBeNamesAmazonConnectAccepts) {
  FakeList list;
  ImportRun r = run("custID,phone,first name\nc1,+12025550123,Ann\n", list);
  EXPECT_EQ(message(r.summary.status()),
            "list.csv: column 3 (\"first name\") cannot be a contact attribute: Amazon Connect "
            "allows only letters, digits, '-' and '_' in attribute names");
  EXPECT_EQ(list.opened, 0);
  r = run("custID,phone,first_name,account-no\nc1,+12025550123,Ann,7\n", list);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(list.added.size(), 1u);
}

TEST(ListImportTest, ARowWhoseAttributesExceedConnectsLimitIsRejected) {
  FakeList list;
  // Nine columns of 4000 bytes (a field may hold 4096): 36,018 bytes in all.
  std::string header = "custID,phone", big_row = "c1,+12025550123", ok_row = "c2,+12025550124";
  for (int i = 1; i <= 9; ++i) {
    header += ",a" + std::to_string(i);
    big_row += "," + std::string(4000, 'x');
    ok_row += ",y";
  }
  ImportRun r = run(header + "\n" + big_row + "\n" + ok_row + "\n", list);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  ASSERT_EQ(list.rejects.size(), 1u);
  EXPECT_EQ(list.rejects[0].first, 2);
  EXPECT_EQ(list.rejects[0].second,
            "attributes are 36018 bytes; Amazon Connect allows at most 32768 across all names "
            "and values");
  ASSERT_EQ(list.added.size(), 1u);
  EXPECT_EQ(list.added[0].cust_id, "c2");
}

TEST(ListImportTest, AnUnreadableHeaderIsAnError) {
  FakeList list;
  ImportRun r = run("custID,\"phone\nc1,+12025550123\n", list);
  ASSERT_FALSE(r.summary.ok());
  EXPECT_THAT(message(r.summary.status()), HasSubstr("list.csv: line 1: cannot read the header"));
  EXPECT_EQ(list.opened, 0);
}

TEST(ListImportTest, WhenNoRowIsValidNothingIsCommitted) {
  FakeList list;
  ImportRun r = run("custID,phone\nc1,12\n,+12025550123\n", list);
  ASSERT_FALSE(r.summary.ok());
  EXPECT_EQ(r.summary.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(message(r.summary.status()),
            "list.csv: no valid rows (2 rejected); the campaign's list is unchanged");
  EXPECT_EQ(list.opened, 1);
  EXPECT_FALSE(list.committed);
  EXPECT_EQ(r.reported.size(), 2u);  // still reported, so the admin can fix them
}

TEST(ListImportTest, AHeaderWithoutRowsCommitsNothing) {
  FakeList list;
  ImportRun r = run("custID,phone\n", list);
  ASSERT_FALSE(r.summary.ok());
  EXPECT_EQ(message(r.summary.status()),
            "list.csv: no valid rows (0 rejected); the campaign's list is unchanged");
  EXPECT_FALSE(list.committed);
}

TEST(ListImportTest, AStoreErrorFailsTheWholeLoadAndIsNotBlamedOnTheRow) {
  FakeList list;
  list.fail_add_at_line = 3;
  ImportRun r = run("custID,phone\nc1,+12025550123\nc2,+12025550124\nc3,+12025550125\n", list);
  ASSERT_FALSE(r.summary.ok());
  EXPECT_EQ(r.summary.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(message(r.summary.status()),
            "list.db: the disk is full; list.csv was not loaded and the campaign's list is "
            "unchanged");
  EXPECT_TRUE(r.reported.empty());
  EXPECT_FALSE(list.committed);
}

// A file long enough to use the worker pool (several batches), mixing every
// kind of row; the pool's results must be those of inline validation, in
// the same order.
std::string mixed_file(int rows) {
  std::string csv = "custID,phone,name\n";
  const std::vector<std::string> phones = {
      "+1202555{}",  "(202) 555-{}",  "+44 20 7946 {}",  "12",    "abc", "+1 123 555 {}",
      "020 7946 {}", "+7 701 123 {}", "+1 (416) 555-{}", "555-{}"};
  for (int i = 0; i < rows; ++i) {
    const int n = 1000 + (i * 7919) % 9000;
    std::string phone = phones[static_cast<size_t>(i) % phones.size()];
    if (const size_t at = phone.find("{}"); at != std::string::npos) {
      phone.replace(at, 2, std::to_string(n));
    }
    if (i % 97 == 0) {
      csv += "\n";
    } else if (i % 89 == 0) {
      csv += cat("c", i / 3, ",", phone, "\n");  // wrong field count
    } else {
      const std::string row = cat("c", i / 3, ",\"", phone, "\",\"name ", i, "\"\n");
      csv += row;
      if (i % 53 == 7) csv += row;  // a repeated (custID, phone) pair
    }
  }
  return csv;
}

TEST(ListImportTest, TheWorkerPoolGivesTheSameResultsAsInlineValidation) {
  const std::string csv = mixed_file(9000);
  FakeList inline_list;
  ImportRun inline_run = run(csv, inline_list);  // workers = 1
  ASSERT_TRUE(inline_run.summary.ok()) << inline_run.summary.status();

  FakeList pool_list;
  ImportOptions o;
  o.workers = 2;
  ImportRun pool_run = run(csv, pool_list, o);
  ASSERT_TRUE(pool_run.summary.ok()) << pool_run.summary.status();

  EXPECT_EQ(pool_list.added, inline_list.added);
  EXPECT_EQ(pool_list.rejects, inline_list.rejects);
  EXPECT_EQ(pool_run.reported, inline_run.reported);
  EXPECT_GT(pool_run.summary->rows, 9000);
  EXPECT_GT(pool_run.summary->duplicates, 50);
  EXPECT_EQ(pool_run.summary->loaded, inline_run.summary->loaded);
  EXPECT_EQ(pool_run.summary->duplicates, inline_run.summary->duplicates);
  EXPECT_EQ(pool_run.summary->rejected, inline_run.summary->rejected);
  EXPECT_GT(pool_run.summary->loaded, 3000);
  EXPECT_GT(pool_run.summary->rejected, 2000);
  // Rows and rejects come out in line order.
  for (size_t i = 1; i < pool_list.added.size(); ++i) {
    ASSERT_LT(pool_list.added[i - 1].line, pool_list.added[i].line);
  }
  for (size_t i = 1; i < pool_run.reported.size(); ++i) {
    ASSERT_LT(pool_run.reported[i - 1].first, pool_run.reported[i].first);
  }
}

TEST(ListImportTest, UsesAPoolStartedEarlier) {
  PhoneNormalizerPool::Options po;
  po.workers = 1;
  auto pool = PhoneNormalizerPool::start(po);
  ASSERT_TRUE(pool.ok()) << pool.status();
  FakeList list;
  ImportOptions o;
  o.pool = pool->get();
  ImportRun r = run("custID,phone\nc1,(202) 555-0123\nc2,12\n", list, o);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(list.added.size(), 1u);
  EXPECT_EQ(r.reported.size(), 1u);
  EXPECT_EQ((*pool)->in_flight(), 0u);
}

TEST(ListImportTest, AnErrorLeavesALentPoolReadyForTheNextImport) {
  PhoneNormalizerPool::Options po;
  po.workers = 1;
  auto pool = PhoneNormalizerPool::start(po);
  ASSERT_TRUE(pool.ok()) << pool.status();
  ImportOptions o;
  o.pool = pool->get();
  FakeList failing;
  failing.fail_add_at_line = 50;
  ImportRun r = run(mixed_file(9000), failing, o);  // fails with batches in flight
  ASSERT_FALSE(r.summary.ok());
  EXPECT_EQ((*pool)->in_flight(), 0u);

  FakeList list;
  r = run("custID,phone\nc1,(202) 555-0123\n", list, o);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  ASSERT_EQ(list.added.size(), 1u);
  EXPECT_EQ(list.added[0].phone, "+12025550123");
}

}  // namespace
}  // namespace pd
