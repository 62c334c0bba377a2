// Amazon Connect's records, read into what the dialer needs: agent events
// (the agent event stream), contact trace records (the CTR stream) and
// DescribeContact answers; and the one table that turns how a contact ended
// into a dialing outcome.
//
// Pure functions, no I/O: safe from any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "core/types.h"
#include "telephony/contact_center.h"

namespace pd::connect {

// What a Kinesis record from Connect is.
enum class RecordKind { kAgentEvent, kContactRecord, kOther };
RecordKind classify(const nlohmann::json& record);

// One contact as a CTR or DescribeContact tells it.
struct ContactFacts {
  std::string contact_id;
  std::string initiation_method;  // OUTBOUND / API for our calls
  std::string disconnect_reason;  // DisconnectReason; empty until it ended
  std::string amd_status;         // AnsweringMachineDetectionStatus
  std::string agent_id;           // the agent's resource id (end of the ARN)
  std::string queue_id;
  std::optional<WallTime> connected_to_system_at;  // the callee picked up
  std::optional<WallTime> connected_to_agent_at;
  std::optional<WallTime> disconnected_at;
  // The contact flow put the call into a queue (CTR Queue.EnqueueTimestamp,
  // DescribeContact QueueInfo.EnqueueTimestamp) and it left the queue (CTR
  // Queue.DequeueTimestamp: put through to an agent, or the customer hung up
  // while waiting).
  std::optional<WallTime> enqueued_at;
  std::optional<WallTime> dequeued_at;
  // ConnectedToSystemTimestamp or ConnectedToAgentTimestamp was written in
  // whole seconds (the CTR documents "yyyy-mm-ddThh:mm:ssZ"), so the gap
  // between them is known only to within a second.
  bool whole_second_answer_times = false;
  // The contact's user-defined attributes with string values (CTR
  // Attributes; DescribeContact has none).
  std::map<std::string, std::string> attributes;
  bool ended() const { return disconnected_at.has_value(); }
};

// A contact trace record (JSON text from the CTR stream). kInvalidArgument
// names the missing or malformed field.
absl::StatusOr<ContactFacts> parse_contact_record(const nlohmann::json& ctr);
// DescribeContact's response body ({"Contact": {...}}, timestamps as epoch
// seconds).
absl::StatusOr<ContactFacts> parse_describe_contact(const nlohmann::json& response);

// How a contact ended, as the dialer records it. The table:
//
//   Connect says                                          outcome         reason recorded
//   ----------------------------------------------------  --------------  -------------------
//   Agent.ConnectedToAgentTimestamp set, within 2 s of
//     ConnectedToSystemTimestamp (or no answer time)      connected       DisconnectReason
//   Agent.ConnectedToAgentTimestamp more than 2 s after
//     ConnectedToSystemTimestamp (2 s or more when either
//     is written in whole seconds)                        abandoned       DisconnectReason
//   AMD status VOICEMAIL_BEEP / VOICEMAIL_NO_BEEP /
//     FAX_MACHINE_DETECTED                                no_answer       ANSWERING_MACHINE
//   AMD SIT_TONE_BUSY, or TELECOM_BUSY                    busy            TELECOM_BUSY
//   AMD SIT_TONE_INVALID_NUMBER, or TELECOM_NUMBER_INVALID invalid_number TELECOM_NUMBER_INVALID
//   TELECOM_UNANSWERED, TELECOM_TIMEOUT, AMD_UNANSWERED   no_answer       DisconnectReason
//   answered (ConnectedToSystemTimestamp), no agent:
//     hung up in the queue (Queue.EnqueueTimestamp), or
//     before the flow queued the call                     abandoned       DisconnectReason
//   anything else (TELECOM_PROBLEM, OTHER, ...)           failed          DisconnectReason
//
// "answered without an agent" is the abandon a power dialer must avoid: the
// callee picked up and nobody was there. TCPA counts a call put through to
// an agent more than 2 s after the answer (kAbandonWindow) as abandoned too:
// the callee waited in silence. Whole-second timestamps (as the CTR
// documents them) cannot tell 1.5 s from 2.5 s: a gap written as 2 s counts
// as abandoned, so the ledger may over-count by a hair but never misses one.
struct EndedAs {
  Outcome outcome = Outcome::kFailed;
  std::string disconnect_reason;
};
EndedAs map_outcome(const ContactFacts& contact);

// One agent event (STATE_CHANGE, HEART_BEAT, LOGIN, LOGOUT, CONNECTED...).
struct AgentEvent {
  std::string event_id;
  std::string event_type;
  std::string agent_id;  // resource id (end of AgentARN)
  WallTime at{};         // EventTimestamp
  // The agent's state for the dialer: available only when routable with no
  // contact; busy on a contact; after-call work when their contact ended
  // and they have not cleared it; offline otherwise (logged out, on break).
  AgentState state = AgentState::kOffline;
  // Whether the agent's routing profile takes calls from `queue_id` (true
  // when the event does not say).
  bool serves_queue = true;
  // The agent's contacts: (contact id, Connect's state: CONNECTING,
  // CONNECTED, ENDED, ...).
  std::vector<std::pair<std::string, std::string>> contacts;
};
absl::StatusOr<AgentEvent> parse_agent_event(const nlohmann::json& event,
                                             std::string_view queue_id);

// A timestamp as Connect writes it: ISO 8601 text in UTC
// ("2026-11-25T10:00:12Z", with or without a fraction of 1 to 9 digits, "Z"
// or a "+hh:mm"/"-hh:mm" offset) in stream records, epoch seconds (a
// number) in API answers. nullopt for anything else. `whole_seconds`
// (optional) is set when the text had no fraction.
std::optional<WallTime> parse_connect_time(const nlohmann::json& value,
                                           bool* whole_seconds = nullptr);

// The resource id at the end of an ARN ("arn:...:agent/abc" → "abc"); the
// text itself when it is not an ARN.
std::string_view arn_tail(std::string_view arn);

}  // namespace pd::connect
