#include "telephony/amazon_connect/connect_contact_center.h"

#include <algorithm>

#include "core/status_macros.h"
#include "core/strings.h"

namespace pd::connect {
namespace {

using nlohmann::json;

constexpr size_t kMaxHeld = 20000;
constexpr size_t kMaxEndedRemembered = 100000;

// Errors that mean "not placed, try later": Connect's throttling and its
// concurrent-calls quota.
bool is_throttle(const absl::Status& s) {
  const std::string code = aws::aws_error_code(s);
  return code == "TooManyRequestsException" || code == "ThrottlingException" ||
         code == "LimitExceededException" || code == "Throttling";
}

// The seam's error contract for start_call (see contact_center.h).
absl::Status dial_error(const absl::Status& s) {
  if (is_throttle(s)) return absl::ResourceExhaustedError(s.message());
  if (absl::IsUnavailable(s)) return s;  // timeout, 5xx: may have been placed
  const std::string code = aws::aws_error_code(s);
  if (code == "DestinationNotAllowedException" || code == "OutboundContactNotPermittedException")
    return absl::InvalidArgumentError(s.message());
  return s;
}

std::string contact_flow_arn_tail(const std::string& id) { return std::string(arn_tail(id)); }

}  // namespace

ConnectContactCenter::ConnectContactCenter(EventLoop& loop, ConnectOptions options,
                                           std::shared_ptr<aws::AwsClient> connect,
                                           std::shared_ptr<aws::KinesisApi> kinesis)
    : loop_(loop),
      options_(std::move(options)),
      connect_(std::move(connect)),
      kinesis_(std::move(kinesis)) {
  const int n = std::max(1, options_.workers);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ConnectContactCenter::~ConnectContactCenter() {
  *alive_ = false;
  if (consumer_) consumer_->stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_workers_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

absl::Status ConnectContactCenter::open() {
  if (options_.streams.empty()) {
    return absl::FailedPreconditionError(
        "no event streams: set agent-stream and ctr-stream to the Kinesis streams the Connect "
        "instance streams agent events and contact trace records to");
  }
  aws::KinesisConsumerOptions co;
  co.streams = options_.streams;
  co.start = options_.start;
  co.load_checkpoint = options_.load_checkpoint;
  co.on_error = options_.on_error;
  std::shared_ptr<bool> alive = alive_;
  co.on_records = [this, alive](const std::string& stream, const std::string& shard,
                                const std::vector<aws::KinesisRecord>& records,
                                const std::string& last_sequence) {
    std::vector<std::string> data;
    data.reserve(records.size());
    for (const aws::KinesisRecord& r : records) data.push_back(r.data);
    loop_.post([this, alive, stream, shard, data = std::move(data), last_sequence]() mutable {
      if (*alive) on_batch(stream, shard, std::move(data), last_sequence);
    });
  };
  consumer_ = std::make_unique<aws::KinesisConsumer>(kinesis_, std::move(co));
  return consumer_->start();
}

const aws::KinesisConsumerStats* ConnectContactCenter::consumer_stats() const {
  return consumer_ ? &consumer_->stats() : nullptr;
}

void ConnectContactCenter::start(EventHandler handler) {
  handler_ = std::move(handler);
  agent_timer_ = loop_.schedule_after(options_.agent_check_every, [this] { check_agents(); });
  std::vector<ContactEvent> pending;
  pending.swap(pending_);
  for (const ContactEvent& e : pending) deliver(e);
}

void ConnectContactCenter::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  handler_ = nullptr;
  *alive_ = false;  // completions still queued on the loop are dropped
  if (consumer_) consumer_->stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_workers_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  for (auto& [id, c] : contacts_) {
    if (c.reconcile_timer) loop_.cancel(*c.reconcile_timer);
  }
  if (agent_timer_) loop_.cancel(*agent_timer_);
  contacts_.clear();
}

// --- workers -----------------------------------------------------------------

void ConnectContactCenter::run_async(std::function<std::function<void()>()> work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_workers_) return;
    queue_.push_back(std::move(work));
  }
  cv_.notify_one();
}

