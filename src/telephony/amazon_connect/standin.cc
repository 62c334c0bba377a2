#include "telephony/amazon_connect/standin.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "aws/kinesis.h"
#include "aws/sigv4.h"
#include "core/event_loop.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "telephony/amazon_connect/limits.h"

namespace pd::connect {
namespace {

using nlohmann::json;

json iso(std::optional<WallTime> t) {
  if (!t) return nullptr;
  return format_iso8601(*t);
}

json epoch(std::optional<WallTime> t) {
  if (!t) return nullptr;
  return static_cast<double>(t->time_since_epoch().count()) / 1000.0;
}

bool is_e164(const std::string& s) {
  if (s.size() < 3 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9') return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Connect's REST+JSON error: status, x-amzn-ErrorType and {"message"}.
void aws_error(httplib::Response& res, int status, std::string_view code,
               std::string_view message) {
  res.status = status;
  res.set_header("x-amzn-ErrorType", std::string(code));
  res.set_content(json{{"message", message}}.dump(), "application/json");
}

class Standin {
 public:
  explicit Standin(const StandinOptions& o)
      : o_(o),
        loop_(1.0, system_clock(), RealTimeLoop::StartAt{o.start.value_or(system_clock().wall_now())}),
        rng_(o.seed) {
    instance_arn_ =
        cat("arn:aws:connect:", o.region, ":", o.account_id, ":instance/", o.instance_id);
    queue_arn_ = cat(instance_arn_, "/queue/", o.queue_id);
  }

  absl::Status run();

 private:
  struct ContactRec {
    std::string id;
    std::string phone;
    std::string token;
    json attributes = json::object();
    WallTime initiated{};
    std::optional<WallTime> system_at;  // the callee picked up
    std::optional<WallTime> agent_at;
    std::optional<WallTime> ended_at;
    // The contact flow put the person into the queue, and they left it (to
    // an agent, or hung up waiting): Connect's Queue.Enqueue/DequeueTimestamp.
    std::optional<WallTime> enqueued_at;
    std::optional<WallTime> dequeued_at;
    bool amd = false;  // the request enabled answering machine detection
    std::string agent;
    Outcome outcome = Outcome::kFailed;
    std::string reason;
  };
  struct AgentRec {
    bool logged_in = false;
    AgentState state = AgentState::kOffline;
    std::string contact;        // current or last contact, while not Available
    std::string contact_state;  // CONNECTED / ENDED
    WallTime status_since{};
    json previous = nullptr;  // the last snapshot written
  };
  struct Record {
    bool ctr = false;
    std::string key;
    std::string data;
  };

  // HTTP.
  bool admit(const httplib::Request& req, httplib::Response& res);
  void start_outbound(const httplib::Request& req, httplib::Response& res);
  void current_metrics(const httplib::Request& req, httplib::Response& res);
  void describe_contact(const httplib::Request& req, httplib::Response& res);
  void stop_contact(const httplib::Request& req, httplib::Response& res);
  bool draw(double rate);

  // Simulator (loop thread).
  void on_sim_event(const ContactEvent& e);
  void emit_agent(const std::string& agent_id, AgentRec& a, std::string_view type, WallTime at);
  json agent_snapshot(const std::string& agent_id, const AgentRec& a) const;
  json contact_record(const ContactRec& c) const;
  void heartbeat();

  // Stream writer.
  void enqueue(Record r);
  void writer_loop();

  StandinOptions o_;
  std::string instance_arn_, queue_arn_;
  RealTimeLoop loop_;
  std::unique_ptr<Simulator> sim_;
  std::shared_ptr<aws::KinesisClient> kinesis_;
  aws::StreamRef agent_stream_, ctr_stream_;
  httplib::Server server_;
  std::ofstream ledger_;

  std::mutex start_mu_;  // one StartOutboundVoiceContact at a time (token check + place)
  std::mutex mu_;        // guards everything below, and rng_
  std::mt19937_64 rng_;
  std::map<std::string, std::string> tokens_;  // client token -> contact id
  std::map<std::string, ContactRec> contacts_;
  std::map<std::string, AgentRec> agents_;
  uint64_t event_no_ = 0;

  std::mutex wmu_;
  std::condition_variable wcv_;
  std::deque<Record> queue_;  // guarded by wmu_
  bool wstop_ = false;        // guarded by wmu_
};

bool Standin::draw(double rate) {
  if (rate <= 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return std::uniform_real_distribution<double>(0, 1)(rng_) < rate;
}

// Latency, SigV4 and injected 5xx, in that order, for every API call.
bool Standin::admit(const httplib::Request& req, httplib::Response& res) {
  if (o_.latency.count() > 0) std::this_thread::sleep_for(o_.latency);
  aws::Headers headers;
  for (const auto& [k, v] : req.headers) headers.emplace_back(k, v);
  const size_t q = req.target.find('?');
  const std::string raw_path = req.target.substr(0, q);
  const std::string raw_query = q == std::string::npos ? "" : req.target.substr(q + 1);
  aws::VerifyOptions vo;
  vo.now = std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
  vo.expected_service = "connect";
  const absl::Status ok = aws::verify_request(
      req.method, raw_path, raw_query, headers, req.body,
      [this](std::string_view key) -> std::optional<std::string> {
        if (key == o_.access_key_id) return o_.secret_access_key;
        return std::nullopt;
      },
      vo);
  if (!ok.ok()) {
    const std::string code = aws::sigv4_error_code(ok);
    aws_error(res, 403, code.empty() ? "AccessDeniedException" : code, sv(ok.message()));
    return false;
  }
  if (draw(o_.error_rate)) {
    aws_error(res, 500, "InternalServiceException", "Internal service error (injected)");
    return false;
  }
  return true;
}

void Standin::start_outbound(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res)) return;
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) return aws_error(res, 400, "InvalidRequestException", "body is not JSON");
  for (const char* required : {"DestinationPhoneNumber", "ContactFlowId", "InstanceId"}) {
    if (!body.contains(required) || !body[required].is_string()) {
      return aws_error(res, 400, "InvalidParameterException",
                       cat("1 validation error detected: ", required, " is required"));
    }
  }
  const std::string phone = body["DestinationPhoneNumber"];
  if (!is_e164(phone)) {
    return aws_error(res, 400, "InvalidParameterException",
                     "DestinationPhoneNumber must match the E.164 pattern \\+[1-9]\\d{1,14}$");
  }
  if (body["InstanceId"] != o_.instance_id) {
    return aws_error(res, 404, "ResourceNotFoundException",
                     cat("Instance not found: ", body["InstanceId"].get<std::string>()));
  }
  if (body.contains("QueueId") && body["QueueId"] != o_.queue_id) {
    return aws_error(res, 404, "ResourceNotFoundException", "Queue not found");
  }
  if (body.contains("RingTimeoutInSeconds")) {
    const json& r = body["RingTimeoutInSeconds"];
    if (!r.is_number_integer() || r.get<int>() < 15 || r.get<int>() > 60)
      return aws_error(res, 400, "InvalidParameterException",
                       "RingTimeoutInSeconds must be from 15 to 60");
  }
  json attributes = body.value("Attributes", json::object());
  size_t bytes = 0;
  for (auto& [k, v] : attributes.items()) {
    if (!is_valid_attribute_key(k) || !v.is_string()) {
      return aws_error(res, 400, "InvalidParameterException", cat("invalid attribute '", k, "'"));
    }
    bytes += k.size() + v.get_ref<const std::string&>().size();
  }
  if (bytes > kMaxAttributesBytes) {
    return aws_error(res, 400, "InvalidParameterException", "Attributes exceed 32768 bytes");
  }
  const std::string token = body.value("ClientToken", "");
  bool amd = false;
  if (auto c = body.find("AnswerMachineDetectionConfig"); c != body.end() && c->is_object()) {
    amd = c->value("EnableAnswerMachineDetection", false);
  }

  std::lock_guard<std::mutex> start_lock(start_mu_);
  if (!token.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = tokens_.find(token); it != tokens_.end()) {
      res.set_content(json{{"ContactId", it->second}}.dump(), "application/json");
      return;  // the same request again: the same contact, no new call
    }
  }
  if (draw(o_.throttle_rate)) {
    return aws_error(res, 429, "TooManyRequestsException", "Rate exceeded");
  }
  CallRequest call;
  call.phone = phone;
  if (token.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    call.client_token = cat("standin-", std::uniform_int_distribution<uint64_t>()(rng_));
  } else {
    call.client_token = token;
  }
  call.cust_id = attributes.value("custID", "");
  auto placed = std::make_shared<std::promise<absl::StatusOr<std::string>>>();
  auto result = placed->get_future();
  loop_.post([this, call, placed] {
    sim_->start_call(call, [placed](absl::StatusOr<std::string> id) { placed->set_value(id); });
  });
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return aws_error(res, 500, "InternalServiceException", "simulator did not answer");
  }
  absl::StatusOr<std::string> id = result.get();
  if (!id.ok()) {
    if (absl::IsResourceExhausted(id.status()))
      return aws_error(res, 429, "TooManyRequestsException", "Rate exceeded");
    return aws_error(res, 400, "InvalidParameterException", sv(id.status().message()));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!token.empty()) tokens_[token] = *id;
    ContactRec& c = contacts_[*id];
    c.id = *id;
    c.phone = phone;
    c.token = token;
    c.attributes = attributes;
    c.amd = amd;
    c.initiated = loop_.wall_now();  // its clock (`--start`), as every time it reports
  }
  res.set_content(json{{"ContactId", *id}}.dump(), "application/json");
}

