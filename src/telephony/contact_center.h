// The ContactCenter seam: what the dialer needs from a contact centre, and
// the normalised events it reports. Implementations: the built-in Simulator
// and Amazon Connect. The engine cannot tell them apart.
//
// Threading: every method is called on the engine's EventLoop thread, and
// every callback and event is delivered on that thread (implementations
// that do network I/O complete on their own threads and post() back).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/types.h"

namespace pd {

// Agent states as the dialer cares about them.
enum class AgentState { kAvailable, kBusy, kAfterCallWork, kOffline };
std::string_view to_string(AgentState s);

// Disconnect reasons, in Amazon Connect's words (contact records'
// DisconnectReason), shared by every ContactCenter so results read the same
// whichever backend dialled. kAnsweringMachine is ours: Connect reports a
// machine through AnsweringMachineDetectionStatus instead.
namespace disconnect_reason {
inline constexpr std::string_view kCustomerDisconnect = "CUSTOMER_DISCONNECT";
inline constexpr std::string_view kAgentDisconnect = "AGENT_DISCONNECT";
inline constexpr std::string_view kTelecomBusy = "TELECOM_BUSY";
inline constexpr std::string_view kTelecomNumberInvalid = "TELECOM_NUMBER_INVALID";
inline constexpr std::string_view kTelecomUnanswered = "TELECOM_UNANSWERED";
inline constexpr std::string_view kAnsweringMachine = "ANSWERING_MACHINE";
// Ours too: the dialer died with the call in flight.
inline constexpr std::string_view kDialerRestarted = "DIALER_RESTARTED";
}  // namespace disconnect_reason

struct ContactEvent {
  enum class Kind {
    kAgentState,     // agent_id moved to agent_state
    kCallConnected,  // contact_id answered and was put through to agent_id
    kCallEnded,      // contact_id ended with outcome (and agent_id if it had one)
  };
  Kind kind = Kind::kAgentState;
  WallTime at{};
  std::string agent_id;
  AgentState agent_state = AgentState::kOffline;
  std::string contact_id;
  Outcome outcome = Outcome::kFailed;
  std::string disconnect_reason;  // Connect's DisconnectReason where known
  // kCallConnected / kCallEnded: when the callee picked up (the simulator;
  // a CTR's ConnectedToSystemTimestamp), when known. Pacers learn ring
  // times and queue waits from it.
  std::optional<WallTime> answered_at;
  // kCallEnded: the agent's wrap-up code (Connect: the contact attribute
  // named by `disposition-attribute`); empty when none was set.
  std::string disposition;
};

// TCPA's abandon rule: an answered call not put through to a live agent
// within this long of the answer is abandoned, even if an agent takes it
// later (47 CFR 64.1200(a)(7)).
inline constexpr Millis kAbandonWindow{2000};

struct CallRequest {
  std::string phone;            // E.164
  std::string client_token;     // idempotency key: a retry never dials twice
  std::string attributes_json;  // customer attributes for the contact flow
  std::string cust_id;
};

class ContactCenter {
 public:
  using EventHandler = std::function<void(const ContactEvent&)>;
  virtual ~ContactCenter() = default;

  // Starts delivering events to `handler` (on the loop thread).
  virtual void start(EventHandler handler) = 0;
  // Stops event delivery and outstanding work; no callbacks after it returns.
  virtual void shutdown() = 0;

  // Agents available in the campaign's queue right now. kUnavailable:
  // retry later (throttled or unreachable).
  virtual void available_agents(std::function<void(absl::StatusOr<int>)> done) = 0;

  // Places an outbound call; `done` gets the contact id. Errors:
  //  kResourceExhausted: throttled, certainly not placed; try again later
  //    with the same client_token.
  //  kUnavailable: no answer (timeout, 5xx): the call may or may not have
  //    been placed; try again with the same client_token, which makes the
  //    request idempotent (a placed call is not placed twice), and never
  //    hand the customer to another attempt.
  //  kInvalidArgument and others: refused (bad number, bad request); do not
  //    retry.
  virtual void start_call(const CallRequest& request,
                          std::function<void(absl::StatusOr<std::string>)> done) = 0;

  // Whether describe_call() can tell what became of a call placed by a
  // process that died (Amazon Connect can; the simulator's calls die with
  // it).
  virtual bool can_describe_calls() const { return false; }
  // What became of the call `contact_id` (placed earlier, maybe by a dead
  // process). `done` gets the events that end it, in order (kCallConnected
  // when an agent took it, then kCallEnded), or none while it is still in
  // progress: then its events follow as for any call placed now.
  // REQUIRES: can_describe_calls(), after start().
  virtual void describe_call(const std::string& contact_id,
                             std::function<void(absl::StatusOr<std::vector<ContactEvent>>)> done) {
    (void)contact_id;
    done(absl::UnimplementedError("this contact centre cannot describe past calls"));
  }
};

}  // namespace pd