void ConnectContactCenter::worker_loop() {
  for (;;) {
    std::function<std::function<void()>()> work;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_workers_ || !queue_.empty(); });
      if (stop_workers_) return;
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    std::function<void()> completion = work();
    if (completion) {
      loop_.post([alive = alive_, completion = std::move(completion)] {
        if (*alive) completion();
      });
    }
  }
}

// --- the API -----------------------------------------------------------------

json ConnectContactCenter::start_body(const CallRequest& request) const {
  json body{{"DestinationPhoneNumber", request.phone},
            {"ContactFlowId", contact_flow_arn_tail(options_.contact_flow_id)},
            {"InstanceId", options_.instance_id},
            {"ClientToken", request.client_token}};
  if (!options_.queue_id.empty()) body["QueueId"] = options_.queue_id;
  if (!options_.source_phone.empty()) body["SourcePhoneNumber"] = options_.source_phone;
  if (!options_.traffic_type.empty()) body["TrafficType"] = options_.traffic_type;
  if (options_.ring_timeout) body["RingTimeoutInSeconds"] = options_.ring_timeout->count();
  if (options_.answering_machine_detection == "on" ||
      options_.answering_machine_detection == "on-await-prompt") {
    body["AnswerMachineDetectionConfig"] = {
        {"EnableAnswerMachineDetection", true},
        {"AwaitAnswerMachinePrompt", options_.answering_machine_detection == "on-await-prompt"}};
  }
  // Attributes are string to string; the list's values are already strings.
  json attributes = json::object();
  if (!request.attributes_json.empty()) {
    json parsed = json::parse(request.attributes_json, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object()) {
      for (auto& [k, v] : parsed.items()) {
        attributes[k] = v.is_string() ? v.get<std::string>() : v.dump();
      }
    }
  }
  attributes["custID"] = request.cust_id;
  body["Attributes"] = std::move(attributes);
  return body;
}

void ConnectContactCenter::available_agents(std::function<void(absl::StatusOr<int>)> done) {
  json body{{"Filters", {{"Queues", {options_.queue_id}}, {"Channels", {"VOICE"}}}},
            {"CurrentMetrics", {{{"Name", "AGENTS_AVAILABLE"}, {"Unit", "COUNT"}}}}};
  run_async([this, body = std::move(body), done = std::move(done)]() -> std::function<void()> {
    auto r = connect_->rest_json("GetCurrentMetricData", "POST",
                                 cat("/metrics/current/", options_.instance_id), &body);
    absl::StatusOr<int> n = 0;
    if (!r.ok()) {
      n = r.status();
    } else {
      // {"MetricResults":[{"Collections":[{"Metric":{"Name":..},"Value":3.0}]}]}
      double total = 0;
      for (const json& result : r->value("MetricResults", json::array())) {
        for (const json& c : result.value("Collections", json::array())) {
          if (c.contains("Value") && c["Value"].is_number()) total += c["Value"].get<double>();
        }
      }
      n = static_cast<int>(total + 0.5);
    }
    return [done, n] { done(n); };
  });
}

void ConnectContactCenter::start_call(const CallRequest& request,
                                      std::function<void(absl::StatusOr<std::string>)> done) {
  json body = start_body(request);
  ++lookups_in_flight_;
  run_async([this, body = std::move(body), done = std::move(done)]() -> std::function<void()> {
    auto r = connect_->rest_json("StartOutboundVoiceContact", "PUT", "/contact/outbound-voice",
                                 &body);
    if (!r.ok()) {
      return [this, done, status = r.status()] {
        --lookups_in_flight_;
        if (is_throttle(status)) ++stats_.dial_throttled;
        done(dial_error(status));
      };
    }
    std::string id = r->value("ContactId", "");
    return [this, done, id] {
      --lookups_in_flight_;
      if (id.empty()) {
        // Placed or not, we cannot follow it: ask again with the same token.
        done(absl::UnavailableError("StartOutboundVoiceContact answered without a ContactId"));
        return;
      }
      track(id, loop_.wall_now(), false);
      done(id);
      // Records that beat the answer.
      auto [first, last] = held_.equal_range(id);
      std::vector<HeldEvent> early;
      for (auto it = first; it != last; ++it) early.push_back(it->second);
      held_.erase(id);
      for (const HeldEvent& h : early) {
        if (h.is_record) {
          on_contact_facts(h.facts);
        } else {
          on_contact_connected(id, h.agent_id, h.at);
        }
      }
    };
  });
}

