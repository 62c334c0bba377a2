// Dialing-list import: end to end (CSV file -> validated E.164 -> SQLite)
// and its parts. Figures and the commands that produced them: README.md.
//
//   BM_NormalizePhone/<form>      one number, as import does it
//   BM_NormalizePhoneReference/<form>  plain Parse + IsValidNumber + Format
//   BM_NormalizeMany/<mode>       200k numbers: 1 thread, 2 threads, 2 processes
//   BM_ImportDiscard/<rows>/<workers>  CSV + checks + phones, rows thrown away
//   BM_ImportSqlite/<rows>/<workers>   the same into a fresh SQLite store
// workers: 1 = inline validation, 0 = one worker process per core.
#include <benchmark/benchmark.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/strings.h"
#include "io/list_import.h"
#include "io/phone.h"
#include "io/phone_pool.h"
#include "store/store.h"

namespace pd {
namespace {

// --- a realistic list -------------------------------------------------------

const char* const kAreaCodes[] = {"202", "212", "213", "305", "312", "415", "469",
                                  "512", "602", "617", "646", "702", "713", "718",
                                  "773", "818", "832", "917", "949", "972"};
const char* const kFirstNames[] = {"Ann", "Bo", "Carlos", "Dana", "Eve", "Femi", "Grace", "Hiro"};
const char* const kZones[] = {"America/New_York", "America/Chicago", "America/Los_Angeles",
                              "Europe/London"};

// One phone as contact-centre exports write them: ~45% E.164 US, ~35%
// formatted US, ~5% dashed US, ~15% UK (London and mobile, with +44).
std::string random_phone(std::mt19937& rng) {
  const char* area = kAreaCodes[rng() % std::size(kAreaCodes)];
  const unsigned exchange = 200 + rng() % 800;
  const unsigned line = rng() % 10000;
  const unsigned form = rng() % 100;
  if (form < 45) return fmt::format("+1{}{:03}{:04}", area, exchange, line);
  if (form < 80) return fmt::format("({}) {:03}-{:04}", area, exchange, line);
  if (form < 85) return fmt::format("{}-{:03}-{:04}", area, exchange, line);
  if (form < 93) return fmt::format("+44 20 7{:03} {:04}", rng() % 1000, line);
  return fmt::format("+44 7{}{:02} {:06}", 7 + rng() % 3, rng() % 100, rng() % 1000000);
}

// ~2% bad rows (bad phones, missing values, wrong field counts), ~10% of
// customers with a second phone on the next row, two attribute columns.
std::string make_list(int64_t rows) {
  std::mt19937 rng(42);
  std::string csv = "custID,phone,name,timezone\n";
  csv.reserve(static_cast<size_t>(rows) * 48);
  int64_t customer = 0;
  for (int64_t i = 0; i < rows; ++i) {
    if (rng() % 10 != 0) ++customer;  // else: another phone of the same customer
    const std::string id = fmt::format("C{:08}", customer);
    const char* name = kFirstNames[rng() % std::size(kFirstNames)];
    const char* zone = kZones[rng() % std::size(kZones)];
    switch (rng() % 250) {
      case 0:
        csv += fmt::format("{},12,{},{}\n", id, name, zone);  // too short
        break;
      case 1:
        csv += fmt::format("{},not known,{},{}\n", id, name, zone);
        break;
      case 2:
        csv += fmt::format("{},(999) 555-0100,{},{}\n", id, name, zone);  // no such area code
        break;
      case 3:
        csv += fmt::format(",{},{},{}\n", random_phone(rng), name, zone);  // no custID
        break;
      default:
        csv += fmt::format("{},{},\"{} {}\",{}\n", id, random_phone(rng), name, i, zone);
        break;
    }
    if (rng() % 250 == 0) csv += fmt::format("{},{}\n", id, random_phone(rng));  // 2 fields
  }
  return csv;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/powerdialer-bench-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The list file for `rows`, written once per process.
const std::string& list_file(int64_t rows) {
  static TempDir dir;
  static std::map<int64_t, std::string> files;
  auto [it, fresh] = files.try_emplace(rows, fmt::format("{}/list-{}.csv", dir.path(), rows));
  if (fresh) {
    std::ofstream out(it->second, std::ios::binary);
    out << make_list(rows);
  }
  return it->second;
}

class DiscardWriter : public ListWriter {
 public:
  absl::StatusOr<bool> add(std::string_view, std::string_view, std::string_view, int64_t,
                           const CalleeFacts&) override {
    return true;
  }
  absl::Status reject(int64_t, std::string_view) override { return absl::OkStatus(); }
  absl::Status count_rejects(const std::map<std::string, int64_t>&) override {
    return absl::OkStatus();
  }
  absl::Status commit() override { return absl::OkStatus(); }
};

// CPU seconds used by this process, or by its reaped children (the phone
// workers, reaped when import_list returns).
double cpu_seconds(int who) {
  rusage r{};
  getrusage(who, &r);
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

// Counts the CPU the import used, in this process and in its workers: the
// machine is shared, and CPU per row says what wall time cannot when the
// other core is busy.
class CpuMeter {
 public:
  CpuMeter() : self_(cpu_seconds(RUSAGE_SELF)), children_(cpu_seconds(RUSAGE_CHILDREN)) {}
  double self() const { return cpu_seconds(RUSAGE_SELF) - self_; }
  double children() const { return cpu_seconds(RUSAGE_CHILDREN) - children_; }

 private:
  double self_;
  double children_;
};

void report(benchmark::State& state, const ImportSummary& s, const CpuMeter& cpu) {
  const auto rows = static_cast<double>(s.rows) * static_cast<double>(state.iterations());
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(s.rows), benchmark::Counter::kIsRate);
  state.counters["loaded"] = static_cast<double>(s.loaded);
  state.counters["rejected"] = static_cast<double>(s.rejected);
  // Microseconds of CPU per row: in this process (CSV, checks, JSON, store,
  // and inline validation), and in the phone workers.
  state.counters["cpu_us/row"] = cpu.self() * 1e6 / rows;
  state.counters["worker_cpu_us/row"] = cpu.children() * 1e6 / rows;
}

// --- one number ----------------------------------------------------------

const char* const kForms[] = {"+12025550123", "(202) 555-0123", "+44 20 7946 0958", "12"};

void BM_NormalizePhone(benchmark::State& state) {
  const std::string raw = kForms[state.range(0)];
  state.SetLabel(raw);
  std::string out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(normalize_phone_into(raw, "US", out));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NormalizePhone)->DenseRange(0, 3);

void BM_NormalizePhoneReference(benchmark::State& state) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& u = *PhoneNumberUtil::GetInstance();
  const std::string raw = kForms[state.range(0)];
  state.SetLabel(raw);
  std::string out;
  for (auto _ : state) {
    PhoneNumber n;
    if (u.Parse(raw, "US", &n) == PhoneNumberUtil::NO_PARSING_ERROR && u.IsValidNumber(n)) {
      u.Format(n, PhoneNumberUtil::E164, &out);
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NormalizePhoneReference)->DenseRange(0, 3);

// --- many numbers at once: threads against the worker pool ----------------

std::vector<std::string> random_phones(int n) {
  std::mt19937 rng(7);
  std::vector<std::string> phones;
  for (int i = 0; i < n; ++i) phones.push_back(random_phone(rng));
  return phones;
}

// 200,000 numbers of the list's mix; mode 0: one thread, 1: two threads,
// 2: PhoneNormalizerPool with two worker processes.
void BM_NormalizeMany(benchmark::State& state) {
  static const std::vector<std::string> phones = random_phones(200'000);
  const int mode = static_cast<int>(state.range(0));
  state.SetLabel(mode == 0 ? "1 thread" : mode == 1 ? "2 threads" : "pool of 2 processes");
  warm_phone_normalizer();
  auto run = [](size_t begin, size_t end) {
    std::string out;
    for (size_t i = begin; i < end; ++i) normalize_phone_into(phones[i], "US", out);
  };
  for (auto _ : state) {
    if (mode == 0) {
      run(0, phones.size());
    } else if (mode == 1) {
      std::thread a(run, 0, phones.size() / 2);
      std::thread b(run, phones.size() / 2, phones.size());
      a.join();
      b.join();
    } else {
      PhoneNormalizerPool::Options o;
      o.workers = 2;
      auto pool = PhoneNormalizerPool::start(o);
      if (!pool.ok()) {
        state.SkipWithError(std::string(sv(pool.status().message())).c_str());
        return;
      }
      std::vector<PhoneResult> results;
      std::vector<std::string> batch;
      size_t next = 0;
      size_t collected = 0;
      const size_t batches = (phones.size() + 2047) / 2048;
      while (collected < batches) {
        while (next < batches && (*pool)->in_flight() < 4) {
          const size_t begin = next * 2048;
          batch.assign(
              phones.begin() + static_cast<std::ptrdiff_t>(begin),
              phones.begin() + static_cast<std::ptrdiff_t>(std::min(phones.size(), begin + 2048)));
          if (!(*pool)->submit("US", batch).ok()) state.SkipWithError("submit failed");
          ++next;
        }
        if (!(*pool)->collect(results).ok()) {
          state.SkipWithError("collect failed");
          return;
        }
        ++collected;
      }
    }
  }
  state.counters["numbers/s"] = benchmark::Counter(
      static_cast<double>(phones.size()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_NormalizeMany)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();

// --- whole lists ---------------------------------------------------------

void BM_ImportDiscard(benchmark::State& state) {
  const std::string& file = list_file(state.range(0));
  ImportOptions options;
  options.workers = static_cast<int>(state.range(1));
  ImportSummary last;
  warm_phone_normalizer();
  const CpuMeter cpu;
  for (auto _ : state) {
    std::ifstream in(file, std::ios::binary);
    auto s = import_list(
        in, file,
        []() -> absl::StatusOr<std::unique_ptr<ListWriter>> {
          return std::make_unique<DiscardWriter>();
        },
        options);
    if (!s.ok()) {
      state.SkipWithError(std::string(sv(s.status().message())).c_str());
      return;
    }
    last = *s;
  }
  report(state, last, cpu);
}
BENCHMARK(BM_ImportDiscard)
    ->ArgNames({"rows", "workers"})
    ->Args({100'000, 1})
    ->Args({100'000, 0})
    ->Args({1'000'000, 1})
    ->Args({1'000'000, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

void BM_ImportSqlite(benchmark::State& state) {
  const std::string& file = list_file(state.range(0));
  ImportOptions options;
  options.workers = static_cast<int>(state.range(1));
  ImportSummary last;
  TempDir dir;
  warm_phone_normalizer();
  int run = 0;
  const CpuMeter cpu;
  for (auto _ : state) {
    state.PauseTiming();
    auto store = open_store(fmt::format("{}/bench-{}.db", dir.path(), ++run), /*create=*/true);
    if (!store.ok()) {
      state.SkipWithError(std::string(sv(store.status().message())).c_str());
      return;
    }
    auto campaign = (*store)->init_campaign("bench");
    if (!campaign.ok()) {
      state.SkipWithError(std::string(sv(campaign.status().message())).c_str());
      return;
    }
    std::ifstream in(file, std::ios::binary);
    state.ResumeTiming();
    auto s = import_list(
        in, file, [&]() { return (*store)->begin_list(campaign->id, LoadMode::kReplace); },
        options);
    if (!s.ok()) {
      state.SkipWithError(std::string(sv(s.status().message())).c_str());
      return;
    }
    last = *s;
    state.PauseTiming();
    store->reset();  // closing is not part of the import
    state.ResumeTiming();
  }
  report(state, last, cpu);
}
BENCHMARK(BM_ImportSqlite)
    ->ArgNames({"rows", "workers"})
    ->Args({100'000, 1})
    ->Args({100'000, 0})
    ->Args({1'000'000, 1})
    ->Args({1'000'000, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace
}  // namespace pd