void Standin::current_metrics(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res)) return;
  if (req.matches[1] != o_.instance_id)
    return aws_error(res, 404, "ResourceNotFoundException", "Instance not found");
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("Filters") || !body.contains("CurrentMetrics"))
    return aws_error(res, 400, "InvalidParameterException",
                     "Filters and CurrentMetrics are required");
  int available = 0, online = 0, on_call = 0, acw = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, a] : agents_) {
      if (!a.logged_in) continue;
      ++online;
      available += a.state == AgentState::kAvailable ? 1 : 0;
      on_call += a.state == AgentState::kBusy ? 1 : 0;
      acw += a.state == AgentState::kAfterCallWork ? 1 : 0;
    }
  }
  json collections = json::array();
  for (const json& m : body["CurrentMetrics"]) {
    const std::string name = m.value("Name", "");
    double v = name == "AGENTS_AVAILABLE"            ? available
               : name == "AGENTS_ONLINE"             ? online
               : name == "AGENTS_ON_CALL"            ? on_call
               : name == "AGENTS_AFTER_CONTACT_WORK" ? acw
                                                     : 0;
    collections.push_back({{"Metric", {{"Name", name}, {"Unit", "COUNT"}}}, {"Value", v}});
  }
  json out{{"MetricResults", json::array({{{"Dimensions",
                                            {{"Queue", {{"Id", o_.queue_id}, {"Arn", queue_arn_}}},
                                             {"Channel", "VOICE"}}},
                                           {"Collections", collections}}})},
           {"DataSnapshotTime",
            epoch(std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()))},
           {"ApproximateTotalCount", 1}};
  res.set_content(out.dump(), "application/json");
}

