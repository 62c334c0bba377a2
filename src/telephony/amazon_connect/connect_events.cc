#include "telephony/amazon_connect/connect_events.h"

#include <cmath>

#include "core/strings.h"
#include "core/time_format.h"

namespace pd::connect {
namespace {

using nlohmann::json;

std::string text(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

const json* object(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) return nullptr;
  return &*it;
}

std::optional<WallTime> time_at(const json& obj, const char* key, bool* whole_seconds = nullptr) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  return parse_connect_time(*it, whole_seconds);
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> set) {
  for (std::string_view s : set) {
    if (v == s) return true;
  }
  return false;
}

// Whether the agent's status takes calls. Newer records say so in
// AgentStatus.Type (ROUTABLE, CUSTOM, OFFLINE); the documented example of an
// agent event carries only ARN, Name and StartTimestamp, and then the system
// status named "Available" is the one routable status (custom statuses and
// "Offline" are not).
bool status_is_routable(const json* status) {
  if (status == nullptr) return false;
  if (auto type = status->find("Type"); type != status->end() && type->is_string()) {
    return type->get_ref<const std::string&>() == "ROUTABLE";
  }
  return text(*status, "Name") == "Available";
}

// Connect writes ISO 8601 in stream records and epoch seconds in API
// answers; either is accepted, anything else reads as absent. So is a
// number past the year 9999 (where ISO 8601 text ends): it would overflow
// the milliseconds, and the results' times with them.
constexpr double kLastEpochSecond = 253402300799;  // 9999-12-31T23:59:59Z

std::optional<WallTime> parse_iso_text(std::string_view s, bool* whole_seconds) {
  // "YYYY-MM-DDThh:mm:ss", then an optional fraction, then the zone. Read
  // through parse_iso8601 (whole seconds, "Z") and add what it does not take.
  if (s.size() < 20) return std::nullopt;
  std::string base(s.substr(0, 19));
  base += 'Z';
  std::optional<WallTime> t = parse_iso8601(base);
  if (!t) return std::nullopt;
  size_t i = 19;
  int64_t ms = 0;
  bool fraction = false;
  if (s[i] == '.') {
    size_t digits = 0;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
      if (digits < 3) ms = ms * 10 + (s[i] - '0');
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (size_t d = digits; d < 3; ++d) ms *= 10;
    fraction = true;
  }
  const std::string_view zone = s.substr(i);
  Millis offset{0};
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    auto two = [&](size_t at) -> int {
      const char a = zone[at], b = zone[at + 1];
      if (a < '0' || a > '9' || b < '0' || b > '9') return -1;
      return (a - '0') * 10 + (b - '0');
    };
    const int h = two(1), m = two(4);
    if (h < 0 || m < 0 || h > 23 || m > 59) return std::nullopt;
    offset = Millis((h * 60 + m) * 60000LL);
    if (zone[0] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  if (whole_seconds != nullptr) *whole_seconds = !fraction;
  // Local time = UTC + offset, so UTC = local - offset.
  return *t + Millis(ms) - offset;
}

}  // namespace

std::optional<WallTime> parse_connect_time(const json& value, bool* whole_seconds) {
  if (whole_seconds != nullptr) *whole_seconds = false;
  if (value.is_number()) {
    const double s = value.get<double>();
    if (!std::isfinite(s) || s < 0 || s > kLastEpochSecond) return std::nullopt;
    return WallTime(Millis(static_cast<int64_t>(std::llround(s * 1000))));
  }
  if (value.is_string()) return parse_iso_text(value.get_ref<const std::string&>(), whole_seconds);
  return std::nullopt;
}

std::string_view arn_tail(std::string_view arn) {
  if (arn.substr(0, 4) != "arn:") return arn;
  const size_t slash = arn.find_last_of('/');
  return slash == std::string_view::npos ? arn : arn.substr(slash + 1);
}

RecordKind classify(const json& record) {
  if (!record.is_object()) return RecordKind::kOther;
  if (record.contains("EventType") && record.contains("AgentARN")) return RecordKind::kAgentEvent;
  if (record.contains("ContactId") &&
      (record.contains("AWSContactTraceRecordFormatVersion") ||
       record.contains("DisconnectTimestamp") || record.contains("InitiationMethod")))
    return RecordKind::kContactRecord;
  return RecordKind::kOther;
}

absl::StatusOr<ContactFacts> parse_contact_record(const json& ctr) {
  ContactFacts c;
  c.contact_id = text(ctr, "ContactId");
  if (c.contact_id.empty())
    return absl::InvalidArgumentError("contact trace record without a ContactId");
  c.initiation_method = text(ctr, "InitiationMethod");
  c.disconnect_reason = text(ctr, "DisconnectReason");
  c.amd_status = text(ctr, "AnsweringMachineDetectionStatus");
  bool whole_system = false, whole_agent = false;
  c.connected_to_system_at = time_at(ctr, "ConnectedToSystemTimestamp", &whole_system);
  c.disconnected_at = time_at(ctr, "DisconnectTimestamp");
  if (const json* agent = object(ctr, "Agent")) {
    c.agent_id = std::string(arn_tail(text(*agent, "ARN")));
    c.connected_to_agent_at = time_at(*agent, "ConnectedToAgentTimestamp", &whole_agent);
  }
  c.whole_second_answer_times = whole_system || whole_agent;
  if (const json* queue = object(ctr, "Queue")) {
    c.queue_id = std::string(arn_tail(text(*queue, "ARN")));
    c.enqueued_at = time_at(*queue, "EnqueueTimestamp");
    c.dequeued_at = time_at(*queue, "DequeueTimestamp");
  }
  if (const json* attributes = object(ctr, "Attributes")) {
    for (const auto& [key, value] : attributes->items()) {
      if (value.is_string()) c.attributes.emplace(key, value.get<std::string>());
    }
  }
  return c;
}

absl::StatusOr<ContactFacts> parse_describe_contact(const json& response) {
  const json* contact = object(response, "Contact");
  if (contact == nullptr)
    return absl::InvalidArgumentError("DescribeContact answer without a Contact");
  ContactFacts c;
  c.contact_id = text(*contact, "Id");
  if (c.contact_id.empty())
    return absl::InvalidArgumentError("DescribeContact answer without a Contact.Id");
  c.initiation_method = text(*contact, "InitiationMethod");
  c.disconnect_reason = text(*contact, "DisconnectReason");
  c.amd_status = text(*contact, "AnsweringMachineDetectionStatus");
  c.connected_to_system_at = time_at(*contact, "ConnectedToSystemTimestamp");
  c.disconnected_at = time_at(*contact, "DisconnectTimestamp");
  if (const json* agent = object(*contact, "AgentInfo")) {
    c.agent_id = std::string(arn_tail(text(*agent, "Id")));
    c.connected_to_agent_at = time_at(*agent, "ConnectedToAgentTimestamp");
  }
  if (const json* queue = object(*contact, "QueueInfo")) {
    c.queue_id = std::string(arn_tail(text(*queue, "Id")));
    c.enqueued_at = time_at(*queue, "EnqueueTimestamp");
  }
  return c;
}

EndedAs map_outcome(const ContactFacts& c) {
  const std::string& why = c.disconnect_reason;
  const std::string& amd = c.amd_status;
  if (c.connected_to_agent_at) {
    bool late = false;
    if (c.connected_to_system_at) {
      const auto gap = *c.connected_to_agent_at - *c.connected_to_system_at;
      late = c.whole_second_answer_times ? gap >= kAbandonWindow : gap > kAbandonWindow;
    }
    return {late ? Outcome::kAbandoned : Outcome::kConnected, why};
  }
  if (one_of(amd, {"VOICEMAIL_BEEP", "VOICEMAIL_NO_BEEP", "FAX_MACHINE_DETECTED"}))
    return {Outcome::kNoAnswer, std::string(disconnect_reason::kAnsweringMachine)};
  if (amd == "SIT_TONE_BUSY" || why == "TELECOM_BUSY")
    return {Outcome::kBusy, std::string(disconnect_reason::kTelecomBusy)};
  if (amd == "SIT_TONE_INVALID_NUMBER" || why == "TELECOM_NUMBER_INVALID")
    return {Outcome::kInvalidNumber, std::string(disconnect_reason::kTelecomNumberInvalid)};
  if (one_of(why, {"TELECOM_UNANSWERED", "TELECOM_TIMEOUT"}) || amd == "AMD_UNANSWERED")
    return {Outcome::kNoAnswer, why.empty() ? std::string("TELECOM_UNANSWERED") : why};
  // Answered and never put through: the customer hung up in the queue (or
  // before the flow queued them). A call queued at all was answered, even
  // if its ConnectedToSystemTimestamp is missing.
  if (c.connected_to_system_at || c.enqueued_at) return {Outcome::kAbandoned, why};
  return {Outcome::kFailed, why};
}

absl::StatusOr<AgentEvent> parse_agent_event(const json& event, std::string_view queue_id) {
  AgentEvent e;
  e.event_type = text(event, "EventType");
  e.event_id = text(event, "EventId");
  e.agent_id = std::string(arn_tail(text(event, "AgentARN")));
  if (e.agent_id.empty()) return absl::InvalidArgumentError("agent event without an AgentARN");
  const auto at = time_at(event, "EventTimestamp");
  if (!at) {
    return absl::InvalidArgumentError(
        cat("agent event for ", e.agent_id, " without a valid EventTimestamp"));
  }
  e.at = *at;
  if (e.event_type == "LOGOUT") {
    e.state = AgentState::kOffline;
    return e;
  }
  const json* snap = object(event, "CurrentAgentSnapshot");
  if (snap == nullptr) {
    // Only LOGOUT (handled above) comes without a snapshot; anything else
    // tells us nothing about the agent.
    return absl::InvalidArgumentError(
        cat("agent event ", e.event_type, " for ", e.agent_id, " without CurrentAgentSnapshot"));
  }
  if (const json* config = object(*snap, "Configuration")) {
    if (const json* profile = object(*config, "RoutingProfile")) {
      auto queues = profile->find("InboundQueues");
      if (!queue_id.empty() && queues != profile->end() && queues->is_array()) {
        e.serves_queue = false;
        for (const json& q : *queues) {
          if (arn_tail(text(q, "ARN")) == queue_id) e.serves_queue = true;
        }
      }
    }
  }
  bool on_contact = false, after_contact = false;
  if (auto contacts = snap->find("Contacts"); contacts != snap->end() && contacts->is_array()) {
    for (const json& c : *contacts) {
      std::string state = text(c, "State");
      if (one_of(state, {"ENDED"})) {
        after_contact = true;
      } else if (!one_of(state, {"MISSED", "ERROR", "REJECTED"})) {
        on_contact = true;  // INCOMING, PENDING, CONNECTING, CONNECTED, CONNECTED_ONHOLD
      }
      e.contacts.emplace_back(text(c, "ContactId"), std::move(state));
    }
  }
  if (on_contact) {
    e.state = AgentState::kBusy;
  } else if (after_contact) {
    e.state = AgentState::kAfterCallWork;
  } else if (status_is_routable(object(*snap, "AgentStatus"))) {
    e.state = AgentState::kAvailable;
  } else {
    e.state = AgentState::kOffline;  // Offline, or a custom (not routable) status
  }
  return e;
}

}  // namespace pd::connect
