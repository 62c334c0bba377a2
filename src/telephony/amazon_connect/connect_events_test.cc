#include "telephony/amazon_connect/connect_events.h"

#include <gtest/gtest.h>

#include "core/time_format.h"

namespace pd::connect {
namespace {

using nlohmann::json;

const char* kQueue = "aaaaaaaa-1111-2222-3333-444444444444";
const char* kQueueArn =
    "arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-3333-4444-555555555555/queue/"
    "aaaaaaaa-1111-2222-3333-444444444444";

// An agent event as Connect streams it (trimmed to the fields we read, plus
// a few we don't, to show they are ignored).
json agent_event(const std::string& type, const std::string& status_type,
                 json contacts = json::array(), const char* queue_arn = kQueueArn) {
  return json{
      {"AWSAccountId", "123456789012"},
      {"AgentARN",
       "arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-3333-4444-555555555555/"
       "agent/agent-7"},
      {"EventId", "e-1"},
      {"EventTimestamp", "2026-11-25T10:00:01.250Z"},
      {"EventType", type},
      {"InstanceARN", "arn:aws:connect:us-east-1:123456789012:instance/x"},
      {"Version", "2019-05-25"},
      {"CurrentAgentSnapshot",
       {{"AgentStatus",
         {{"ARN", "arn:status"},
          {"Name", status_type == "ROUTABLE" ? "Available" : "Lunch"},
          {"StartTimestamp", "2026-11-25T09:00:00.000Z"},
          {"Type", status_type}}},
        {"Configuration",
         {{"Username", "ann"},
          {"RoutingProfile",
           {{"Name", "Outbound"},
            {"InboundQueues", json::array({{{"ARN", queue_arn}, {"Channels", {"VOICE"}}}})}}}}},
        {"Contacts", contacts}}},
  };
}

TEST(ConnectEvents, ClassifiesAgentEventsAndContactRecords) {
  EXPECT_EQ(classify(agent_event("STATE_CHANGE", "ROUTABLE")), RecordKind::kAgentEvent);
  EXPECT_EQ(
      classify(json{{"ContactId", "c"}, {"AWSContactTraceRecordFormatVersion", "2017-03-10"}}),
      RecordKind::kContactRecord);
  EXPECT_EQ(classify(json{{"hello", 1}}), RecordKind::kOther);
  EXPECT_EQ(classify(json::array()), RecordKind::kOther);
}

TEST(ConnectEvents, AgentStateFollowsStatusAndContacts) {
  auto available = parse_agent_event(agent_event("STATE_CHANGE", "ROUTABLE"), kQueue);
  ASSERT_TRUE(available.ok()) << available.status();
  EXPECT_EQ(available->agent_id, "agent-7");
  EXPECT_EQ(available->state, AgentState::kAvailable);
  EXPECT_TRUE(available->serves_queue);
  EXPECT_EQ(available->at, *parse_iso8601("2026-11-25T10:00:01.250Z"));

  json talking = json::array({{{"ContactId", "c-1"}, {"State", "CONNECTED"}}});
  auto busy = parse_agent_event(agent_event("STATE_CHANGE", "ROUTABLE", talking), kQueue);
  EXPECT_EQ(busy->state, AgentState::kBusy);
  ASSERT_EQ(busy->contacts.size(), 1u);
  EXPECT_EQ(busy->contacts[0].first, "c-1");
  EXPECT_EQ(busy->contacts[0].second, "CONNECTED");

  json ended = json::array({{{"ContactId", "c-1"}, {"State", "ENDED"}}});
  EXPECT_EQ(parse_agent_event(agent_event("STATE_CHANGE", "ROUTABLE", ended), kQueue)->state,
            AgentState::kAfterCallWork);
  EXPECT_EQ(parse_agent_event(agent_event("STATE_CHANGE", "CUSTOM"), kQueue)->state,
            AgentState::kOffline);
  EXPECT_EQ(parse_agent_event(agent_event("HEART_BEAT", "OFFLINE"), kQueue)->state,
            AgentState::kOffline);
  json logout = agent_event("LOGOUT", "ROUTABLE");
  logout.erase("CurrentAgentSnapshot");
  EXPECT_EQ(parse_agent_event(logout, kQueue)->state, AgentState::kOffline);
}

// The documented example of an agent event ("Agent event streams data
// model"): AgentStatus carries ARN, Name and StartTimestamp, no Type.
json documented_agent_event(const std::string& status_name, json contacts = json::array()) {
  json e = agent_event("STATE_CHANGE", "ROUTABLE", std::move(contacts));
  json& status = e["CurrentAgentSnapshot"]["AgentStatus"];
  status.erase("Type");
  status["Name"] = status_name;
  return e;
}

TEST(ConnectEvents, WithoutStatusTypeTheStatusNamedAvailableIsRoutable) {
  auto available = parse_agent_event(documented_agent_event("Available"), kQueue);
  ASSERT_TRUE(available.ok()) << available.status();
  EXPECT_EQ(available->state, AgentState::kAvailable);
  EXPECT_EQ(parse_agent_event(documented_agent_event("Offline"), kQueue)->state,
            AgentState::kOffline);
  EXPECT_EQ(parse_agent_event(documented_agent_event("Lunch"), kQueue)->state,
            AgentState::kOffline);
  // Contacts still decide busy and after-call work.
  json talking = json::array({{{"ContactId", "c-1"}, {"State", "CONNECTED"}}});
  EXPECT_EQ(parse_agent_event(documented_agent_event("Available", talking), kQueue)->state,
            AgentState::kBusy);
  json ended = json::array({{{"ContactId", "c-1"}, {"State", "ENDED"}}});
  EXPECT_EQ(parse_agent_event(documented_agent_event("Available", ended), kQueue)->state,
            AgentState::kAfterCallWork);
}

TEST(ConnectEvents, StatusTypeWinsOverTheStatusName) {
  // A custom status may be called anything, "Available" included: when Type
  // is there, it alone decides.
  json custom = agent_event("STATE_CHANGE", "CUSTOM");
  custom["CurrentAgentSnapshot"]["AgentStatus"]["Name"] = "Available";
  EXPECT_EQ(parse_agent_event(custom, kQueue)->state, AgentState::kOffline);
  json routable = agent_event("STATE_CHANGE", "ROUTABLE");
  routable["CurrentAgentSnapshot"]["AgentStatus"]["Name"] = "Ready";
  EXPECT_EQ(parse_agent_event(routable, kQueue)->state, AgentState::kAvailable);
}

TEST(ConnectEvents, AnAgentOfAnotherQueueIsMarked) {
  auto other = parse_agent_event(
      agent_event("STATE_CHANGE", "ROUTABLE", json::array(), "arn:aws:connect:::queue/other"),
      kQueue);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->serves_queue);
}

TEST(ConnectEvents, MalformedAgentEventsNameWhatIsMissing) {
  json no_time = agent_event("STATE_CHANGE", "ROUTABLE");
  no_time["EventTimestamp"] = "yesterday";
  EXPECT_EQ(std::string(parse_agent_event(no_time, kQueue).status().message()),
            "agent event for agent-7 without a valid EventTimestamp");
  json no_snapshot = agent_event("STATE_CHANGE", "ROUTABLE");
  no_snapshot.erase("CurrentAgentSnapshot");
  EXPECT_FALSE(parse_agent_event(no_snapshot, kQueue).ok());
}

json ctr(const std::string& reason, bool answered, bool agent, const std::string& amd = "") {
  json r{{"AWSContactTraceRecordFormatVersion", "2017-03-10"},
         {"ContactId", "c-9"},
         {"InitiationMethod", "API"},
         {"Channel", "VOICE"},
         {"InitiationTimestamp", "2026-11-25T10:00:00Z"},
         {"DisconnectTimestamp", "2026-11-25T10:02:00Z"},
         {"DisconnectReason", reason},
         {"Queue", {{"ARN", kQueueArn}, {"Name", "Outbound"}}},
         {"Agent", nullptr}};
  if (answered) r["ConnectedToSystemTimestamp"] = "2026-11-25T10:00:10Z";
  if (agent) {
    r["Agent"] = {{"ARN", "arn:aws:connect:us-east-1:1:instance/i/agent/agent-7"},
                  {"ConnectedToAgentTimestamp", "2026-11-25T10:00:11Z"}};
  }
  if (!amd.empty()) r["AnsweringMachineDetectionStatus"] = amd;
  return r;
}

EndedAs ended_as(const json& record) {
  auto facts = parse_contact_record(record);
  EXPECT_TRUE(facts.ok()) << facts.status();
  return map_outcome(*facts);
}

TEST(ConnectEvents, TheOutcomeTable) {
  struct Case {
    json record;
    Outcome outcome;
    std::string reason;
  } cases[] = {
      {ctr("CUSTOMER_DISCONNECT", true, true), Outcome::kConnected, "CUSTOMER_DISCONNECT"},
      {ctr("AGENT_DISCONNECT", true, true), Outcome::kConnected, "AGENT_DISCONNECT"},
      {ctr("TELECOM_BUSY", false, false), Outcome::kBusy, "TELECOM_BUSY"},
      {ctr("CONTACT_FLOW_DISCONNECT", true, false, "SIT_TONE_BUSY"), Outcome::kBusy,
       "TELECOM_BUSY"},
      {ctr("TELECOM_NUMBER_INVALID", false, false), Outcome::kInvalidNumber,
       "TELECOM_NUMBER_INVALID"},
      {ctr("TELECOM_UNANSWERED", false, false), Outcome::kNoAnswer, "TELECOM_UNANSWERED"},
      {ctr("TELECOM_TIMEOUT", false, false), Outcome::kNoAnswer, "TELECOM_TIMEOUT"},
      {ctr("CONTACT_FLOW_DISCONNECT", true, false, "VOICEMAIL_BEEP"), Outcome::kNoAnswer,
       "ANSWERING_MACHINE"},
      {ctr("CUSTOMER_DISCONNECT", true, false), Outcome::kAbandoned, "CUSTOMER_DISCONNECT"},
      {ctr("CUSTOMER_DISCONNECT", true, false, "HUMAN_ANSWERED"), Outcome::kAbandoned,
       "CUSTOMER_DISCONNECT"},
      {ctr("TELECOM_PROBLEM", false, false), Outcome::kFailed, "TELECOM_PROBLEM"},
  };
  for (const Case& c : cases) {
    const EndedAs e = ended_as(c.record);
    EXPECT_EQ(e.outcome, c.outcome) << c.record.dump();
    EXPECT_EQ(e.disconnect_reason, c.reason) << c.record.dump();
  }
}

TEST(ConnectEvents, ContactRecordFields) {
  auto f = parse_contact_record(ctr("CUSTOMER_DISCONNECT", true, true));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->contact_id, "c-9");
  EXPECT_EQ(f->agent_id, "agent-7");
  EXPECT_EQ(f->queue_id, kQueue);
  EXPECT_TRUE(f->ended());
  EXPECT_EQ(*f->connected_to_agent_at, *parse_iso8601("2026-11-25T10:00:11Z"));
  EXPECT_FALSE(parse_contact_record(json{{"DisconnectReason", "X"}}).ok());
}

