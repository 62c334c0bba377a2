// The Connect backend's handling of what the streams deliver: duplicated,
// late, out-of-order and early records, against a fake Kinesis (records fed
// by the test) and a real local HTTP endpoint standing in for Connect's API.
#include "telephony/amazon_connect/connect_contact_center.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "aws/aws_test_util.h"
#include "core/time_format.h"

namespace pd::connect {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* kQueue = "aaaaaaaa-1111-2222-3333-444444444444";

// One shard; the test appends records, the consumer reads them in order.
class FakeKinesis final : public aws::KinesisApi {
 public:
  void put(const json& record) {
    std::lock_guard<std::mutex> lock(mu_);
    aws::KinesisRecord r;
    r.sequence_number = std::to_string(records_.size() + 1);
    r.data = record.dump();
    records_.push_back(r);
  }
  absl::StatusOr<std::vector<aws::KinesisShard>> list_shards(const aws::StreamRef&) override {
    aws::KinesisShard s;
    s.shard_id = "shard-0";
    s.starting_sequence_number = "1";
    return std::vector<aws::KinesisShard>{s};
  }
  absl::StatusOr<std::string> get_shard_iterator(const aws::StreamRef&, const std::string&,
                                                 const aws::IteratorStart&) override {
    return std::string("0");
  }
  absl::StatusOr<aws::GetRecordsResult> get_records(const aws::StreamRef&,
                                                    const std::string& iterator,
                                                    int) override {
    std::lock_guard<std::mutex> lock(mu_);
    size_t at = std::stoul(iterator);
    aws::GetRecordsResult r;
    for (; at < records_.size(); ++at) r.records.push_back(records_[at]);
    r.next_shard_iterator = std::to_string(at);
    return r;
  }

