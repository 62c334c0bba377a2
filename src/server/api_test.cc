#include "server/api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "core/strings.h"
#include "io/files_folder.h"
#include "io/status_json.h"
#include "server/campaign_host.h"
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
    files_ = *make_files_folder((dir_ / "files").string());
    api_ = std::make_unique<Api>(*pool_, nullptr, files_);
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
  // GET .../rejects as the HTTP layer streams it.
  nlohmann::json rejects_json(std::string_view name) {
    auto src = api_->campaign_source(name);
    EXPECT_TRUE(src.ok()) << src.status();
    if (!src.ok()) return nullptr;
    std::ostringstream out;
    EXPECT_TRUE(write_rejects_json(*src->store, src->campaign, out).ok());
    return nlohmann::json::parse(out.str());
  }

  std::filesystem::path dir_;
  std::string path_;
  std::string files_;
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

TEST_F(ApiTest, ComplianceReportsEveryRuleOfACampaign) {
  ASSERT_EQ(api_->create_campaign(R"({"name":"c"})").status, 201);
  auto r = api_->compliance("c");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["campaign"], "c");
  EXPECT_EQ(r.body["violations"], 0);
  ASSERT_EQ(r.body["rules"].size(), 5u);
  EXPECT_EQ(r.body["rules"][0]["rule"], "calling-window");
  EXPECT_TRUE(r.body["abandon_rate"].contains("rate_30d"));
  EXPECT_EQ(api_->compliance("nosuch").status, 404);
  EXPECT_EQ(api_->compliance("../etc").status, 400);
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

