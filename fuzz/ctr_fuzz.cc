// Fuzzes the contact-record readers (telephony/amazon_connect/connect_events.h):
// any bytes, parsed as JSON without exceptions as ConnectContactCenter does,
// read both as a contact trace record from the stream and as a
// DescribeContact answer (one corpus serves both), then mapped to an outcome
// and its times formatted, as the results export does. A broken promise
// aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "core/time_format.h"
#include "telephony/amazon_connect/connect_events.h"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "ctr_fuzz: broken promise: %s\n", what);
    std::abort();
  }
}

void use(const absl::StatusOr<pd::connect::ContactFacts>& facts) {
  if (!facts.ok()) {
    check(!facts.status().message().empty(), "an error without a message");
    return;
  }
  check(!facts->contact_id.empty(), "a contact without an id");
  const pd::connect::EndedAs ended = pd::connect::map_outcome(*facts);
  if (facts->connected_to_agent_at) {
    // Reaching an agent is connected, unless it took longer than the 2 s
    // after the answer that the TCPA allows: then the call counts as
    // abandoned. Times in whole seconds cannot tell 1.5 s from 2.5 s, so
    // there a gap of 2 s counts as late.
    bool late = false;
    if (facts->connected_to_system_at) {
      const auto gap = *facts->connected_to_agent_at - *facts->connected_to_system_at;
      late = facts->whole_second_answer_times ? gap >= pd::kAbandonWindow
                                              : gap > pd::kAbandonWindow;
    }
    check(ended.outcome == (late ? pd::Outcome::kAbandoned : pd::Outcome::kConnected),
          "reached an agent, yet neither connected nor abandoned late");
  }
  for (const std::optional<pd::WallTime>& t :
       {facts->connected_to_system_at, facts->connected_to_agent_at, facts->disconnected_at,
        facts->enqueued_at, facts->dequeued_at}) {
    if (t) (void)pd::format_iso8601(*t);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json record = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  (void)pd::connect::classify(record);
  use(pd::connect::parse_contact_record(record));
  use(pd::connect::parse_describe_contact(record));
  return 0;
}