void Standin::describe_contact(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res)) return;
  if (req.matches[1] != o_.instance_id)
    return aws_error(res, 404, "ResourceNotFoundException", "Instance not found");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = contacts_.find(req.matches[2]);
  if (it == contacts_.end())
    return aws_error(res, 404, "ResourceNotFoundException", "Contact not found");
  const ContactRec& c = it->second;
  json contact{{"Arn", cat(instance_arn_, "/contact/", c.id)},
               {"Id", c.id},
               {"InitiationMethod", "API"},
               {"Channel", "VOICE"},
               {"InitiationTimestamp", epoch(c.initiated)},
               {"QueueInfo", {{"Id", o_.queue_id}}},
               {"CustomerEndpoint", {{"Type", "TELEPHONE_NUMBER"}, {"Address", c.phone}}}};
  if (c.enqueued_at) contact["QueueInfo"]["EnqueueTimestamp"] = epoch(c.enqueued_at);
  if (c.system_at) contact["ConnectedToSystemTimestamp"] = epoch(c.system_at);
  if (!c.agent.empty()) {
    contact["AgentInfo"] = {{"Id", c.agent}, {"ConnectedToAgentTimestamp", epoch(c.agent_at)}};
  }
  if (c.ended_at) {
    const json ctr = contact_record(c);
    contact["DisconnectTimestamp"] = epoch(c.ended_at);
    contact["DisconnectReason"] = ctr["DisconnectReason"];
    if (ctr.contains("AnsweringMachineDetectionStatus"))
      contact["AnsweringMachineDetectionStatus"] = ctr["AnsweringMachineDetectionStatus"];
  }
  contact["LastUpdateTimestamp"] = epoch(c.ended_at ? c.ended_at : c.initiated);
  res.set_content(json{{"Contact", contact}}.dump(), "application/json");
}

