#include "core/clock.h"

namespace pd {

MonoTime SystemClock::now() const {
  return std::chrono::time_point_cast<Micros>(std::chrono::steady_clock::now());
}

WallTime SystemClock::wall_now() const {
  return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
}

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

}  // namespace pd