// The dashboard's pacing control goes through PATCH .../config: the mode is
// checked like `config set` checks it, and GET shows it with the target.
TEST_F(ApiTest, PacingIsShownAndChangedThroughTheConfig) {
  ASSERT_EQ(api_->create_campaign(R"({"name":"c"})").status, 201);
  nlohmann::json pacing = api_->get_campaign("c").body["pacing"];
  EXPECT_EQ(pacing["mode"], "power");
  EXPECT_TRUE(pacing["lines_per_agent"].is_null());  // not dialling
  EXPECT_DOUBLE_EQ(pacing["target_abandon_rate"].get<double>(), 0.025);
  EXPECT_DOUBLE_EQ(pacing["max_abandon_rate"].get<double>(), 0.03);
  EXPECT_DOUBLE_EQ(pacing["abandon_rate_today"].get<double>(), 0);

  auto bad = api_->patch_config("c", R"({"pacing":"turbo"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["key"], "pacing");
  EXPECT_NE(bad.body["error"].get<std::string>().find("progressive"), std::string::npos)
      << bad.body.dump();
  auto lines = api_->patch_config("c", R"({"pacing":"progressive","lines-per-agent":9})");
  EXPECT_EQ(lines.status, 400);
  EXPECT_EQ(lines.body["key"], "lines-per-agent");
  EXPECT_EQ(api_->get_campaign("c").body["pacing"]["mode"], "power");  // all or nothing

  auto ok = api_->patch_config(
      "c", R"({"pacing":"progressive","lines-per-agent":"1.8","target-abandon-rate":"2%"})");
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  pacing = api_->get_campaign("c").body["pacing"];
  EXPECT_EQ(pacing["mode"], "progressive");
  EXPECT_DOUBLE_EQ(pacing["configured_lines_per_agent"].get<double>(), 1.8);
  EXPECT_DOUBLE_EQ(pacing["target_abandon_rate"].get<double>(), 0.02);
}

TEST_F(ApiTest, EndpointsAreNotForApiClients) {
  ASSERT_EQ(api_->create_campaign(R"({"name":"c"})").status, 201);
  for (const char* key : {"connect-endpoint", "kinesis-endpoint", "s3-endpoint"}) {
    auto r = api_->patch_config("c", cat(R"({")", key, R"(":"http://169.254.169.254/"})"));
    EXPECT_EQ(r.status, 403) << key;
    EXPECT_EQ(r.body["key"], key);
    EXPECT_TRUE(api_->get_config("c").body["config"][key].is_null()) << key;
  }
}

TEST_F(ApiTest, LoadReportsRejectsAndStatusMatchesTheCli) {
  ASSERT_EQ(api_->create_campaign(R"({"name":"c"})").status, 201);
  auto r = load("c", "custID,phone\nA,+12025550101\nB,12\n\n,+1202555010\nC,+12025550103\n");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["loaded"], 2);
  EXPECT_EQ(r.body["rejected"], 2);  // the blank line is skipped
  EXPECT_EQ(r.body["rejects"][0]["line"], 3);
  EXPECT_EQ(r.body["rejects"][1]["line"], 5);
  EXPECT_EQ(rejects_json("c")["rejects"], r.body["rejects"]);
  auto got = api_->get_campaign("c");
  ASSERT_EQ(got.status, 200);
  EXPECT_TRUE(got.body["live"].is_null());
  auto store = pool_->acquire();
  auto st = (*store)->status((*store)->find_campaign("c")->id);
  nlohmann::json expected = campaign_status_json(*st);
  expected["live"] = nullptr;
  expected["node"] = nullptr;  // no node dials it
  auto pacing = read_campaign_pacing(**store, st->campaign, st->abandon);  // as `status` adds it
  ASSERT_TRUE(pacing.ok());
  expected["pacing"] = pacing_json(pacing->config, st->abandon, pacing->live);
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
  const nlohmann::json kept = rejects_json("c");
  EXPECT_EQ(kept["rejects"].size(), 1000u);
  EXPECT_EQ(kept["rejected_rows"], 2500);
  EXPECT_EQ(kept["rejects_not_listed"], 1500);
  EXPECT_EQ(kept["rejects_by_reason"], (nlohmann::json{{"invalid_phone", 2500}}));
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

TEST_F(ApiTest, LocalFilesSetThroughTheApiStayInTheFilesFolder) {
  ASSERT_EQ(api_->create_campaign(R"({"name":"c"})").status, 201);
  auto refused = [&](const nlohmann::json& patch, std::string_view key) {
    auto r = api_->patch_config("c", patch.dump());
    EXPECT_EQ(r.status, 400) << patch.dump() << " " << r.body.dump();
    EXPECT_EQ(r.body["key"], key);
    const std::string error = r.body["error"];
    EXPECT_NE(error.find(files_), std::string::npos) << error;
    EXPECT_NE(error.find(std::string(key)), std::string::npos) << error;
  };
  refused({{"outputfile", "/etc/cron.d/powerdialer"}}, "outputfile");
  refused({{"outputfile", "../api.db"}}, "outputfile");
  refused({{"outputfile", (dir_ / "elsewhere.csv").string()}}, "outputfile");
  refused({{"inputfile", "/etc/passwd"}}, "inputfile");
  refused({{"outputfile", "results/"}}, "outputfile");
  std::filesystem::create_symlink("/etc", std::filesystem::path(files_) / "etc");
  refused({{"inputfile", "etc/passwd"}}, "inputfile");
  // Nothing of a refused request is kept.
  refused({{"max-attempts", "3"}, {"outputfile", "/tmp/x.csv"}}, "outputfile");
  EXPECT_EQ(api_->get_config("c").body["config"]["max-attempts"], "1");
  EXPECT_TRUE(api_->get_config("c").body["config"]["outputfile"].is_null());

  // A name is taken inside the folder and stored as its full path, so the
  // command line means the same file.
  auto ok = api_->patch_config("c", R"({"outputfile":"spring.csv","inputfile":"lists/a.csv"})");
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["config"]["outputfile"], files_ + "/spring.csv");
  EXPECT_EQ(ok.body["config"]["inputfile"], files_ + "/lists/a.csv");
  ok = api_->patch_config("c", nlohmann::json{{"outputfile", files_ + "/b.csv"}}.dump());
  EXPECT_EQ(ok.body["config"]["outputfile"], files_ + "/b.csv");
  // S3 is not a local file; a bare inputfile name with io-bucket is its object.
  ok = api_->patch_config("c", R"({"outputfile":"s3://results/c.csv","io-bucket":"dialer-io",
                                   "inputfile":"list.csv"})");
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["config"]["outputfile"], "s3://results/c.csv");
  EXPECT_EQ(ok.body["config"]["inputfile"], "list.csv");
  // Other schemes are refused for the API as for the CLI.
  auto https = api_->patch_config("c", R"({"inputfile":"https://example.com/list.csv"})");
  EXPECT_EQ(https.status, 400);
  EXPECT_EQ(https.body["key"], "inputfile");
}

TEST_F(ApiTest, WithoutAFilesFolderNoLocalFileIsTaken) {
  Api bare(*pool_, nullptr, "");
  ASSERT_EQ(bare.create_campaign(R"({"name":"c"})").status, 201);
  EXPECT_EQ(bare.patch_config("c", R"({"outputfile":"x.csv"})").status, 400);
  EXPECT_EQ(bare.patch_config("c", R"({"outputfile":"s3://results/x.csv"})").status, 200);
}

TEST_F(ApiTest, DotNamesAreRefusedAndLongInputIsNotEchoedInFull) {
  for (const char* name : {".", ".."}) {
    auto r = api_->create_campaign(nlohmann::json{{"name", name}}.dump());
    EXPECT_EQ(r.status, 400) << name;
    EXPECT_EQ(api_->get_campaign(name).status, 400) << name;
  }
  EXPECT_EQ(api_->create_campaign(R"({"name":"a.b"})").status, 201);
  const std::string huge(100000, 'n');
  for (const ApiResponse& r :
       {api_->create_campaign(nlohmann::json{{"name", huge}}.dump()), api_->get_campaign(huge),
        api_->patch_config("a.b", nlohmann::json{{huge, "1"}}.dump()),
        api_->patch_config("a.b", nlohmann::json{{"max-attempts", huge}}.dump()),
        api_->patch_config("a.b", nlohmann::json{{"outputfile", huge}}.dump())}) {
    EXPECT_EQ(r.status, 400);
    const std::string body = r.body.dump();
    EXPECT_LT(body.size(), 1000u) << body.substr(0, 200);
    EXPECT_NE(body.find("(100000 characters)"), std::string::npos) << body.substr(0, 300);
  }
}

TEST_F(ApiTest, ErrorsAdviseApiRequestsNotCommands) {
  auto missing = api_->get_campaign("autumn");
  EXPECT_EQ(missing.status, 404);
  const std::string error = missing.body["error"];
  EXPECT_EQ(error.find("powerdialer"), std::string::npos) << error;
  EXPECT_NE(error.find("POST /api/campaigns"), std::string::npos) << error;

  // Start, through a host that dials: no list; then an outputfile the CLI
  // set outside the folder.
  HostOptions ho;
  ho.db_path = path_;
  ho.files_folder = files_;
  CampaignHost host(ho);
  Api api(*pool_, &host, files_);
  ASSERT_EQ(api.create_campaign(R"({"name":"c"})").status, 201);
  auto no_list = api.start("c");
  EXPECT_EQ(no_list.status, 409);
  const std::string why = no_list.body["error"];
  EXPECT_NE(why.find("upload one with PUT /api/campaigns/c/list"), std::string::npos) << why;
  EXPECT_EQ(why.find(" load "), std::string::npos) << why;
  EXPECT_EQ(why.find("powerdialer"), std::string::npos) << why;

  ASSERT_EQ(load("c", "custID,phone\nA,+12025550101\n").status, 200);
  {
    auto store = pool_->acquire();
    ASSERT_TRUE((*store)
                    ->set_config((*store)->find_campaign("c")->id, "outputfile",
                                 (dir_ / "cli-results.csv").string())
                    .ok());
  }
  auto outside = api.start("c");
  EXPECT_EQ(outside.status, 409);
  const std::string because = outside.body["error"];
  EXPECT_NE(because.find("outputfile"), std::string::npos) << because;
  EXPECT_NE(because.find(files_), std::string::npos) << because;
  EXPECT_NE(because.find("PATCH /api/campaigns/c/config"), std::string::npos) << because;
  EXPECT_FALSE(host.running_here("c"));
}

TEST_F(ApiTest, NodesAreListedAndADrainedNodeRefusesStartsAndLoadsOfRunningCampaigns) {
  HostOptions ho;
  ho.db_path = path_;
  ho.files_folder = files_;
  ho.node_id = "node-1";
  CampaignHost host(ho);
  auto store = open_store(path_, false);
  ASSERT_TRUE(store.ok());
  NodeAgent node(std::move(*store), host, NodeOptions{"node-1", std::chrono::seconds(10), {}});
  ASSERT_TRUE(node.step().ok());
  Api api(*pool_, &host, files_, nullptr, &node);
  ASSERT_EQ(api.create_campaign(R"({"name":"c"})").status, 201);
  ASSERT_EQ(load("c", "custID,phone\nA,+12025550101\n").status, 200);

  auto nodes = api.nodes();
  ASSERT_EQ(nodes.status, 200);
  EXPECT_EQ(nodes.body["this_node"], "node-1");
  ASSERT_EQ(nodes.body["nodes"].size(), 1u);
  EXPECT_EQ(nodes.body["nodes"][0]["id"], "node-1");
  EXPECT_EQ(nodes.body["nodes"][0]["draining"], false);
  EXPECT_TRUE(nodes.body["unheld"].empty());
  EXPECT_TRUE(api.get_campaign("c").body["node"].is_null());
  EXPECT_TRUE(api.list_campaigns().body["campaigns"][0]["node"].is_null());

  // A campaign left running by a dialer that died: with nodes, a load does
  // not stop it (a node takes it over), it is refused.
  {
    auto s = pool_->acquire();
    ASSERT_TRUE((*s)->transition((*s)->find_campaign("c")->id, {}, CampaignState::kRunning).ok());
  }
  nodes = api.nodes();
  EXPECT_EQ(nodes.body["unheld"], nlohmann::json::array({"c"}));
  std::istringstream csv("custID,phone\nB,+12025550102\n");
  auto refused = api.load_list("c", false, csv, nullptr);
  EXPECT_EQ(refused.status, 409);
  EXPECT_NE(refused.body["error"].get<std::string>().find("is running"), std::string::npos);
  Api api_without_node(*pool_, &host, files_);
  {
    std::istringstream in("custID,phone\nB,+12025550102\n");
    EXPECT_EQ(api_without_node.load_list("c", false, in, nullptr).status, 200);  // stopped first
  }

  auto drained = api.drain_node();
  EXPECT_EQ(drained.status, 202);
  EXPECT_EQ(drained.body["node"], "node-1");
  EXPECT_EQ(drained.body["draining"], true);
  EXPECT_EQ(drained.body["other_nodes_serving"], false);
  EXPECT_TRUE(node.draining());
  EXPECT_EQ(api.nodes().body["nodes"][0]["draining"], true);
  auto start = api.start("c");
  EXPECT_EQ(start.status, 409);
  EXPECT_NE(start.body["error"].get<std::string>().find("draining"), std::string::npos);
  EXPECT_EQ(api_without_node.drain_node().status, 503);
  node.stop();
  EXPECT_TRUE(api.nodes().body["nodes"].empty());
}

TEST_F(ApiTest, AStoreThatCannotBeOpenedIsNotDescribedToTheClient) {
  StorePool gone((dir_ / "missing.db").string());
  Api api(gone, nullptr, files_);
  auto r = api.list_campaigns();
  EXPECT_EQ(r.status, 503);
  const std::string error = r.body["error"];
  EXPECT_EQ(error.find("missing.db"), std::string::npos) << error;
  EXPECT_EQ(error.find("powerdialer"), std::string::npos) << error;
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
