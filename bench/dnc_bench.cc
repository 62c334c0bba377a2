// Do-not-call list benchmarks. Figures and the commands that produced them:
// README.md ("Do-not-call list").
//
//   BM_DncLoad/<numbers>/<workers>  a DNC file (one 10-digit US number per
//       line) through import_dnc into a fresh SQLite store: rows/s
//   BM_ClaimRate/<dnc entries>/<durable>  claim + finish a campaign's
//       customers 50 at a time, with the DNC list empty or holding millions
//       of numbers (none of the campaign's, so every customer is claimed and
//       the figure is the cost of the check): claims/s. durable 1 is `run`'s
//       store (a disk sync per claim), 0 one without syncs (`simulate
//       --store`'s).
// workers: as for the list import (0: one phone worker process per core).
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "core/strings.h"
#include "io/dnc_file.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

// DNC numbers: area codes the campaign's numbers (+1202...) do not use.
const char* const kAreaCodes[] = {"212", "213", "305", "312", "415", "469", "512",
                                  "602", "617", "646", "702", "713", "718", "773",
                                  "818", "832", "917", "949", "972", "206"};
constexpr int64_t kSpace = 20LL * 800 * 10000;  // area code x exchange 200-999 x line

// The i-th of `n` distinct numbers, in a scattered order (a stride prime to
// the space walks it without repeats), as 10 digits.
std::string dnc_number_text(int64_t i) {
  const int64_t v = (i * 7'919'999LL + 12345) % kSpace;  // 7919999 is prime, not a factor
  const int64_t area = v % 20, rest = v / 20;
  return fmt::format("{}{:03}{:04}", kAreaCodes[area], 200 + rest % 800, (rest / 800) % 10000);
}

std::string temp_path(std::string_view name) {
  return (std::filesystem::temp_directory_path() / cat("pd-bench-dnc-", ::getpid(), "-", name))
      .string();
}

void remove_store(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(path + suffix, ec);
  }
}

double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// One file per size, written once per process.
const std::string& dnc_file(int64_t numbers) {
  static std::map<int64_t, std::string> files;
  auto it = files.find(numbers);
  if (it != files.end()) return it->second;
  const std::string path = temp_path(cat("file-", numbers, ".txt"));
  std::ofstream out(path);
  for (int64_t i = 0; i < numbers; ++i) out << dnc_number_text(i) << '\n';
  return files.emplace(numbers, path).first->second;
}

// Times the commit: how long the store's write lock is held (running
// dialers' claims wait that long).
class TimedCommit final : public DncWriter {
 public:
  TimedCommit(std::unique_ptr<DncWriter> inner, double& seconds)
      : inner_(std::move(inner)), seconds_(seconds) {}
  absl::Status add(std::string_view e164, std::string_view source,
                   std::optional<WallTime> expires_at) override {
    return inner_->add(e164, source, expires_at);
  }
  absl::StatusOr<DncLoadResult> commit() override {
    const auto start = std::chrono::steady_clock::now();
    auto r = inner_->commit();
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
  }

 private:
  std::unique_ptr<DncWriter> inner_;
  double& seconds_;
};

void BM_DncLoad(benchmark::State& state) {
  const int64_t numbers = state.range(0);
  const std::string& file = dnc_file(numbers);
  const std::string db = temp_path("load.db");
  for (auto _ : state) {
    state.PauseTiming();
    remove_store(db);
    auto store = SqliteStore::open(db, /*create=*/true);
    if (!store.ok()) {
      state.SkipWithError(std::string(store.status().message()).c_str());
      return;
    }
    std::ifstream in(file);
    DncImportOptions options;
    options.source = "bench";
    options.workers = static_cast<int>(state.range(1));
    const double cpu0 = cpu_seconds(RUSAGE_SELF), children0 = cpu_seconds(RUSAGE_CHILDREN);
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    double commit_seconds = 0;
    auto summary = import_dnc(
        in, file,
        [&]() -> absl::StatusOr<std::unique_ptr<DncWriter>> {
          auto w = (*store)->begin_dnc({WallTime{}, ""});
          if (!w.ok()) return w.status();
          return std::unique_ptr<DncWriter>(
              std::make_unique<TimedCommit>(*std::move(w), commit_seconds));
        },
        options);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!summary.ok()) {
      state.SkipWithError(std::string(summary.status().message()).c_str());
      return;
    }
    state.counters["rows_per_s"] = static_cast<double>(summary->rows) / wall;
    state.counters["rejected"] = static_cast<double>(summary->rejected);
    state.counters["total"] = static_cast<double>(summary->load.total);
    state.counters["commit_s"] = commit_seconds;
    state.counters["cpu_us_per_row"] =
        (cpu_seconds(RUSAGE_SELF) - cpu0) * 1e6 / static_cast<double>(summary->rows);
    // Workers are reaped when the import ends, so their CPU shows here.
    state.counters["worker_cpu_us_per_row"] =
        (cpu_seconds(RUSAGE_CHILDREN) - children0) * 1e6 / static_cast<double>(summary->rows);
  }
  remove_store(db);
}
BENCHMARK(BM_DncLoad)
    ->Args({1'000'000, 0})
    ->Args({10'000'000, 0})
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