TEST(ConnectEvents, DescribeContactUsesEpochSecondsAndTellsInProgressFromEnded) {
  json in_progress = {
      {"Contact",
       {{"Id", "c-1"}, {"InitiationMethod", "API"}, {"InitiationTimestamp", 1795600000.5}}}};
  auto p = parse_describe_contact(in_progress);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->ended());

  json done = {{"Contact",
                {{"Id", "c-1"},
                 {"InitiationTimestamp", 1795600000.5},
                 {"DisconnectTimestamp", 1795600042.25},
                 {"DisconnectReason", "TELECOM_BUSY"},
                 {"AgentInfo", json::object()}}}};
  auto d = parse_describe_contact(done);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->ended());
  EXPECT_EQ(d->disconnected_at->time_since_epoch().count(), 1795600042250);
  EXPECT_EQ(map_outcome(*d).outcome, Outcome::kBusy);
  EXPECT_FALSE(parse_describe_contact(json{{"Nope", 1}}).ok());
}

// Found by fuzz/ctr_fuzz.cc: 1e300 seconds overflowed the milliseconds, and
// formatting the time for the results was undefined behaviour.
TEST(ConnectEvents, EpochSecondsPastTheYear9999ReadAsAbsent) {
  for (double seconds : {1e300, 1e20, 253402300800.0}) {
    json answer = {{"Contact",
                    {{"Id", "c-1"},
                     {"ConnectedToSystemTimestamp", seconds},
                     {"DisconnectTimestamp", seconds},
                     {"AgentInfo", {{"ConnectedToAgentTimestamp", seconds}}}}}};
    auto c = parse_describe_contact(answer);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_FALSE(c->connected_to_system_at) << seconds;
    EXPECT_FALSE(c->connected_to_agent_at) << seconds;
    EXPECT_FALSE(c->ended()) << seconds;
  }
  json last = {{"Contact", {{"Id", "c-1"}, {"DisconnectTimestamp", 253402300799.0}}}};
  auto c = parse_describe_contact(last);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(format_iso8601(*c->disconnected_at), "9999-12-31T23:59:59.000Z");
}

}  // namespace
}  // namespace pd::connect