 private:
  std::mutex mu_;
  std::vector<aws::KinesisRecord> records_;
};

json agent_event(const std::string& agent, const std::string& at, const std::string& status,
                 json contacts = json::array()) {
  return {{"AgentARN", "arn:aws:connect:us-east-1:1:instance/i/agent/" + agent},
          {"EventType", "STATE_CHANGE"},
          {"EventId", agent + at},
          {"EventTimestamp", at},
          {"CurrentAgentSnapshot",
           {{"AgentStatus", {{"Name", status}, {"Type", status == "Available" ? "ROUTABLE" : "OFFLINE"}}},
            {"Contacts", contacts}}}};
}

json ctr(const std::string& contact, const std::string& reason, bool agent = false) {
  json r{{"AWSContactTraceRecordFormatVersion", "2017-03-10"},
         {"ContactId", contact},
         {"InitiationMethod", "API"},
         {"DisconnectTimestamp", "2026-11-25T10:00:30Z"},
         {"DisconnectReason", reason}};
  if (agent) {
    r["ConnectedToSystemTimestamp"] = "2026-11-25T10:00:05Z";
    r["Agent"] = {{"ARN", "arn:aws:connect:::agent/a1"},
                  {"ConnectedToAgentTimestamp", "2026-11-25T10:00:06Z"}};
  }
  return r;
}

class ConnectContactCenterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.server().Put("/contact/outbound-voice",
                         [this](const httplib::Request& req, httplib::Response& res) {
                           bodies_.push_back(json::parse(req.body));
                           ++requests_;
                           if (gate_) answer_.get_future().wait();  // the test says when
                           if (throttle_.exchange(false)) {
                             res.status = 429;
                             res.set_header("x-amzn-ErrorType", "TooManyRequestsException");
                             res.set_content(R"({"message":"Rate exceeded"})", "application/json");
                             return;
                           }
                           res.set_content(json{{"ContactId", next_contact_}}.dump(),
                                           "application/json");
                         });
    server_.server().Post(R"(/metrics/current/(.+))",
                          [](const httplib::Request&, httplib::Response& res) {
                            res.set_content(
                                R"({"MetricResults":[{"Collections":[{"Metric":{"Name":"AGENTS_AVAILABLE"},"Value":3.0}]}]})",
                                "application/json");
                          });
    server_.start();
    auto http = std::make_shared<aws::HttpClient>();
    auto creds = std::make_shared<aws::StaticCredentialsProvider>(
        aws::Credentials{"AKID", "secret", "", std::nullopt, "test"});
    aws::RetryOptions retry;
    retry.max_attempts = 1;
    connect_ = std::make_shared<aws::AwsClient>(
        aws::ServiceConfig{"connect", "us-east-1", server_.url()}, creds, http, retry);
    loop_thread_ = std::thread([this] { loop_.run(); });
  }
  void TearDown() override {
    on_loop([this] {
      if (cc_) cc_->shutdown();
    });
    loop_.stop();
    loop_thread_.join();
  }

  void make(ConnectOptions o = {}) {
    o.instance_id = "11111111-2222-3333-4444-555555555555";
    o.contact_flow_id = "22222222-2222-3333-4444-555555555555";
    o.queue_id = kQueue;
    o.streams = {"events"};
    o.save_checkpoint = [this](const std::string&, const std::string&, const std::string& seq) {
      checkpoint_ = seq;
    };
    cc_ = std::make_unique<ConnectContactCenter>(loop_, o, connect_, kinesis_);
    ASSERT_TRUE(cc_->open().ok());
    on_loop([this] { cc_->start([this](const ContactEvent& e) { events_.push_back(e); }); });
  }

  // Runs `fn` on the loop and waits for it.
  void on_loop(std::function<void()> fn) {
    std::promise<void> done;
    loop_.post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
  // Waits until `pred` holds on the loop (the consumer polls every 200 ms).
  bool until(std::function<bool()> pred) {
    for (int i = 0; i < 300; ++i) {
      bool ok = false;
      on_loop([&] { ok = pred(); });
      if (ok) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  absl::StatusOr<std::string> dial(const std::string& token) {
    std::promise<absl::StatusOr<std::string>> result;
    on_loop([&] {
      CallRequest r{"+12025550123", token, R"({"first_name":"Ann"})", "C1"};
      cc_->start_call(r, [&](absl::StatusOr<std::string> id) { result.set_value(id); });
    });
    return result.get_future().get();
  }
  std::vector<ContactEvent> events() {
    std::vector<ContactEvent> out;
    on_loop([&] { out = events_; });
    return out;
  }
  size_t count(ContactEvent::Kind kind) {
    size_t n = 0;
    for (const ContactEvent& e : events()) n += e.kind == kind ? 1 : 0;
    return n;
  }

  aws::testing::LocalServer server_;
  std::shared_ptr<aws::AwsClient> connect_;
  std::shared_ptr<FakeKinesis> kinesis_ = std::make_shared<FakeKinesis>();
  RealTimeLoop loop_;
  std::thread loop_thread_;
  std::unique_ptr<ConnectContactCenter> cc_;
  std::vector<ContactEvent> events_;  // loop thread
  std::string checkpoint_;            // loop thread
  std::vector<json> bodies_;          // server thread, read after the call returns
  std::string next_contact_ = "contact-1";
  std::atomic<bool> throttle_{false};
  std::atomic<int> requests_{0};
  bool gate_ = false;  // StartOutboundVoiceContact answers only once answer_ is set
  std::promise<void> answer_;
};

TEST_F(ConnectContactCenterTest, PlacesCallsWithConnectsFieldsAndTellsThrottlingApart) {
  ConnectOptions o;
  o.source_phone = "+12025550100";
  o.ring_timeout = std::chrono::seconds(30);
  o.answering_machine_detection = "on";
  make(o);
  throttle_ = true;
  auto throttled = dial("token-1");
  EXPECT_EQ(throttled.status().code(), absl::StatusCode::kResourceExhausted);
  auto placed = dial("token-1");
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(*placed, "contact-1");
  ASSERT_EQ(bodies_.size(), 2u);
  const json& b = bodies_[1];
  EXPECT_EQ(b["ClientToken"], "token-1");
  EXPECT_EQ(bodies_[0]["ClientToken"], "token-1");  // the retry is the same request
  EXPECT_EQ(b["DestinationPhoneNumber"], "+12025550123");
  EXPECT_EQ(b["QueueId"], kQueue);
  EXPECT_EQ(b["SourcePhoneNumber"], "+12025550100");
  EXPECT_EQ(b["RingTimeoutInSeconds"], 30);
  EXPECT_EQ(b["AnswerMachineDetectionConfig"]["EnableAnswerMachineDetection"], true);
  EXPECT_EQ(b["Attributes"], (json{{"first_name", "Ann"}, {"custID", "C1"}}));
}

// Pacers learn ring times and queue waits from when the callee picked up:
// the CTR's ConnectedToSystemTimestamp, on the connect and the end alike.
TEST_F(ConnectContactCenterTest, TheAnswerTimeComesFromConnectedToSystemTimestamp) {
  make();
  ASSERT_TRUE(dial("t1").ok());
  kinesis_->put(ctr("contact-1", "CUSTOMER_DISCONNECT", /*agent=*/true));
  auto ended = [&](size_t n) {  // on the loop
    return std::count_if(events_.begin(), events_.end(), [](const ContactEvent& e) {
             return e.kind == ContactEvent::Kind::kCallEnded;
           }) == static_cast<ptrdiff_t>(n);
  };
  ASSERT_TRUE(until([&] { return ended(1); }));
  const WallTime answered = *parse_iso8601("2026-11-25T10:00:05Z");
  int seen = 0;
  for (const ContactEvent& e : events()) {
    if (e.kind == ContactEvent::Kind::kAgentState) continue;
    ASSERT_TRUE(e.answered_at.has_value()) << static_cast<int>(e.kind);
    EXPECT_EQ(*e.answered_at, answered);
    ++seen;
  }
  EXPECT_EQ(seen, 2);  // connected (from the CTR's Agent) and ended

  // Hung up in the queue: no ConnectedToSystemTimestamp written, but the
  // queue time tells when they answered.
  next_contact_ = "contact-2";
  ASSERT_TRUE(dial("t2").ok());
  json queued = ctr("contact-2", "CUSTOMER_DISCONNECT");
  queued["Queue"] = {{"ARN", "arn:aws:connect:::queue/q"},
                     {"EnqueueTimestamp", "2026-11-25T10:00:07Z"},
                     {"DequeueTimestamp", "2026-11-25T10:00:12Z"},
                     {"Duration", 5}};
  kinesis_->put(queued);
  ASSERT_TRUE(until([&] { return ended(2); }));
  const ContactEvent last = events().back();
  EXPECT_EQ(last.outcome, Outcome::kAbandoned);
  ASSERT_TRUE(last.answered_at.has_value());
  EXPECT_EQ(*last.answered_at, *parse_iso8601("2026-11-25T10:00:07Z"));
}

TEST_F(ConnectContactCenterTest, CountsAvailableAgentsWithGetCurrentMetricData) {
  make();
  std::promise<absl::StatusOr<int>> n;
  on_loop([&] { cc_->available_agents([&](absl::StatusOr<int> v) { n.set_value(v); }); });
  auto v = n.get_future().get();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, 3);
}

TEST_F(ConnectContactCenterTest, DuplicatedLateAndEarlyRecordsGiveOneEndEach) {
  make();
  // A record of a contact not ours, with no call awaiting its id: dropped.
  kinesis_->put(ctr("inbound-1", "CUSTOMER_DISCONNECT"));
  ASSERT_TRUE(until([&] { return checkpoint_ == "1"; }));
  // The CTR beats StartOutboundVoiceContact's answer: held, then replayed.
  gate_ = true;
  auto dialled = std::async(std::launch::async, [&] { return dial("t1"); });
  ASSERT_TRUE(until([&] { return requests_ == 1; }));
  kinesis_->put(ctr("contact-1", "TELECOM_BUSY"));
  ASSERT_TRUE(until([&] { return checkpoint_ == "2"; }));
  EXPECT_EQ(count(ContactEvent::Kind::kCallEnded), 0u);
  answer_.set_value();
  ASSERT_TRUE(dialled.get().ok());
  ASSERT_TRUE(until([&] { return events_.size() == 1; }));
  ContactEvent ended = events()[0];
  EXPECT_EQ(ended.kind, ContactEvent::Kind::kCallEnded);
  EXPECT_EQ(ended.outcome, Outcome::kBusy);
  EXPECT_EQ(ended.disconnect_reason, "TELECOM_BUSY");
  // The same record again, twice: nothing more.
  kinesis_->put(ctr("contact-1", "TELECOM_BUSY"));
  kinesis_->put(ctr("contact-1", "TELECOM_BUSY"));
  ASSERT_TRUE(until([&] { return checkpoint_ == "4"; }));
  EXPECT_EQ(count(ContactEvent::Kind::kCallEnded), 1u);
  EXPECT_EQ(cc_->stats().duplicate_ends, 2);
  EXPECT_EQ(cc_->stats().unknown_contacts, 1);  // inbound-1
}

TEST_F(ConnectContactCenterTest, AConnectedCallsRecordGivesConnectedThenEndedOnce) {
  make();
  next_contact_ = "contact-7";
  ASSERT_TRUE(dial("t7").ok());
  json talking = json::array({{{"ContactId", "contact-7"}, {"State", "CONNECTED"}}});
  kinesis_->put(agent_event("a1", "2026-11-25T10:00:06.000Z", "Available", talking));
  kinesis_->put(ctr("contact-7", "CUSTOMER_DISCONNECT", /*agent=*/true));
  ASSERT_TRUE(until([&] { return checkpoint_ == "2"; }));
  std::vector<ContactEvent> e = events();
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].kind, ContactEvent::Kind::kAgentState);
  EXPECT_EQ(e[0].agent_state, AgentState::kBusy);
  EXPECT_EQ(e[1].kind, ContactEvent::Kind::kCallConnected);
  EXPECT_EQ(e[1].agent_id, "a1");
  EXPECT_EQ(e[2].kind, ContactEvent::Kind::kCallEnded);
  EXPECT_EQ(e[2].outcome, Outcome::kConnected);
}

