#include "telephony/contact_center.h"

namespace pd {

std::string_view to_string(AgentState s) {
  switch (s) {
    case AgentState::kAvailable:
      return "available";
    case AgentState::kBusy:
      return "busy";
    case AgentState::kAfterCallWork:
      return "after_call_work";
    case AgentState::kOffline:
      return "offline";
  }
  return "unknown";
}

}  // namespace pd