void ConnectContactCenter::describe_call(
    const std::string& contact_id,
    std::function<void(absl::StatusOr<std::vector<ContactEvent>>)> done) {
  ++lookups_in_flight_;
  run_async([this, contact_id, done = std::move(done)]() -> std::function<void()> {
    absl::StatusOr<ContactFacts> facts = describe(contact_id);
    return [this, contact_id, done, facts] {
      --lookups_in_flight_;
      if (!facts.ok()) {
        done(facts.status());
        return;
      }
      if (ended_.count(contact_id) > 0) {
        done(std::vector<ContactEvent>{});  // its end was delivered already
        return;
      }
      // Not marked connected here even when an agent took it: the
      // kCallConnected that end_events() or the streams give then carries
      // the agent to the engine (it ignores a second one).
      track(contact_id, loop_.wall_now(), false);
      Contact& c = contacts_[contact_id];
      if (!facts->ended()) {
        done(std::vector<ContactEvent>{});  // in progress: events follow
        return;
      }
      ++stats_.reconciled;
      done(end_events(*facts, c));
    };
  });
}

absl::StatusOr<ContactFacts> ConnectContactCenter::describe(const std::string& contact_id) {
  PD_ASSIGN_OR_RETURN(json r,
                      connect_->rest_json("DescribeContact", "GET",
                                          cat("/contacts/", options_.instance_id, "/", contact_id),
                                          nullptr));
  return parse_describe_contact(r);
}

// --- events ------------------------------------------------------------------

void ConnectContactCenter::deliver(const ContactEvent& e) {
  if (shut_down_) return;
  if (!handler_) {
    pending_.push_back(e);
    return;
  }
  handler_(e);
}

void ConnectContactCenter::on_batch(const std::string& stream, const std::string& shard,
                                    std::vector<std::string> records,
                                    const std::string& last_sequence) {
  if (shut_down_) return;
  for (const std::string& data : records) on_record(data);
  prune_held();
  if (options_.save_checkpoint) options_.save_checkpoint(stream, shard, last_sequence);
}

void ConnectContactCenter::on_record(const std::string& data) {
  ++stats_.records;
  json record = json::parse(data, nullptr, /*allow_exceptions=*/false);
  switch (classify(record)) {
    case RecordKind::kAgentEvent: {
      ++stats_.agent_events;
      auto e = parse_agent_event(record, options_.queue_id);
      if (!e.ok()) {
        ++stats_.bad_records;
        if (options_.on_error) options_.on_error(e.status());
        return;
      }
      on_agent_event(*e);
      return;
    }
    case RecordKind::kContactRecord: {
      ++stats_.contact_records;
      auto facts = parse_contact_record(record);
      if (!facts.ok()) {
        ++stats_.bad_records;
        if (options_.on_error) options_.on_error(facts.status());
        return;
      }
      on_contact_facts(*facts);
      return;
    }
    case RecordKind::kOther:
      ++stats_.bad_records;
      return;
  }
}

