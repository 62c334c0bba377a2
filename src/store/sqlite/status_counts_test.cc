// status() reads campaign_counts, which every change keeps in its own
// transaction (schema version 6). These tests drive a random mix of every
// operation that moves a count and compare status() with a full scan of the
// rows after each step, so a count that drifts fails them.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/retry_policy.h"
#include "core/strings.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

// What status() shows from the counts, read by a full scan of the rows (the
// test-only query: the counts must always agree with it).
struct Counts {
  int64_t customers = 0;
  int64_t phones = 0;
  std::map<CustomerState, int64_t> by_state;
  int64_t attempts = 0;
  int64_t in_flight = 0;
  std::map<Outcome, int64_t> by_outcome;
  std::optional<WallTime> next_callable_at;
  bool operator==(const Counts&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Counts& c) {
  os << "{customers " << c.customers << ", phones " << c.phones << ", by state {";
  for (const auto& [s, n] : c.by_state) os << to_string(s) << ": " << n << ", ";
  os << "}, attempts " << c.attempts << ", in flight " << c.in_flight << ", by outcome {";
  for (const auto& [o, n] : c.by_outcome) os << to_string(o) << ": " << n << ", ";
  os << "}, next "
     << (c.next_callable_at ? std::to_string(c.next_callable_at->time_since_epoch().count())
                            : "none")
     << "}";
  return os;
}

Counts from_status(const CampaignStatus& st) {
  return Counts{st.customers,          st.phones,
                st.customers_by_state, st.attempts,
                st.attempts_in_flight, st.attempts_by_outcome,
                st.next_callable_at};
}

// The scan, on a connection of its own (it sees what was committed).
Counts scan(const std::string& path, CampaignId id) {
  sqlite::Db db;
  EXPECT_TRUE(db.open(path, false).ok());
  Counts c;
  auto rows = [&](const std::string& sql, const std::function<void(const sqlite::Stmt&)>& fn) {
    auto s = db.prepare(sql);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return;
    s->bind(1, id);
    while (true) {
      auto row = s->step();
      EXPECT_TRUE(row.ok()) << row.status();
      if (!row.ok() || !*row) break;
      fn(*s);
    }
  };
  rows("SELECT state, count(*) FROM customers WHERE campaign_id = ?1 GROUP BY state",
       [&](const sqlite::Stmt& s) {
         c.by_state[*parse_customer_state(s.text(0))] = s.int64(1);
         c.customers += s.int64(1);
       });
  rows(
      "SELECT count(*) FROM phones p JOIN customers cu ON cu.id = p.customer_id "
      "WHERE cu.campaign_id = ?1",
      [&](const sqlite::Stmt& s) { c.phones = s.int64(0); });
  rows(
      "SELECT state, outcome, count(*) FROM attempts WHERE campaign_id = ?1 "
      "GROUP BY state, outcome",
      [&](const sqlite::Stmt& s) {
        c.attempts += s.int64(2);
        if (s.text(0) != "ended") {
          c.in_flight += s.int64(2);
        } else {
          c.by_outcome[*parse_outcome(s.text(1))] += s.int64(2);
        }
      });
  rows("SELECT min(next_at) FROM customers WHERE campaign_id = ?1 AND state = 'pending'",
       [&](const sqlite::Stmt& s) {
         if (!s.is_null(0)) c.next_callable_at = WallTime{Millis{s.int64(0)}};
       });
  return c;
}

class StatusCountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-counts-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "test.db").string();
    store_ = open(true);
    for (const char* name : {"a", "b"}) {
      auto c = store_->init_campaign(name);
      ASSERT_TRUE(c.ok()) << c.status();
      campaigns_.push_back(c->id);
      // Every hour is callable; the caps and do-not-call entries below
      // defer and suppress some claims.
      ASSERT_TRUE(store_->set_config(c->id, "calling-hours", "00:00-24:00").ok());
      ASSERT_TRUE(store_->set_config(c->id, "max-calls-per-24h", "2").ok());
      ASSERT_TRUE(store_
                      ->set_config(c->id, "dispositions",
                                   "SALE=done,CB=callback:1h,RETRY=retry:30m,DNC=dnc")
                      .ok());
    }
    auto rules = parse_dispositions("SALE=done,CB=callback:1h,RETRY=retry:30m,DNC=dnc");
    ASSERT_TRUE(rules.ok());
    rules_.max_attempts_per_phone = 2;
    rules_.retry_delay = std::chrono::seconds(600);
    rules_.dispositions = std::make_shared<const DispositionRules>(*rules);
    // Some numbers may never be called: claims suppress them.
    auto dnc = store_->begin_dnc(DncLoadOptions{now_, ""});
    ASSERT_TRUE(dnc.ok()) << dnc.status();
    for (int i = 0; i < 40; i += 7) ASSERT_TRUE((*dnc)->add(phone(i), "test", std::nullopt).ok());
    ASSERT_TRUE((*dnc)->commit().ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<SqliteStore> open(bool create) {
    auto s = SqliteStore::open(path_, create);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Numbers come from a small pool, so customers share them (caps) and
  // some are on the do-not-call list.
  static std::string phone(int i) { return fmt::format("+1202555{:04d}", i % 40); }

  void expect_counts_agree(const std::string& when) {
    for (CampaignId id : campaigns_) {
      auto st = store_->status(id);
      ASSERT_TRUE(st.ok()) << st.status();
      EXPECT_EQ(from_status(*st), scan(path_, id)) << "campaign " << id << " after " << when;
      for (const auto& [o, n] : st->attempts_by_outcome) seen_outcomes_.insert(o);
      for (const auto& [c, n] : st->customers_by_state) seen_states_.insert(c);
    }
  }

  // A list of up to 30 customers with 1-3 phones each, some rows repeated;
  // customer ids overlap earlier loads (an append extends them).
  void load(CampaignId id, LoadMode mode) {
    auto w = store_->begin_list(id, mode);
    ASSERT_TRUE(w.ok()) << w.status();
    const int n = std::uniform_int_distribution<int>(0, 30)(rng_);
    int64_t line = 2;
    for (int i = 0; i < n; ++i) {
      const int cust = std::uniform_int_distribution<int>(0, 60)(rng_);
      const int phones = std::uniform_int_distribution<int>(1, 3)(rng_);
      for (int p = 0; p < phones; ++p) {
        const std::string number = phone(cust * 3 + p + (coin(0.2) ? 1 : 0));
        auto added = (*w)->add(cat("C", cust), number, "{}", line++);
        ASSERT_TRUE(added.ok()) << added.status();
      }
    }
    if (coin(0.2)) return;  // never committed: rolled back
    ASSERT_TRUE((*w)->commit().ok());
  }

  bool coin(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)];
  }

  std::vector<AttemptRecord> open_attempts(CampaignId id) {
    auto open = store_->open_attempts(id);
    EXPECT_TRUE(open.ok()) << open.status();
    return open.ok() ? *open : std::vector<AttemptRecord>{};
  }
  std::vector<AttemptId> all_attempts(CampaignId id) {
    std::vector<AttemptId> out;
    EXPECT_TRUE(
        store_->for_each_attempt(id, [&](const AttemptRecord& r) { out.push_back(r.id); }).ok());
    return out;
  }

  // One random operation that may move a count. Failures a caller would
  // see (a claim refused, a disposition for a customer being called again)
  // are part of the mix; they must change no count.
  std::string step(bool in_batch) {
    const CampaignId id = pick(campaigns_);
    now_ += Millis{std::uniform_int_distribution<int64_t>(0, 900'000)(rng_)};
    const int op = std::uniform_int_distribution<int>(0, 9)(rng_);
    switch (op) {
      case 0:
      case 1:
        load(id, coin(0.5) ? LoadMode::kReplace : LoadMode::kAppend);
        return "a load";
      case 2:
      case 3: {
        auto claimed =
            store_->claim(id, std::uniform_int_distribution<int>(1, 6)(rng_), now_, "owner");
        EXPECT_TRUE(claimed.ok() || absl::IsFailedPrecondition(claimed.status()))
            << claimed.status();
        return "a claim";
      }
      case 4: {
        auto open = open_attempts(id);
        if (open.empty()) return "nothing";
        const AttemptRecord& a = pick(open);
        auto released = store_->release_claim(a.id);
        EXPECT_TRUE(released.ok() || absl::IsNotFound(released)) << released;
        return "a release";
      }
      case 5: {
        auto open = open_attempts(id);
        if (open.empty()) return "nothing";
        EXPECT_TRUE(store_->mark_connected(pick(open).id, now_, "agent").ok());
        return "a connect";
      }
      case 6:
      case 7: {
        auto open = open_attempts(id);
        if (open.empty()) return "nothing";
        AttemptEnd end;
        end.outcome =
            static_cast<Outcome>(std::uniform_int_distribution<int>(0, kOutcomeCount - 1)(rng_));
        end.ended_at = now_;
        static const std::vector<std::string> codes = {"",      "",    "SALE", "CB",
                                                       "RETRY", "DNC", "OTHER"};
        end.disposition = pick(codes);
        const AttemptId a = pick(open).id;
        auto finished = store_->finish(a, end, rules_);
        EXPECT_TRUE(finished.ok()) << finished.status();
        // Events arrive more than once: the second end changes nothing.
        if (coin(0.3)) {
          auto again = store_->finish(a, end, rules_);
          EXPECT_TRUE(again.ok() && !again->ended_now);
        }
        return cat("a finish (", to_string(end.outcome), ", '", end.disposition, "')");
      }
      case 8: {
        auto all = all_attempts(id);
        if (all.empty()) return "nothing";
        static const std::vector<std::string> codes = {"SALE", "CB", "RETRY", "DNC", "OTHER"};
        const std::string code = pick(codes);
        auto set = store_->set_disposition(id, pick(all), code, std::nullopt, now_);
        EXPECT_TRUE(set.ok() || absl::IsFailedPrecondition(set.status())) << set.status();
        return cat("a disposition ", code);
      }
      default:
        if (in_batch) return "nothing";
        store_ = open(false);
        return "a reopen";
    }
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
  std::vector<CampaignId> campaigns_;
  RetryRules rules_;
  WallTime now_{Millis{1'800'000'000'000LL}};
  std::mt19937 rng_;
  // Every outcome and customer state the counts showed at some point.
  std::set<Outcome> seen_outcomes_;
  std::set<CustomerState> seen_states_;
};

TEST_F(StatusCountsTest, CountsEqualAScanAfterEveryKindOfChange) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    rng_.seed(seed);
    for (int i = 0; i < 300; ++i) {
      if (i % 25 == 24) {
        // A batch: a few operations in one transaction, committed, or
        // aborted half way (nothing of it counts).
        ASSERT_TRUE(store_->begin_batch().ok());
        const int ops = std::uniform_int_distribution<int>(1, 12)(rng_);
        for (int k = 0; k < ops; ++k) step(/*in_batch=*/true);
        if (coin(0.5)) {
          store_->abort_batch();
          expect_counts_agree(cat("an aborted batch, seed ", seed));
        } else {
          // What status() shows inside the batch is what it commits.
          std::map<CampaignId, Counts> inside;
          for (CampaignId id : campaigns_) inside[id] = from_status(*store_->status(id));
          ASSERT_TRUE(store_->commit_batch().ok());
          for (CampaignId id : campaigns_) {
            EXPECT_EQ(inside[id], scan(path_, id)) << "inside a batch, seed " << seed;
          }
          expect_counts_agree(cat("a batch, seed ", seed));
        }
        continue;
      }
      const std::string what = step(/*in_batch=*/false);
      expect_counts_agree(cat(what, " (step ", i, ", seed ", seed, ")"));
      if (HasFailure()) return;
    }
  }
  // The mix reached every count (else this test proves less than it says).
  EXPECT_EQ(seen_outcomes_.size(), static_cast<size_t>(kOutcomeCount));
  EXPECT_EQ(seen_states_.size(), 5u);
}

