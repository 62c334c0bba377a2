#include "server/api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "core/strings.h"
#include "io/status_json.h"
#include "server/http_server.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-api-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "api.db").string();
    ASSERT_TRUE(SqliteStore::open(path_, true).ok());
    pool_ = std::make_unique<StorePool>(path_);
    api_ = std::make_unique<Api>(*pool_, nullptr);
  }
  void TearDown() override {
    api_.reset();
    pool_.reset();
    std::filesystem::remove_all(dir_);
  }
  ApiResponse load(std::string_view name, std::string csv, bool append = false,
                   std::function<absl::Status()> check = nullptr) {
    std::istringstream in(std::move(csv));
    return api_->load_list(name, append, in, check);
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<StorePool> pool_;
  std::unique_ptr<Api> api_;
};

TEST_F(ApiTest, CreateFollowsTheInitNameRules) {
  auto r = api_->create_campaign(R"({"name":"spring"})");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body["name"], "spring");
  EXPECT_EQ(r.body["state"], "idle");
  EXPECT_EQ(api_->create_campaign(R"({"name":"spring"})").status, 409);
  EXPECT_EQ(api_->create_campaign(R"({"name":"a/b"})").status, 400);
  EXPECT_EQ(api_->create_campaign(R"({"name":""})").status, 400);
  EXPECT_EQ(api_->create_campaign(R"({"nom":"x"})").status, 400);
  EXPECT_EQ(api_->create_campaign(R"([1])").status, 400);
  EXPECT_EQ(api_->create_campaign("{").status, 400);
  auto list = api_->list_campaigns();
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["campaigns"].size(), 1u);
  EXPECT_EQ(api_->get_campaign("autumn").status, 404);
  EXPECT_EQ(api_->get_campaign("../etc").status, 400);
}

TEST_F(ApiTest, ConfigKeysWithFixedValuesListTheirChoices) {
  ASSERT_EQ(api_->create_campaign(R"({"name":"c"})").status, 201);
  auto r = api_->get_config("c");
  ASSERT_EQ(r.status, 200);
  std::map<std::string, nlohmann::json> keys;
  for (const auto& k : r.body["keys"]) keys[k["name"]] = k;
  EXPECT_EQ(keys["traffic-type"]["choices"], nlohmann::json({"GENERAL", "CAMPAIGN"}));
  EXPECT_EQ(keys["answering-machine-detection"]["choices"],
            nlohmann::json({"off", "on", "on-await-prompt"}));
  EXPECT_FALSE(keys["max-attempts"].contains("choices"));  // free text (a number)
}

TEST_F(ApiTest, PatchConfigIsAllOrNothingAndNamesTheKey) {
  ASSERT_EQ(api_->create_campaign(R"({"name":"c"})").status, 201);
  auto bad = api_->patch_config("c", R"({"max-attempts":"3","retry-delay":"soon"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["key"], "retry-delay");
  EXPECT_NE(bad.body["error"].get<std::string>().find("retry-delay"), std::string::npos);
  EXPECT_EQ(api_->get_config("c").body["config"]["max-attempts"], "1");
  auto unknown = api_->patch_config("c", R"({"colour":null})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body["key"], "colour");
  EXPECT_EQ(api_->patch_config("c", R"({"max-attempts":true})").status, 400);
  auto ok = api_->patch_config("c", R"({"max-attempts":4,"retry-delay":"120"})");
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["config"]["max-attempts"], "4");
  EXPECT_EQ(ok.body["config"]["retry-delay"], "2m");
  auto unset = api_->patch_config("c", R"({"retry-delay":null})");
  EXPECT_EQ(unset.body["config"]["retry-delay"], "5m");
  EXPECT_EQ(api_->patch_config("nope", "{}").status, 404);
}

TEST_F(ApiTest, LoadReportsRejectsAndStatusMatchesTheCli) {
  ASSERT_EQ(api_->create_campaign(R"({"name":"c"})").status, 201);
  auto r = load("c", "custID,phone\nA,+12025550101\nB,12\n\n,+1202555010\nC,+12025550103\n");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["loaded"], 2);
  EXPECT_EQ(r.body["rejected"], 2);  // the blank line is skipped
  EXPECT_EQ(r.body["rejects"][0]["line"], 3);
  EXPECT_EQ(r.body["rejects"][1]["line"], 5);
  EXPECT_EQ(api_->rejects("c").body["rejects"], r.body["rejects"]);
  auto got = api_->get_campaign("c");
  ASSERT_EQ(got.status, 200);
  EXPECT_TRUE(got.body["live"].is_null());
  auto store = pool_->acquire();
  auto st = (*store)->status((*store)->find_campaign("c")->id);
  nlohmann::json expected = campaign_status_json(*st);
  expected["live"] = nullptr;
  EXPECT_EQ(got.body, expected);
}