namespace pd::connect {
namespace {

TEST(ConnectEvents, AnAgentMoreThanTwoSecondsAfterTheAnswerIsAnAbandon) {
  json within = ctr("CUSTOMER_DISCONNECT", true, true);
  within["ConnectedToSystemTimestamp"] = "2026-11-25T10:00:10.000Z";
  within["Agent"]["ConnectedToAgentTimestamp"] = "2026-11-25T10:00:12.000Z";  // 2.0 s
  EXPECT_EQ(ended_as(within).outcome, Outcome::kConnected);
  json late = ctr("CUSTOMER_DISCONNECT", true, true);
  late["ConnectedToSystemTimestamp"] = "2026-11-25T10:00:10.000Z";
  late["Agent"]["ConnectedToAgentTimestamp"] = "2026-11-25T10:00:12.001Z";  // 2.001 s
  const EndedAs e = ended_as(late);
  EXPECT_EQ(e.outcome, Outcome::kAbandoned);
  EXPECT_EQ(e.disconnect_reason, "CUSTOMER_DISCONNECT");
}

TEST(ConnectEvents, ContactRecordAttributesAreRead) {
  json r = ctr("CUSTOMER_DISCONNECT", true, true);
  r["Attributes"] = {{"disposition", "CALLBACK"}, {"custID", "C1"}, {"n", 3}};
  auto f = parse_contact_record(r);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->attributes.at("disposition"), "CALLBACK");
  EXPECT_EQ(f->attributes.at("custID"), "C1");
  EXPECT_EQ(f->attributes.count("n"), 0u);  // not a string: Connect's are
}

// The CTR documents its times as "yyyy-mm-ddThh:mm:ssZ": 10:00:10Z and
// 10:00:12Z may be 1.1 s or 2.9 s apart, so a gap written as 2 s counts as
// abandoned (never missing one); 1 s cannot be more than 2 s.
TEST(ConnectEvents, WholeSecondTimesCountAGapOfTwoSecondsAsAbandoned) {
  json two = ctr("CUSTOMER_DISCONNECT", true, true);
  two["Agent"]["ConnectedToAgentTimestamp"] = "2026-11-25T10:00:12Z";
  EXPECT_EQ(ended_as(two).outcome, Outcome::kAbandoned);
  json one = ctr("CUSTOMER_DISCONNECT", true, true);  // 10:00:10Z -> 10:00:11Z
  EXPECT_EQ(ended_as(one).outcome, Outcome::kConnected);
  auto f = parse_contact_record(two);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->whole_second_answer_times);
}