void Standin::stop_contact(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res)) return;
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("ContactId") || !body.contains("InstanceId"))
    return aws_error(res, 400, "InvalidParameterException",
                     "ContactId and InstanceId are required");
  std::lock_guard<std::mutex> lock(mu_);
  if (!contacts_.count(body["ContactId"].get<std::string>()))
    return aws_error(res, 400, "ContactNotFoundException", "Contact not found");
  // The simulated call runs its course; Connect answers StopContact with {}.
  res.set_content("{}", "application/json");
}

// --- the simulated contact centre, written as Connect writes it ---------------

json Standin::agent_snapshot(const std::string& agent_id, const AgentRec& a) const {
  const bool routable = a.logged_in;
  json contacts = json::array();
  if (a.state == AgentState::kBusy || a.state == AgentState::kAfterCallWork) {
    if (!a.contact.empty()) {
      contacts.push_back({{"ContactId", a.contact},
                          {"Channel", "VOICE"},
                          {"InitiationMethod", "API"},
                          {"State", a.contact_state},
                          {"StateStartTimestamp", iso(a.status_since)},
                          {"Queue", {{"ARN", queue_arn_}}}});
    }
  }
  json queue{{"ARN", queue_arn_}, {"Name", "Outbound"}, {"Channels", {"VOICE"}}};
  json status{{"ARN", cat(instance_arn_, "/agent-state/", routable ? "available" : "offline")},
              {"Name", routable ? "Available" : "Offline"},
              {"StartTimestamp", iso(a.status_since)}};
  if (!o_.omit_status_type) status["Type"] = routable ? "ROUTABLE" : "OFFLINE";
  return {{"AgentStatus", status},
          {"Configuration",
           {{"Username", agent_id},
            {"FirstName", "Agent"},
            {"LastName", agent_id},
            {"RoutingProfile",
             {{"ARN", cat(instance_arn_, "/routing-profile/outbound")},
              {"Name", "Outbound"},
              {"DefaultOutboundQueue", queue},
              {"InboundQueues", json::array({queue})}}}}},
          {"Contacts", contacts}};
}

void Standin::emit_agent(const std::string& agent_id, AgentRec& a, std::string_view type,
                         WallTime at) {
  json snapshot = agent_snapshot(agent_id, a);
  json event{{"AWSAccountId", o_.account_id},
             {"AgentARN", cat(instance_arn_, "/agent/", agent_id)},
             {"EventId", cat("ev-", ++event_no_)},
             {"EventTimestamp", iso(at)},
             {"EventType", type},
             {"InstanceARN", instance_arn_},
             {"Version", "2019-05-25"},
             {"PreviousAgentSnapshot", a.previous},
             {"CurrentAgentSnapshot", snapshot}};
  if (type == "LOGOUT") event.erase("CurrentAgentSnapshot");
  a.previous = snapshot;
  enqueue({false, cat(instance_arn_, "/agent/", agent_id), event.dump()});
}