// A store with a campaign of `customers` (+1202...) and `entries` DNC
// numbers, built once per (entries, durable) and reused.
void BM_ClaimRate(benchmark::State& state) {
  const int64_t entries = state.range(0);
  const bool durable = state.range(1) != 0;
  constexpr int64_t kCustomers = 20'000;
  constexpr int kBatch = 50;
  const std::string db = temp_path(cat("claim-", entries, ".db"));
  for (auto _ : state) {
    state.PauseTiming();
    remove_store(db);
    CampaignId id = 0;
    {
      auto store = SqliteStore::open(db, /*create=*/true);
      if (!store.ok()) {
        state.SkipWithError(std::string(store.status().message()).c_str());
        return;
      }
      auto c = (*store)->init_campaign("bench");
      id = c->id;
      // Only the do-not-call check is measured: the calling window is open
      // all day.
      if (!(*store)->set_config(id, "calling-hours", "00:00-24:00").ok()) {
        state.SkipWithError("config");
        return;
      }
      auto list = (*store)->begin_list(id, LoadMode::kReplace);
      for (int64_t i = 0; i < kCustomers; ++i) {
        (void)(*list)->add(cat("C", i), fmt::format("+1202{:07}", 2'000'000 + i), "{}", i + 2);
      }
      if (!(*list)->commit().ok()) {
        state.SkipWithError("list");
        return;
      }
      if (entries > 0) {
        auto w = (*store)->begin_dnc({WallTime{}, ""});
        for (int64_t i = 0; i < entries; ++i) {
          if (!(*w)->add(cat("+1", dnc_number_text(i)), "bench", std::nullopt).ok()) {
            state.SkipWithError("dnc add");
            return;
          }
        }
        if (!(*w)->commit().ok()) {
          state.SkipWithError("dnc commit");
          return;
        }
      }
      if (!(*store)->transition(id, {}, CampaignState::kRunning).ok()) {
        state.SkipWithError("transition");
        return;
      }
    }
    auto store = SqliteStore::open(
        db, /*create=*/false,
        durable ? SqliteStore::Durability::kFull : SqliteStore::Durability::kNoSync);
    if (!store.ok()) {
      state.SkipWithError(std::string(store.status().message()).c_str());
      return;
    }
    const WallTime now{std::chrono::milliseconds(1'800'000'000'000LL)};
    RetryRules rules;
    int64_t claimed = 0;
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    while (true) {
      auto claims = (*store)->claim(id, kBatch, now, "bench");
      if (!claims.ok()) {
        state.SkipWithError(std::string(claims.status().message()).c_str());
        return;
      }
      if (claims->empty()) break;
      claimed += static_cast<int64_t>(claims->size());
      // The calls' ends in one transaction, as the engine's group commit
      // does, so the claim stays the figure's main part.
      if (!(*store)->begin_batch().ok()) {
        state.SkipWithError("begin_batch");
        return;
      }
      for (const Claim& c : *claims) {
        AttemptEnd end{Outcome::kConnected, now, "", ""};
        if (!(*store)->finish(c.attempt_id, end, rules).ok()) {
          state.SkipWithError("finish");
          return;
        }
      }
      if (!(*store)->commit_batch().ok()) {
        state.SkipWithError("commit_batch");
        return;
      }
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.counters["claims_per_s"] = static_cast<double>(claimed) / wall;
    state.counters["claimed"] = static_cast<double>(claimed);
  }
  remove_store(db);
}
BENCHMARK(BM_ClaimRate)
    ->Args({0, 0})
    ->Args({10'000'000, 0})
    ->Args({0, 1})
    ->Args({10'000'000, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace
}  // namespace pd