TEST(ConnectEvents, ACustomerWhoHungUpInTheQueueIsAnAbandon) {
  // As Connect writes it: answered, queued by the flow, dequeued when the
  // customer hung up, no agent.
  json r = ctr("CUSTOMER_DISCONNECT", true, false);
  r["Queue"] = {{"ARN", kQueueArn},
                {"Name", "Outbound"},
                {"EnqueueTimestamp", "2026-11-25T10:00:10Z"},
                {"DequeueTimestamp", "2026-11-25T10:00:31Z"},
                {"Duration", 21}};
  auto f = parse_contact_record(r);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(*f->enqueued_at, *parse_iso8601("2026-11-25T10:00:10Z"));
  EXPECT_EQ(*f->dequeued_at, *parse_iso8601("2026-11-25T10:00:31Z"));
  EXPECT_EQ(map_outcome(*f).outcome, Outcome::kAbandoned);
  // Queued without a ConnectedToSystemTimestamp: queued means answered.
  r.erase("ConnectedToSystemTimestamp");
  EXPECT_EQ(ended_as(r).outcome, Outcome::kAbandoned);
  // Never answered, never queued: not an abandon.
  json unanswered = ctr("CUSTOMER_DISCONNECT", false, false);
  unanswered["Queue"] = nullptr;
  EXPECT_EQ(ended_as(unanswered).outcome, Outcome::kFailed);
}

