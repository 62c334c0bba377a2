#include "io/results_export.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "core/strings.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

TEST(ResultsExport, OneNeutralisedRowPerAttemptWithTheDocumentedHeader) {
  const auto dir = std::filesystem::temp_directory_path() / cat("pd-export-", ::getpid());
  std::filesystem::create_directories(dir);
  auto store = SqliteStore::open((dir / "r.db").string(), true);
  ASSERT_TRUE(store.ok());
  const Campaign c = *(*store)->init_campaign("spring");
  // Not a calling-window test: 07:30 in New York is inside the window.
  ASSERT_TRUE((*store)->set_config(c.id, "calling-hours", "00:00-24:00").ok());
  {
    auto w = (*store)->begin_list(c.id, LoadMode::kReplace);
    ASSERT_TRUE((*w)->add("=HYPERLINK(\"http://x\")", "+12025550100", "{}", 2,
                          CalleeFacts{{"America/New_York"}, "US-DC"})
                    .ok());
    ASSERT_TRUE((*w)->add("B,2", "+12025550101", "{}", 3).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }
  const WallTime t0{Millis{1'764'073'800'000LL}};
  auto claims = (*store)->claim(c.id, 2, t0, "n");
  ASSERT_EQ(claims->size(), 2u);
  ASSERT_TRUE((*store)->set_contact_id((*claims)[0].attempt_id, "c-1").ok());
  ASSERT_TRUE((*store)->mark_connected((*claims)[0].attempt_id, t0 + Millis{5000}, "@agent").ok());
  ASSERT_TRUE(
      (*store)
          ->finish((*claims)[0].attempt_id,
                   {Outcome::kConnected, t0 + Millis{65000}, "CUSTOMER_DISCONNECT", "-sale"}, {})
          .ok());

  std::ostringstream out;
  auto rows = export_results(**store, c.id, out);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, 2);
  std::istringstream in(out.str());
  std::string header, first, second;
  std::getline(in, header);
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_EQ(header, std::string(kResultsHeader) + "\r");
  EXPECT_EQ(first,
            "spring,\"'=HYPERLINK(\"\"http://x\"\")\",+12025550100,1,2025-11-25T12:30:00.000Z,"
            "2025-11-25T12:30:05.000Z,2025-11-25T12:31:05.000Z,connected,CUSTOMER_DISCONNECT,c-1,"
            "'@agent,'-sale,America/New_York,\r");
  // The attempt still in flight shows its state in the outcome column.
  EXPECT_EQ(second, "spring,\"B,2\",+12025550101,1,2025-11-25T12:30:00.000Z,,,dialing,,,,,,\r");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pd