json Standin::contact_record(const ContactRec& c) const {
  std::string reason = c.reason;
  json amd = nullptr;
  switch (c.outcome) {
    case Outcome::kNoAnswer:
      if (c.reason == disconnect_reason::kAnsweringMachine) {
        amd = "VOICEMAIL_BEEP";
        reason = "CONTACT_FLOW_DISCONNECT";
      } else {
        reason = "TELECOM_UNANSWERED";
      }
      break;
    case Outcome::kBusy:
      reason = "TELECOM_BUSY";
      break;
    case Outcome::kInvalidNumber:
      reason = "TELECOM_NUMBER_INVALID";
      break;
    case Outcome::kAbandoned:
      reason = "CUSTOMER_DISCONNECT";
      break;
    case Outcome::kFailed:
      reason = "TELECOM_PROBLEM";
      break;
    default:
      if (reason.empty()) reason = "CUSTOMER_DISCONNECT";
      break;
  }
  json agent = nullptr;
  if (!c.agent.empty()) {
    agent = {{"ARN", cat(instance_arn_, "/agent/", c.agent)},
             {"Username", c.agent},
             {"ConnectedToAgentTimestamp", iso(c.agent_at)}};
  }
  // What Connect writes when the flow queued the person: when they entered
  // and left the queue, and the whole seconds they waited.
  json queue = nullptr;
  if (c.enqueued_at) {
    queue = {{"ARN", queue_arn_}, {"Name", "Outbound"}, {"EnqueueTimestamp", iso(c.enqueued_at)}};
    if (c.dequeued_at) {
      queue["DequeueTimestamp"] = iso(c.dequeued_at);
      queue["Duration"] =
          std::chrono::duration_cast<std::chrono::seconds>(*c.dequeued_at - *c.enqueued_at).count();
    }
  }
  if (amd.is_null() && c.amd && c.enqueued_at) amd = "HUMAN_ANSWERED";
  json r{{"AWSAccountId", o_.account_id},
         {"AWSContactTraceRecordFormatVersion", "2017-03-10"},
         {"Agent", agent},
         {"AgentConnectionAttempts", c.agent.empty() ? 0 : 1},
         {"Attributes", c.attributes},
         {"Channel", "VOICE"},
         {"ConnectedToSystemTimestamp", iso(c.system_at)},
         {"ContactId", c.id},
         {"CustomerEndpoint", {{"Address", c.phone}, {"Type", "TELEPHONE_NUMBER"}}},
         {"DisconnectReason", reason},
         {"DisconnectTimestamp", iso(c.ended_at)},
         {"InitialContactId", nullptr},
         {"InitiationMethod", "API"},
         {"InitiationTimestamp", iso(c.initiated)},
         {"InstanceARN", instance_arn_},
         {"LastUpdateTimestamp", iso(c.ended_at)},
         {"Queue", queue}};
  if (!amd.is_null()) r["AnsweringMachineDetectionStatus"] = amd;
  return r;
}

