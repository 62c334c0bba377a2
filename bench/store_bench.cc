// The store's own throughput, on any store URL (an SQLite file or a
// postgresql:// URL), for bench/README.md ("Stores"):
//
//   import   a list of --rows customers through the ListWriter, as `load`
//            writes it (validated rows in, one transaction): rows/s
//   claim    claim one customer and end its call, each its own transaction
//            (two commits per call, as `run` makes them without group
//            commit): calls/s, and the same with the engine's group commit
//            (--batch calls claimed and ended per commit)
//
//   build/bench/store_bench --db URL [--rows 1000000] [--calls 20000] [--batch 50]
//
// The store must be empty or new (a campaign "store-bench" is created). A
// plain program rather than a google benchmark: each figure is one long run
// on a server the caller chose (`python3 tests/e2e/pgserver.py --durable`
// starts a throw-away PostgreSQL with fsync on and prints a database URL).
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/strings.h"
#include "store/postgres/pg_db.h"
#include "store/postgres/pg_store.h"
#include "store/store.h"

namespace pd {
namespace {

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int fail(std::string_view what, const absl::Status& s) {
  std::fprintf(stderr, "store_bench: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               std::string(s.message()).c_str());
  return 1;
}

int run(const std::string& url, int64_t rows, int64_t calls, int batch) {
  auto opened = open_store(url, /*create=*/true);
  if (!opened.ok()) return fail("open", opened.status());
  Store& store = **opened;
  auto campaign = store.init_campaign("store-bench");
  if (!campaign.ok()) return fail("init_campaign", campaign.status());
  const CampaignId id = campaign->id;
  if (auto s = store.set_config(id, "calling-hours", "00:00-24:00"); !s.ok()) {
    return fail("config", s);
  }

  // --- import ---------------------------------------------------------------
  auto start = std::chrono::steady_clock::now();
  {
    auto w = store.begin_list(id, LoadMode::kReplace);
    if (!w.ok()) return fail("begin_list", w.status());
    CalleeFacts callee;
    callee.zones = {"America/New_York"};
    callee.region = "US-DC";
    for (int64_t i = 0; i < rows; ++i) {
      auto added = (*w)->add(fmt::format("C{:08}", i), fmt::format("+1202{:07}", 2'000'000 + i),
                             R"({"name":"Ann","tier":"gold"})", i + 2, callee);
      if (!added.ok()) return fail("add", added.status());
    }
    if (auto s = (*w)->commit(); !s.ok()) return fail("commit", s);
  }
  const double import_s = since(start);
  std::printf(
      "{\"store\": \"%s\", \"import_rows\": %lld, \"import_s\": %.2f, "
      "\"import_rows_per_s\": %.0f",
      store_display_name(url).c_str(), static_cast<long long>(rows), import_s,
      static_cast<double>(rows) / import_s);
  std::fflush(stdout);
  if (PgStore::is_url(url)) {
    // The calls are timed on a settled server: the new list vacuumed and
    // analysed and the import's gigabyte of WAL written back (when the
    // role may CHECKPOINT). Unsettled, autovacuum's first pass over the
    // million new rows and the checkpoint competed with the calls' commits
    // for the disk, and the rate varied 3x from run to run.
    pg::Db db;
    if (db.open(url).ok()) {
      (void)db.exec("VACUUM (ANALYZE) customers, phones");  // one statement: not in a block
      (void)db.exec("CHECKPOINT");
    }
  }

  if (auto s = store.transition(id, {}, CampaignState::kRunning); !s.ok()) {
    return fail("transition", s.status());
  }
  const WallTime now{std::chrono::milliseconds(1'800'000'000'000LL)};
  RetryRules rules;
  const AttemptEnd end{Outcome::kConnected, now, "CUSTOMER_DISCONNECT", ""};

  // --- claim and finish, one transaction each ---------------------------------
  start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < calls; ++i) {
    auto claims = store.claim(id, 1, now, "bench");
    if (!claims.ok()) return fail("claim", claims.status());
    if (claims->empty()) break;
    auto done = store.finish(claims->front().attempt_id, end, rules);
    if (!done.ok()) return fail("finish", done.status());
  }
  const double single_s = since(start);

  // --- the same with group commit ---------------------------------------------
  start = std::chrono::steady_clock::now();
  int64_t batched = 0;
  while (batched < calls) {
    if (auto s = store.begin_batch(); !s.ok()) return fail("begin_batch", s);
    auto claims = store.claim(id, batch, now, "bench");
    if (!claims.ok()) return fail("claim", claims.status());
    for (const Claim& c : *claims) {
      auto done = store.finish(c.attempt_id, end, rules);
      if (!done.ok()) return fail("finish", done.status());
    }
    if (auto s = store.commit_batch(); !s.ok()) return fail("commit_batch", s);
    if (claims->empty()) break;
    batched += static_cast<int64_t>(claims->size());
  }
  const double batched_s = since(start);
  // Left stopped, so the store can be copied on (`powerdialer migrate`).
  if (auto s = store.transition(id, {CampaignState::kRunning}, CampaignState::kStopped); !s.ok()) {
    return fail("transition", s.status());
  }
  std::printf(
      ", \"calls\": %lld, \"calls_per_s\": %.0f, \"batch\": %d, "
      "\"batched_calls_per_s\": %.0f}\n",
      static_cast<long long>(calls), static_cast<double>(calls) / single_s, batch,
      static_cast<double>(batched) / batched_s);
  return 0;
}

}  // namespace
}  // namespace pd

int main(int argc, char** argv) {
  std::string url;
  int64_t rows = 1'000'000;
  int64_t calls = 20'000;
  int batch = 50;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::printf(
          "usage: store_bench --db URL [--rows N] [--calls N <= rows/2] [--batch N]\n"
          "  --db URL    an SQLite file or a postgresql:// URL (new or empty store)\n"
          "  --rows N    customers to import through the ListWriter (1000000)\n"
          "  --calls N   calls to claim and finish, one transaction each, then again\n"
          "              with group commit (20000)\n"
          "  --batch N   calls per commit in the group-commit run (50)\n"
          "Prints one JSON line: import_rows_per_s, calls_per_s, batched_calls_per_s.\n");
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "store_bench: %s needs a value\n", argv[i]);
      return 2;
    }
    const char* value = argv[i + 1];
    if (flag == "--db") {
      url = value;
    } else if (flag == "--rows") {
      rows = std::atoll(value);
    } else if (flag == "--calls") {
      calls = std::atoll(value);
    } else if (flag == "--batch") {
      batch = std::atoi(value);
    } else {
      std::fprintf(stderr, "store_bench: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (url.empty() || rows < 1 || calls < 1 || batch < 1 || calls * 2 > rows) {
    std::fprintf(stderr,
                 "usage: store_bench --db URL [--rows N] [--calls N <= rows/2] [--batch N]\n");
    return 2;
  }
  return pd::run(url, rows, calls, batch);
}