void ConnectContactCenter::on_agent_event(const AgentEvent& e) {
  auto [seen, first] = agent_seen_.try_emplace(e.agent_id, e.at);
  if (!first) {
    if (e.at < seen->second) {
      ++stats_.stale_agent_events;  // a newer event was applied already
      return;
    }
    seen->second = e.at;
  }
  ContactEvent state;
  state.kind = ContactEvent::Kind::kAgentState;
  state.at = e.at;
  state.agent_id = e.agent_id;
  // An agent who does not take this queue's calls is nobody we dial for.
  state.agent_state = e.serves_queue ? e.state : AgentState::kOffline;
  agent_state_[e.agent_id] = state.agent_state;
  deliver(state);
  for (const auto& [contact_id, contact_state] : e.contacts) {
    if (contact_state == "CONNECTED" || contact_state == "CONNECTED_ONHOLD") {
      on_contact_connected(contact_id, e.agent_id, e.at);
    }
  }
}

void ConnectContactCenter::on_contact_connected(const std::string& contact_id,
                                                const std::string& agent_id, WallTime at) {
  if (ended_.count(contact_id) > 0) return;
  auto it = contacts_.find(contact_id);
  if (it == contacts_.end()) {
    HeldEvent h;
    h.agent_id = agent_id;
    h.at = at;
    hold(contact_id, std::move(h));
    return;
  }
  if (it->second.connected) return;
  it->second.connected = true;
  ContactEvent e;
  e.kind = ContactEvent::Kind::kCallConnected;
  e.at = at;
  e.contact_id = contact_id;
  e.agent_id = agent_id;
  deliver(e);
}

void ConnectContactCenter::on_contact_facts(const ContactFacts& facts) {
  if (ended_.count(facts.contact_id) > 0) {
    ++stats_.duplicate_ends;
    return;
  }
  auto it = contacts_.find(facts.contact_id);
  if (it == contacts_.end()) {
    HeldEvent h;
    h.facts = facts;
    h.is_record = true;
    hold(facts.contact_id, std::move(h));
    return;
  }
  if (!facts.ended()) return;  // a record of a contact still going: wait for its end
  for (const ContactEvent& e : end_events(facts, it->second)) deliver(e);
}

std::vector<ContactEvent> ConnectContactCenter::end_events(const ContactFacts& facts,
                                                           Contact& contact) {
  std::vector<ContactEvent> out;
  if (facts.connected_to_agent_at && !contact.connected) {
    contact.connected = true;
    ContactEvent c;
    c.kind = ContactEvent::Kind::kCallConnected;
    c.at = *facts.connected_to_agent_at;
    c.contact_id = facts.contact_id;
    c.agent_id = facts.agent_id;
    c.answered_at = facts.connected_to_system_at;
    out.push_back(c);
  }
  const EndedAs ended = map_outcome(facts);
  ContactEvent e;
  e.kind = ContactEvent::Kind::kCallEnded;
  e.at = facts.disconnected_at.value_or(loop_.wall_now());
  e.contact_id = facts.contact_id;
  e.agent_id = facts.agent_id;
  e.outcome = ended.outcome;
  e.disconnect_reason = ended.disconnect_reason;
  // When the callee picked up: pacers learn ring times and queue waits from
  // it. A call that reached a person but no agent was still answered.
  e.answered_at = facts.connected_to_system_at;
  if (!e.answered_at && facts.enqueued_at) e.answered_at = facts.enqueued_at;
  if (auto d = facts.attributes.find(options_.disposition_attribute); d != facts.attributes.end())
    e.disposition = d->second;
  out.push_back(e);
  if (contact.reconcile_timer) loop_.cancel(*contact.reconcile_timer);
  contacts_.erase(facts.contact_id);  // `contact` dangles from here on
  remember_ended(facts.contact_id);
  return out;
}

void ConnectContactCenter::track(const std::string& contact_id, WallTime placed_at,
                                 bool connected) {
  if (ended_.count(contact_id) > 0) return;
  auto [it, inserted] = contacts_.try_emplace(contact_id);
  if (!inserted) return;  // a retried request answered with the same contact
  it->second.placed_at = placed_at;
  it->second.connected = connected;
  schedule_reconcile(contact_id, options_.reconcile_after);
}