void Standin::on_sim_event(const ContactEvent& e) {
  std::lock_guard<std::mutex> lock(mu_);
  switch (e.kind) {
    case ContactEvent::Kind::kAgentState: {
      AgentRec& a = agents_[e.agent_id];
      const bool first = !a.logged_in && e.agent_state != AgentState::kOffline;
      const AgentState before = a.state;
      a.state = e.agent_state;
      a.status_since = e.at;
      if (e.agent_state == AgentState::kOffline) {
        if (!a.logged_in) return;
        a.logged_in = false;
        a.contact.clear();
        emit_agent(e.agent_id, a, "LOGOUT", e.at);
        return;
      }
      a.logged_in = true;
      if (e.agent_state == AgentState::kAvailable) {
        a.contact.clear();
      } else if (e.agent_state == AgentState::kAfterCallWork) {
        a.contact_state = "ENDED";
      } else if (e.agent_state == AgentState::kBusy && before != AgentState::kBusy) {
        return;  // written with its contact when the call connects
      }
      emit_agent(e.agent_id, a, first ? "LOGIN" : "STATE_CHANGE", e.at);
      return;
    }
    case ContactEvent::Kind::kCallConnected: {
      auto c = contacts_.find(e.contact_id);
      if (c != contacts_.end()) {
        ContactRec& r = c->second;
        r.agent = e.agent_id;
        r.agent_at = e.at;
        // Answered when the simulator says (a person who waited in the
        // queue); a simulator that does not say put them through at once.
        if (e.answered_at) r.system_at = e.answered_at;
        if (!r.system_at) r.system_at = e.at;
        if (!r.enqueued_at) r.enqueued_at = r.system_at;
        r.dequeued_at = e.at;
      }
      AgentRec& a = agents_[e.agent_id];
      a.logged_in = true;
      a.state = AgentState::kBusy;
      a.contact = e.contact_id;
      a.contact_state = "CONNECTED";
      a.status_since = e.at;
      emit_agent(e.agent_id, a, "STATE_CHANGE", e.at);
      return;
    }
    case ContactEvent::Kind::kCallEnded: {
      auto it = contacts_.find(e.contact_id);
      if (it == contacts_.end()) return;
      ContactRec& c = it->second;
      c.ended_at = e.at;
      c.outcome = e.outcome;
      c.reason = e.disconnect_reason;
      // The agent's wrap-up code, where a contact flow or the agent's
      // workspace puts it: a contact attribute ("disposition", the default
      // of the dialer's disposition-attribute).
      if (!e.disposition.empty()) c.attributes["disposition"] = e.disposition;
      if (!e.agent_id.empty() && c.agent.empty()) c.agent = e.agent_id;
      const bool machine = e.disconnect_reason == disconnect_reason::kAnsweringMachine;
      if ((e.outcome == Outcome::kAbandoned || machine) && !c.system_at) {
        c.system_at = e.answered_at.value_or(e.at);
      }
      // A person who hung up waiting for an agent left the queue then; an
      // answering machine never reached it (the flow hangs up on AMD).
      if (e.outcome == Outcome::kAbandoned && !c.enqueued_at) {
        c.enqueued_at = c.system_at;
        c.dequeued_at = e.at;
      }
      enqueue({true, c.id, contact_record(c).dump()});
      if (ledger_.is_open()) {
        ledger_ << json{{"contact_id", c.id},
                        {"client_token", c.token},
                        {"phone", c.phone},
                        {"outcome", to_string(c.outcome)},
                        {"agent", c.agent},
                        {"answered_at", iso(c.system_at)},
                        {"agent_at", iso(c.agent_at)}}
                       .dump()
                << std::endl;
      }
      return;
    }
  }
}

void Standin::heartbeat() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const WallTime now = loop_.wall_now();
    for (auto& [id, a] : agents_) {
      if (a.logged_in) emit_agent(id, a, "HEART_BEAT", now);
    }
  }
  loop_.schedule_after(std::chrono::duration_cast<Micros>(o_.heartbeat), [this] { heartbeat(); });
}

// --- stream writer -------------------------------------------------------------

void Standin::enqueue(Record r) {
  std::lock_guard<std::mutex> lock(wmu_);
  queue_.push_back(r);
  // Duplicates are written again a little later, as Kinesis producers retry.
  if (o_.duplicate_rate > 0 &&
      std::uniform_real_distribution<double>(0, 1)(rng_) < o_.duplicate_rate) {
    queue_.push_back(std::move(r));
  }
  wcv_.notify_one();
}

