// PostgreSQL-only behaviour of PgStore; what both stores promise is in the
// contract suites (store/store_contract_test.cc and friends).
#include "store/postgres/pg_store.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_replace.h"
#include "store/postgres/pg_db.h"
#include "store/postgres/testing/pg_test_server.h"

namespace pd {
namespace {

using postgres::testing::PgSuite;

class PgStoreTest : public PgSuite {};

// A store written by the build before schema 7 has count triggers that
// count every statement; a list load that counts its own rows on top of
// them would double its counts. So this build refuses to write to it until
// `init` upgrades it, and after the upgrade a load counts once.
TEST_F(PgStoreTest, AVersion6StoreIsRefusedUntilInitThenALoadCountsItsRowsOnce) {
  {
    auto store = PgStore::open(db_url(), /*create=*/true);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->init_campaign("c").ok());
  }
  {
    // Back to version 6 as that build left it: triggers without the
    // hand-over (the line that reads the setting taken out again).
    pg::Db db;
    ASSERT_TRUE(db.open(db_url()).ok());
    for (const char* fn : {"pd_count_customers", "pd_count_attempts", "pd_count_phones"}) {
      auto def =
          db.query_dynamic(std::string("SELECT pg_get_functiondef('") + fn + "'::regproc)", {});
      ASSERT_TRUE(def.ok()) << def.status();
      const std::string old_def = absl::StrReplaceAll(
          def->str(0, 0),
          {{"  IF current_setting('powerdialer.counted_by_writer', true) = 'on' THEN RETURN "
            "NULL; END IF;\n",
            ""}});
      ASSERT_NE(old_def, def->str(0, 0)) << fn << " does not read the setting";
      ASSERT_TRUE(db.exec(old_def).ok());
    }
    ASSERT_TRUE(db.exec("UPDATE meta SET value = '6' WHERE key = 'schema_version'").ok());
  }

  auto refused = PgStore::open(db_url(), /*create=*/false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("schema version 6"), std::string::npos)
      << refused.status();
  EXPECT_NE(refused.status().message().find("powerdialer init"), std::string::npos)
      << refused.status();

  auto store = PgStore::open(db_url(), /*create=*/true);  // what `init` does
  ASSERT_TRUE(store.ok()) << store.status();
  auto campaign = (*store)->find_campaign("c");
  ASSERT_TRUE(campaign.ok()) << campaign.status();
  auto w = (*store)->begin_list(campaign->id, LoadMode::kReplace);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE(*(*w)->add("A", "+12025550100", "{}", 2));
  EXPECT_TRUE(*(*w)->add("A", "+12025550101", "{}", 3));
  EXPECT_TRUE(*(*w)->add("B", "+12025550102", "{}", 4));
  ASSERT_TRUE((*w)->commit().ok());
  auto st = (*store)->status(campaign->id);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->customers, 2);
  EXPECT_EQ(st->phones, 3);
  EXPECT_EQ(st->customers_by_state[CustomerState::kPending], 2);
}

}  // namespace
}  // namespace pd
