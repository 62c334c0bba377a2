// Fuzzes the agent-event parser (telephony/amazon_connect/connect_events.h)
// the way ConnectContactCenter::on_record meets a Kinesis record: any bytes,
// parsed as JSON without exceptions, classified, then read as an agent event
// (with and without a queue to filter on). What the parser returns is then
// used as the dialer uses it: the agent state and event time (formatted, as
// logs and results do). A broken promise aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/time_format.h"
#include "telephony/amazon_connect/connect_events.h"

namespace {

constexpr std::string_view kQueueId = "aaaaaaaa-1111-2222-3333-444444444444";

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "agent_event_fuzz: broken promise: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json record = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  (void)pd::connect::classify(record);
  for (std::string_view queue : {kQueueId, std::string_view()}) {
    auto event = pd::connect::parse_agent_event(record, queue);
    if (!event.ok()) {
      check(!event.status().message().empty(), "an error without a message");
      continue;
    }
    check(!event->agent_id.empty(), "an event without an agent");
    check(queue.empty() ? event->serves_queue : true, "no queue given, yet filtered out");
    if (event->state == pd::AgentState::kAvailable) {
      for (const auto& [contact, state] : event->contacts) {
        check(state == "MISSED" || state == "ERROR" || state == "REJECTED",
              "available while on a contact");
      }
    }
    (void)pd::format_iso8601(event->at);
  }
  return 0;
}
