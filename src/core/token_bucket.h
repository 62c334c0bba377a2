// A token bucket: `rate` tokens a second, at most `burst` saved up. Keeps a
// client within an API's quota (Amazon Connect's StartOutboundVoiceContact:
// 2/s, burst 5). Not thread-safe: callers hold their own lock.
#pragma once

#include <algorithm>
#include <chrono>

#include "core/clock.h"

namespace pd {

class TokenBucket {
 public:
  TokenBucket(double rate, double burst, MonoTime now)
      : rate_(rate), burst_(burst), tokens_(burst), at_(now) {}

  // Takes a token if one is there and returns zero; otherwise takes nothing
  // and returns how long until one will be.
  Micros try_take(MonoTime now) {
    refill(now);
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return Micros{0};
    }
    return Micros{static_cast<int64_t>((1.0 - tokens_) / rate_ * 1e6) + 1};
  }

  double rate() const { return rate_; }
  double burst() const { return burst_; }

 private:
  void refill(MonoTime now) {
    if (now > at_) {
      tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>((now - at_).count()) / 1e6);
      at_ = now;
    }
  }

  double rate_;
  double burst_;
  double tokens_;
  MonoTime at_;
};

}  // namespace pd