void ConnectContactCenter::schedule_reconcile(const std::string& contact_id, Micros after) {
  auto it = contacts_.find(contact_id);
  if (it == contacts_.end()) return;
  it->second.reconcile_timer =
      loop_.schedule_after(after, [this, contact_id] { reconcile(contact_id); });
}

void ConnectContactCenter::reconcile(const std::string& contact_id) {
  auto it = contacts_.find(contact_id);
  if (it == contacts_.end()) return;
  it->second.reconcile_timer.reset();
  run_async([this, contact_id]() -> std::function<void()> {
    absl::StatusOr<ContactFacts> facts = describe(contact_id);
    return [this, contact_id, facts] {
      auto c = contacts_.find(contact_id);
      if (c == contacts_.end()) return;  // the record came meanwhile
      if (facts.ok() && facts->ended()) {
        ++stats_.reconciled;
        for (const ContactEvent& e : end_events(*facts, c->second)) deliver(e);
        return;
      }
      if (!facts.ok() && options_.on_error) options_.on_error(facts.status());
      // A call with an agent can go on for long: ask about it less often,
      // so the checks stay well within DescribeContact's quota.
      const bool talking = c->second.connected || (facts.ok() && facts->connected_to_agent_at);
      schedule_reconcile(contact_id, talking ? options_.reconcile_every * 5
                                             : options_.reconcile_every);
    };
  });
}

void ConnectContactCenter::check_agents() {
  agent_timer_ = loop_.schedule_after(options_.agent_check_every, [this] { check_agents(); });
  // An agent whose events stopped is not there to take a call.
  const WallTime now = loop_.wall_now();
  int available = 0;
  for (auto& [agent, state] : agent_state_) {
    if (state != AgentState::kOffline && now - agent_seen_[agent] > options_.agent_silence) {
      ++stats_.silent_agents;
      state = AgentState::kOffline;
      ContactEvent gone;
      gone.kind = ContactEvent::Kind::kAgentState;
      gone.at = now;
      gone.agent_id = agent;
      gone.agent_state = AgentState::kOffline;
      deliver(gone);
    }
    available += state == AgentState::kAvailable ? 1 : 0;
  }
  // Cross-check with Connect's own count (within GetCurrentMetricData's
  // quota: once a minute). Agents change state all the time, so only a
  // disagreement seen twice running is reported.
  available_agents([this, available](absl::StatusOr<int> reported) {
    if (!reported.ok()) return;
    stats_.agents_reported_available = *reported;
    if (*reported == available) {
      mismatches_in_a_row_ = 0;
      return;
    }
    if (++mismatches_in_a_row_ == 2) {
      ++stats_.agent_count_mismatches;
      if (options_.on_error) {
        options_.on_error(absl::DataLossError(
            cat("Connect counts ", *reported, " available agents in the queue, the agent event "
                "stream ", available, "; check that agent events stream to the configured "
                "agent-stream")));
      }
    }
  });
}

void ConnectContactCenter::hold(const std::string& contact_id, HeldEvent e) {
  // Only while a call awaits its contact id can an unknown contact be ours;
  // otherwise it is another contact of the instance (inbound, another
  // campaign), and holding it would only crowd out our own.
  if (lookups_in_flight_ == 0 || held_.size() >= kMaxHeld) {
    ++stats_.unknown_contacts;
    return;
  }
  e.until = loop_.now() + options_.early_event_ttl;
  held_.emplace(contact_id, std::move(e));
}

void ConnectContactCenter::prune_held() {
  const MonoTime now = loop_.now();
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second.until <= now) {
      ++stats_.unknown_contacts;
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
}

void ConnectContactCenter::remember_ended(const std::string& contact_id) {
  if (!ended_.insert(contact_id).second) return;
  ended_order_.push_back(contact_id);
  if (ended_order_.size() > kMaxEndedRemembered) {
    ended_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
}

}  // namespace pd::connect
