// The pacer's status as operators see it: what `status`, the API, the live
// feed and /metrics show of a running campaign's pacing (io/status_json.h
// LivePacing), from the Engine's PacerStatus. The engine's heartbeat writes
// it into the store's settings for other processes; `serve` reads it from
// its own engines.
// Thread-safety: a pure function.
#pragma once

#include "engine/pacer.h"
#include "io/status_json.h"

namespace pd {

inline LivePacing live_pacing(const PacerStatus& status, WallTime at) {
  LivePacing live;
  live.mode = std::string(to_string(status.mode));
  live.lines_per_agent = status.lines_per_agent;
  live.warming_up = status.warming_up;
  live.throttled = status.throttled;
  live.note = status.note;
  live.at = at;
  return live;
}

}  // namespace pd