TEST_F(StatusCountsTest, AStoreFromBeforeVersion6GetsItsCountsFromAScanAtInit) {
  rng_.seed(7);
  for (int i = 0; i < 150; ++i) step(/*in_batch=*/false);
  std::map<CampaignId, Counts> before;
  for (CampaignId id : campaigns_) before[id] = scan(path_, id);
  store_.reset();
  {
    // What a version-5 file looks like: no campaign_counts.
    sqlite::Db db;
    ASSERT_TRUE(db.open(path_, false).ok());
    ASSERT_TRUE(db.exec("DROP TABLE campaign_counts").ok());
    ASSERT_TRUE(db.exec("UPDATE meta SET value = '5' WHERE key = 'schema_version'").ok());
  }
  auto refused = SqliteStore::open(path_, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("run 'powerdialer init' to upgrade"),
            std::string_view::npos)
      << refused.status();
  store_ = open(true);  // what `init` does
  for (CampaignId id : campaigns_) {
    EXPECT_EQ(from_status(*store_->status(id)), before[id]) << "campaign " << id;
  }
  // And they are kept from there.
  for (int i = 0; i < 100; ++i) {
    const std::string what = step(/*in_batch=*/false);
    expect_counts_agree(cat(what, " after the upgrade"));
    if (HasFailure()) return;
  }
}

TEST_F(StatusCountsTest, StatusReadsTheCountsNotTheRows) {
  // Counts a scan could not give: status() must be reading campaign_counts.
  auto w = store_->begin_list(campaigns_[0], LoadMode::kReplace);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->add("C1", "+12025550001", "{}", 2).ok());
  ASSERT_TRUE((*w)->add("C1", "+12025550002", "{}", 3).ok());
  ASSERT_TRUE((*w)->commit().ok());
  {
    sqlite::Db db;
    ASSERT_TRUE(db.open(path_, false).ok());
    ASSERT_TRUE(db.exec(cat("UPDATE campaign_counts SET n = n + 1000 WHERE campaign_id = ",
                            campaigns_[0], " AND what IN ('customers', 'phones')"))
                    .ok());
  }
  auto st = store_->status(campaigns_[0]);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->customers, 1001);
  EXPECT_EQ(st->phones, 1002);
  EXPECT_EQ(st->customers_by_state[CustomerState::kPending], 1);
}

}  // namespace
}  // namespace pd