TEST(ConnectEvents, EveryDocumentedTimestampFormIsRead) {
  const WallTime t = *parse_iso8601("2026-11-25T10:00:10.250Z");
  bool whole = false;
  EXPECT_EQ(parse_connect_time(json("2026-11-25T10:00:10Z"), &whole), t - Millis(250));
  EXPECT_TRUE(whole);
  EXPECT_EQ(parse_connect_time(json("2026-11-25T10:00:10.250Z"), &whole), t);
  EXPECT_FALSE(whole);
  EXPECT_EQ(parse_connect_time(json("2026-11-25T10:00:10.25Z")), t);
  EXPECT_EQ(parse_connect_time(json("2026-11-25T10:00:10.250123Z")), t);
  EXPECT_EQ(parse_connect_time(json("2026-11-25T10:00:10.250123456Z")), t);
  EXPECT_EQ(parse_connect_time(json("2026-11-25T10:00:10.250+00:00")), t);
  EXPECT_EQ(parse_connect_time(json("2026-11-25T11:30:10.250+01:30")), t);
  EXPECT_EQ(parse_connect_time(json("2026-11-25T05:00:10.250-05:00")), t);
  EXPECT_EQ(parse_connect_time(json(1795600000.25)),
            WallTime(Millis(int64_t{1795600000250})));
  for (const char* bad : {"2026-11-25T10:00:10", "2026-11-25T10:00:10.Z", "2026-11-25 10:00:10Z",
                          "2026-11-25T10:00:10.1234567890Z", "2026-11-25T10:00:10+0100",
                          "2026-11-25T10:00:10+25:00", "2026-13-25T10:00:10Z", "yesterday"}) {
    EXPECT_FALSE(parse_connect_time(json(bad))) << bad;
  }
  EXPECT_FALSE(parse_connect_time(json(nullptr)));
  EXPECT_FALSE(parse_connect_time(json(-1)));
}

}  // namespace
}  // namespace pd::connect