TEST_F(ApiTest, RejectsAreBoundedAndCountedByReason) {
  ASSERT_EQ(api_->create_campaign(R"({"name":"c"})").status, 201);
  std::string csv = "custID,phone\nA,+12025550101\n" + std::string(200000, '\n');
  for (int i = 0; i < 2500; ++i) csv += cat("X", i, ",12\n");
  auto r = load("c", csv);
  ASSERT_EQ(r.status, 200) << r.body.dump().substr(0, 200);
  EXPECT_EQ(r.body["rejected"], 2500);
  EXPECT_EQ(r.body["rejected_by_reason"], (nlohmann::json{{"invalid_phone", 2500}}));
  auto kept = api_->rejects("c");
  ASSERT_EQ(kept.status, 200);
  EXPECT_EQ(kept.body["rejects"].size(), 1000u);
  EXPECT_EQ(kept.body["rejected_rows"], 2500);
  EXPECT_EQ(kept.body["rejects_not_listed"], 1500);
  EXPECT_EQ(kept.body["rejects_by_reason"], (nlohmann::json{{"invalid_phone", 2500}}));
  EXPECT_EQ(api_->get_campaign("c").body["rejects_not_listed"], 1500);
}

TEST_F(ApiTest, AnUploadCutShortLeavesTheListAsItWas) {
  ASSERT_EQ(api_->create_campaign(R"({"name":"c"})").status, 201);
  ASSERT_EQ(load("c", "custID,phone\nA,+12025550101\n").status, 200);
  auto r = load("c", "custID,phone\nX,+12025550199\nY,+12025550198\n", false,
                [] { return absl::ResourceExhaustedError("too large"); });
  EXPECT_EQ(r.status, 413);
  auto got = api_->get_campaign("c");
  EXPECT_EQ(got.body["customers"], 1);
}

TEST_F(ApiTest, StartAndStopNeedAHost) {
  EXPECT_EQ(api_->start("c").status, 503);
  EXPECT_EQ(api_->stop("c").status, 503);
}

TEST(HttpStatus, FollowsTheStatusCode) {
  EXPECT_EQ(http_status_for(absl::InvalidArgumentError("")), 400);
  EXPECT_EQ(http_status_for(absl::NotFoundError("")), 404);
  EXPECT_EQ(http_status_for(absl::FailedPreconditionError("")), 409);
  EXPECT_EQ(http_status_for(absl::AlreadyExistsError("")), 409);
  EXPECT_EQ(http_status_for(absl::ResourceExhaustedError("")), 413);
  EXPECT_EQ(http_status_for(absl::UnavailableError("")), 503);
  EXPECT_EQ(http_status_for(absl::InternalError("")), 500);
  EXPECT_EQ(api_error(absl::NotFoundError("no campaign")).body["error"], "no campaign");
}

TEST(ListenAddress, ParsesHostAndPort) {
  EXPECT_EQ(*parse_listen_address("127.0.0.1:8080"),
            std::make_pair(std::string("127.0.0.1"), 8080));
  EXPECT_EQ(*parse_listen_address("[::1]:9000"), std::make_pair(std::string("::1"), 9000));
  EXPECT_EQ(*parse_listen_address(":0"), std::make_pair(std::string("127.0.0.1"), 0));
  EXPECT_FALSE(parse_listen_address("8080").ok());
  EXPECT_FALSE(parse_listen_address("host:").ok());
  EXPECT_FALSE(parse_listen_address("host:99999").ok());
  EXPECT_FALSE(parse_listen_address("host:80a").ok());
}

TEST(ListenAddress, Loopback) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("::"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("127.example.com"));
  EXPECT_FALSE(is_loopback_host("192.168.1.127"));
}

TEST(ListenAddress, LiveFeedLeavesThreadsForTheApi) {
  EXPECT_EQ(live_feed_capacity(256), 224);
  EXPECT_EQ(live_feed_capacity(8), 4);
}

}  // namespace
}  // namespace pd
