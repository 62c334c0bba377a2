// The time seam. Core code never reads the system clock directly: it asks a
// Clock, so the same engine runs in real time, accelerated, or on a virtual
// clock in simulation and tests.
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <chrono>

#include "core/types.h"

namespace pd {

// Monotonic time for intervals (ring timeouts, backoff, pacing).
using MonoTime = std::chrono::time_point<std::chrono::steady_clock, std::chrono::microseconds>;
using Micros = std::chrono::microseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic now.
  virtual MonoTime now() const = 0;
  // Wall-clock now (UTC), for what people read.
  virtual WallTime wall_now() const = 0;
};

// Real time.
class SystemClock final : public Clock {
 public:
  MonoTime now() const override;
  WallTime wall_now() const override;
};

// The process-wide real clock (stateless, so sharing it is safe).
Clock& system_clock();

}  // namespace pd
