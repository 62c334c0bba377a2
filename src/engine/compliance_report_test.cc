#include "engine/compliance_report.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "core/strings.h"
#include "core/time_format.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

// The audit reads the attempts as recorded, not what the claim decided: each
// test records calls through the store (inside the rules), then changes the
// record behind the store's back, as a buggy claim path or a hand-edited
// database would, and expects the audit to catch it.
class ComplianceReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-compliance-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "c.db").string();
    auto s = SqliteStore::open(path_, true);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    auto c = store_->init_campaign("spring");
    ASSERT_TRUE(c.ok());
    campaign_ = *c;
    // Calls at any hour unless a test says otherwise: the claim must not
    // stand in the way of the record a test wants to make.
    ASSERT_TRUE(store_->set_config(campaign_.id, "calling-hours", "00:00-24:00").ok());
    auto w = store_->begin_list(campaign_.id, LoadMode::kReplace);
    ASSERT_TRUE(w.ok());
    CalleeFacts ny;
    ny.zones = {"America/New_York"};
    ny.region = "US-NY";
    ASSERT_TRUE((*w)->add("A", "+12125550100", "{}", 2, ny).ok());
    ASSERT_TRUE((*w)->add("B", "+12125550101", "{}", 3, ny).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Places one call at `at` through the claim and ends it with `outcome`.
  AttemptId call(WallTime at, Outcome outcome = Outcome::kNoAnswer) {
    auto claims = store_->claim(campaign_.id, 1, at, "me");
    EXPECT_TRUE(claims.ok()) << claims.status();
    if (!claims.ok() || claims->empty()) {
      ADD_FAILURE() << "nothing to claim at " << format_iso8601(at);
      return 0;
    }
    RetryRules rules;
    rules.max_attempts_per_phone = 10;
    rules.retry_delay = std::chrono::seconds(0);
    AttemptEnd end;
    end.outcome = outcome;
    end.ended_at = at + Millis{30'000};
    EXPECT_TRUE(store_->finish(claims->front().attempt_id, end, rules).ok());
    return claims->front().attempt_id;
  }

  // Raw SQL on the database file, behind the store.
  void tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "") << " in " << sql;
    sqlite3_free(error);
    sqlite3_close(db);
  }

  ComplianceReport report() {
    auto c = store_->find_campaign("spring");
    EXPECT_TRUE(c.ok());
    auto r = compliance_report(*store_, *c, WallTime{});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ComplianceReport{};
  }

  const RuleReport& rule(const ComplianceReport& r, std::string_view name) {
    for (const RuleReport& x : r.rules) {
      if (x.rule == name) return x;
    }
    ADD_FAILURE() << "no rule " << name;
    static const RuleReport kNone;
    return kNone;
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
  Campaign campaign_;
  // 2026-03-09T15:00:00Z: 11:00 in New York (EDT), a Monday.
  const WallTime noon_{*parse_iso8601("2026-03-09T15:00:00Z")};
};

TEST_F(ComplianceReportTest, CallsInsideEveryRuleAreNoViolation) {
  call(noon_);
  call(noon_ + Millis{60'000});
  const ComplianceReport r = report();
  EXPECT_EQ(r.attempts_audited, 2);
  EXPECT_EQ(r.violations(), 0);
  ASSERT_EQ(r.rules.size(), 5u);
  EXPECT_EQ(r.rules[0].rule, "calling-window");
  EXPECT_GE(rule(r, "calling-window").checked, 2) << "the claim counted its checks";
  EXPECT_EQ(r.at, noon_ + Millis{60'000});
  EXPECT_NE(compliance_text(r).find("no violations"), std::string::npos);
  const nlohmann::json j = compliance_json(r);
  EXPECT_EQ(j["violations"], 0);
  EXPECT_EQ(j["rules"].size(), 5u);
}

TEST_F(ComplianceReportTest, ACallOutsideTheCalleesWindowIsAViolation) {
  const AttemptId id = call(noon_);
  ASSERT_TRUE(store_->set_config(campaign_.id, "calling-hours", "08:00-21:00").ok());
  // 06:30 in New York.
  tamper(cat("UPDATE attempts SET started_at = ", (noon_ - std::chrono::minutes(270)).time_since_epoch().count(),
             " WHERE id = ", id));
  const ComplianceReport r = report();
  EXPECT_EQ(rule(r, "calling-window").violations, 1);
  EXPECT_EQ(r.violations(), 1);
  ASSERT_EQ(rule(r, "calling-window").examples.size(), 1u);
  EXPECT_NE(rule(r, "calling-window").examples[0].find("+12125550100"), std::string::npos);
  EXPECT_NE(compliance_text(r).find("VIOLATIONS: 1"), std::string::npos);
}

TEST_F(ComplianceReportTest, ACallToANumberOnTheDncListThenIsAViolationNotOneAddedLater) {
  const AttemptId first = call(noon_);
  const AttemptId second = call(noon_ + Millis{60'000});
  (void)first;
  (void)second;
  const int64_t t = noon_.time_since_epoch().count();
  tamper(cat("INSERT INTO dnc_sources(id, label) VALUES(7, 'fcc');"
             "INSERT INTO dnc(number, source_id, added_at) VALUES(12125550100, 7, ",
             t - 1000, ");"
             "INSERT INTO dnc(number, source_id, added_at) VALUES(12125550101, 7, ",
             t + 3'600'000, ");"));
  const ComplianceReport r = report();
  EXPECT_EQ(rule(r, "dnc").violations, 1);
  ASSERT_EQ(rule(r, "dnc").examples.size(), 1u);
  EXPECT_NE(rule(r, "dnc").examples[0].find("source: fcc"), std::string::npos);
}

TEST_F(ComplianceReportTest, CallsOverTheCapIn24HoursAreViolationsAcrossCampaigns) {
  call(noon_);
  call(noon_ + Millis{60'000});
  // The cap the audit applies is the campaign's as it is now.
  ASSERT_TRUE(store_->set_config(campaign_.id, "max-calls-per-24h", "1").ok());
  const ComplianceReport within = report();
  EXPECT_EQ(rule(within, "cap").violations, 0);
  // A second call to A's number the same day, recorded by another campaign.
  auto other = store_->init_campaign("autumn");
  ASSERT_TRUE(other.ok());
  tamper(cat("INSERT INTO attempts(campaign_id, customer_id, phone_seq, phone, attempt_on_phone, "
             "state, outcome, owner, started_at) SELECT ",
             other->id, ", customer_id, phone_seq, phone, 2, 'ended', 'no_answer', 'x', "
             "started_at - 1000 FROM attempts WHERE phone = '+12125550100' LIMIT 1"));
  const ComplianceReport over = report();
  EXPECT_GE(rule(over, "cap").violations, 1);
}

TEST_F(ComplianceReportTest, ACallWithinTheAbandonLockoutIsAViolation) {
  // The later call is claimed first: once the abandoned one is in the
  // ledger, the campaign's 100% abandon rate would refuse every claim.
  const AttemptId next = call(noon_ + std::chrono::hours(1));
  const AttemptId abandoned = call(noon_, Outcome::kAbandoned);
  ASSERT_TRUE(store_->set_config(campaign_.id, "abandon-lockout", "72h").ok());
  // Record the next call to the abandoned number, an hour later.
  tamper(cat("UPDATE attempts SET phone = (SELECT phone FROM attempts WHERE id = ", abandoned,
             ") WHERE id = ", next));
  const ComplianceReport r = report();
  EXPECT_EQ(rule(r, "abandon-lockout").violations, 1) << compliance_text(r);
}

}  // namespace
}  // namespace pd