TEST_F(ConnectContactCenterTest, TheWrapUpCodeComesFromTheConfiguredAttribute) {
  ConnectOptions o;
  o.disposition_attribute = "wrapup";
  make(o);
  next_contact_ = "contact-8";
  ASSERT_TRUE(dial("t8").ok());
  json record = ctr("contact-8", "AGENT_DISCONNECT", /*agent=*/true);
  record["Attributes"] = {{"disposition", "IGNORED"}, {"wrapup", "CALLBACK"}};
  kinesis_->put(record);
  ASSERT_TRUE(until([&] {  // (on the loop: events_ directly)
    return std::any_of(events_.begin(), events_.end(), [](const ContactEvent& e) {
      return e.kind == ContactEvent::Kind::kCallEnded;
    });
  }));
  for (const ContactEvent& e : events()) {
    if (e.kind == ContactEvent::Kind::kCallEnded) {
      EXPECT_EQ(e.disposition, "CALLBACK");
      EXPECT_EQ(e.outcome, Outcome::kConnected);
    }
  }
}

TEST_F(ConnectContactCenterTest, AnAgentEventOlderThanTheLastAppliedIsDropped) {
  make();
  kinesis_->put(agent_event("a1", "2026-11-25T10:00:10.000Z", "Offline"));
  kinesis_->put(agent_event("a1", "2026-11-25T10:00:05.000Z", "Available"));  // late
  ASSERT_TRUE(until([&] { return checkpoint_ == "2"; }));
  std::vector<ContactEvent> e = events();
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].agent_state, AgentState::kOffline);
  EXPECT_EQ(cc_->stats().stale_agent_events, 1);
}

TEST_F(ConnectContactCenterTest, AnAgentWhoseEventsStopIsTakenAsGone) {
  ConnectOptions o;
  o.agent_check_every = std::chrono::milliseconds(100);
  o.agent_silence = std::chrono::milliseconds(1);
  make(o);
  kinesis_->put(agent_event("a1", format_iso8601(loop_.wall_now() - std::chrono::seconds(1)),
                            "Available"));
  ASSERT_TRUE(until([&] { return events_.size() >= 2; }));
  std::vector<ContactEvent> e = events();
  EXPECT_EQ(e[0].agent_state, AgentState::kAvailable);
  EXPECT_EQ(e[1].agent_state, AgentState::kOffline);
  EXPECT_GE(cc_->stats().silent_agents, 1);
}

}  // namespace
}  // namespace pd::connect
