// Fuzzes the list import (io/list_import.h) end to end: any bytes as a CSV
// list, through the real importer, into a real SQLite store (a temporary
// file, one campaign, each input replacing the last list). Phones are
// validated inline (workers = 1): the same code the worker processes run,
// without forking in the fuzzer.
//
// Promises checked: rows = loaded + duplicates + rejected, every rejected
// row is reported once; a successful load leaves exactly the loaded phones
// in the store; a failed one leaves the list as it was.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "io/list_import.h"
#include "store/sqlite/sqlite_store.h"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "list_import_fuzz: broken promise: %s\n", what);
    std::abort();
  }
}

void check_ok(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "list_import_fuzz: %s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

struct Fixture {
  std::string dir;
  std::unique_ptr<pd::SqliteStore> store;
  pd::CampaignId campaign = 0;
  int64_t phones = 0;  // the list stored now
  int64_t customers = 0;
};

Fixture& fixture() {
  static Fixture* f = [] {
    auto* fx = new Fixture;
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/powerdialer-fuzz-XXXXXX";
    check(mkdtemp(pattern.data()) != nullptr, "cannot create a temporary folder");
    fx->dir = pattern;
    // The folder goes when the fuzzer exits normally; a crash leaves it for
    // whoever looks into the crash.
    std::atexit([] { std::filesystem::remove_all(fixture().dir); });
    auto store = pd::SqliteStore::open(fx->dir + "/fuzz.db", /*create=*/true,
                                       pd::SqliteStore::Durability::kNoSync);
    check_ok(store.status(), "open the store");
    fx->store = *std::move(store);
    auto campaign = fx->store->init_campaign("fuzz");
    check_ok(campaign.status(), "create the campaign");
    fx->campaign = campaign->id;
    return fx;
  }();
  return *f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& fx = fixture();
  pd::ImportOptions options;
  options.workers = 1;
  int64_t reported = 0;
  options.on_reject = [&reported](int64_t, std::string_view reason) {
    check(!reason.empty(), "a reject without a reason");
    ++reported;
  };
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  int opened = 0;
  auto summary = pd::import_list(
      in, "fuzz.csv",
      [&]() -> absl::StatusOr<std::unique_ptr<pd::ListWriter>> {
        ++opened;
        return fx.store->begin_list(fx.campaign, pd::LoadMode::kReplace);
      },
      options);
  check(opened <= 1, "the writer was opened twice");

  auto status = fx.store->status(fx.campaign);
  check_ok(status.status(), "read the campaign's status");
  if (summary.ok()) {
    check(summary->rows == summary->loaded + summary->duplicates + summary->rejected,
          "rows != loaded + duplicates + rejected");
    check(summary->rejected == reported, "rejects counted and reported differ");
    check(summary->loaded > 0, "a load succeeded with no rows");
    check(status->phones == summary->loaded, "the store holds other phones than were loaded");
    check(status->customers >= 1 && status->customers <= summary->loaded, "customers out of range");
    fx.phones = status->phones;
    fx.customers = status->customers;
  } else {
    check(!summary.status().message().empty(), "an error without a message");
    check(status->phones == fx.phones && status->customers == fx.customers,
          "a failed load changed the stored list");
  }
  return 0;
}