void Standin::writer_loop() {
  std::vector<Record> held;  // reordered: written after the next batch
  std::mt19937_64 rng(o_.seed ^ 0x5eed);
  for (;;) {
    std::vector<Record> batch;
    {
      std::unique_lock<std::mutex> lock(wmu_);
      wcv_.wait_for(lock, std::chrono::milliseconds(100),
                    [this] { return wstop_ || !queue_.empty(); });
      if (wstop_ && queue_.empty() && held.empty()) return;
      while (!queue_.empty() && batch.size() < 400) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<Record> now;
    for (Record& r : batch) {
      if (o_.reorder_rate > 0 &&
          std::uniform_real_distribution<double>(0, 1)(rng) < o_.reorder_rate) {
        held.push_back(std::move(r));
      } else {
        now.push_back(std::move(r));
      }
    }
    if (now.empty() || batch.empty()) {  // nothing newer came: let the held ones go
      for (Record& r : held) now.push_back(std::move(r));
      held.clear();
    } else if (!held.empty() && !now.empty()) {
      // Held records go after this batch's newer ones.
      std::vector<Record> late;
      late.swap(held);
      for (Record& r : late) now.push_back(std::move(r));
    }
    for (bool ctr : {false, true}) {
      std::vector<aws::PutRecordsEntry> entries;
      for (const Record& r : now) {
        if (r.ctr == ctr) entries.push_back({r.key, r.data, ""});
      }
      const aws::StreamRef& stream = ctr ? ctr_stream_ : agent_stream_;
      for (int attempt = 0; !entries.empty() && attempt < 20; ++attempt) {
        auto put = kinesis_->put_records(stream, entries);
        if (!put.ok()) {
          std::cerr << "connect-standin: PutRecords: " << sv(put.status().message()) << "\n";
          std::this_thread::sleep_for(std::chrono::milliseconds(100 << std::min(attempt, 5)));
          continue;
        }
        std::vector<aws::PutRecordsEntry> failed;
        for (size_t i = 0; i < put->records.size() && i < entries.size(); ++i) {
          if (!put->records[i].error_code.empty()) failed.push_back(entries[i]);
        }
        entries.swap(failed);
      }
    }
  }
}

absl::Status Standin::run() {
  if (auto s = o_.sim.validate(); !s.ok()) return s;
  if (!o_.ledger.empty()) {
    ledger_.open(o_.ledger, std::ios::app);
    if (!ledger_) return absl::InvalidArgumentError(cat(o_.ledger, ": cannot open the ledger"));
  }
  auto kinesis = aws::make_kinesis_client(o_.region, o_.kinesis_endpoint, nullptr);
  if (!kinesis.ok()) return kinesis.status();
  kinesis_ = *kinesis;
  for (auto [name, ref] :
       {std::pair{&o_.agent_stream, &agent_stream_}, std::pair{&o_.ctr_stream, &ctr_stream_}}) {
    auto parsed = aws::parse_stream(*name);
    if (!parsed.ok()) return parsed.status();
    *ref = *parsed;
    if (!kinesis_->stream_status(*ref).ok()) {
      absl::Status created = kinesis_->create_stream(ref->name, 1);
      if (!created.ok() && aws::aws_error_code(created) != "ResourceInUseException") return created;
      if (auto s = kinesis_->wait_until_active(*ref); !s.ok()) return s;
    }
  }

  server_.new_task_queue = [] { return new httplib::ThreadPool(16); };
  server_.Put("/contact/outbound-voice",
              [this](const httplib::Request& q, httplib::Response& r) { start_outbound(q, r); });
  server_.Post(R"(/metrics/current/([^/]+))",
               [this](const httplib::Request& q, httplib::Response& r) { current_metrics(q, r); });
  server_.Get(R"(/contacts/([^/]+)/([^/]+))",
              [this](const httplib::Request& q, httplib::Response& r) { describe_contact(q, r); });
  server_.Post("/contact/stop",
               [this](const httplib::Request& q, httplib::Response& r) { stop_contact(q, r); });
  const int port = o_.port == 0 ? server_.bind_to_any_port(o_.host)
                                : (server_.bind_to_port(o_.host, o_.port) ? o_.port : -1);
  if (port <= 0) return absl::UnavailableError(cat(o_.host, ":", o_.port, ": cannot listen"));

  // Signals go to sigwait() below, not to the threads started from here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Connect's contact ids are unique for good; a restarted stand-in's too.
  SimConfig sim = o_.sim;
  if (sim.run_id.empty()) sim.run_id = new_sim_run_id();
  sim_ = std::make_unique<Simulator>(loop_, std::move(sim));
  std::thread writer([this] { writer_loop(); });
  std::thread loop_thread([this] { loop_.run(); });
  loop_.post([this] {
    sim_->start([this](const ContactEvent& e) { on_sim_event(e); });
    loop_.schedule_after(std::chrono::duration_cast<Micros>(o_.heartbeat), [this] { heartbeat(); });
  });
  std::thread http([this] { server_.listen_after_bind(); });
  std::cout << "listening on http://" << o_.host << ":" << port << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  server_.stop();
  http.join();
  loop_.post([this] {
    sim_->shutdown();
    loop_.stop();
  });
  loop_thread.join();
  {
    std::lock_guard<std::mutex> lock(wmu_);
    wstop_ = true;
  }
  wcv_.notify_all();
  writer.join();
  return absl::OkStatus();
}

}  // namespace

absl::Status run_standin(const StandinOptions& options) {
  Standin standin(options);
  return standin.run();
}

}  // namespace pd::connect
