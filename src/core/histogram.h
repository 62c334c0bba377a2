// A fixed-size latency histogram: 1 µs buckets below 1 ms, 1 ms buckets up
// to 10 s. Constant memory whatever the sample count; quantiles exact to the
// bucket width. Not thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "core/clock.h"

namespace pd {

class LatencyHistogram {
 public:
  void record(Micros latency);
  uint64_t count() const { return count_; }
  // The smallest bucket bound below which `q` (0..1) of the samples fall.
  Micros quantile(double q) const;
  Micros max() const { return max_; }

 private:
  static constexpr int kFine = 1000;     // 1 µs each
  static constexpr int kCoarse = 10000;  // 1 ms each
  std::array<uint64_t, kFine> fine_{};
  std::array<uint64_t, kCoarse> coarse_{};
  uint64_t count_ = 0;
  Micros max_{0};
};

inline void LatencyHistogram::record(Micros latency) {
  const int64_t us = latency.count() < 0 ? 0 : latency.count();
  if (us < kFine) {
    ++fine_[us];
  } else {
    ++coarse_[std::min<int64_t>(us / 1000, kCoarse - 1)];
  }
  ++count_;
  if (latency > max_) max_ = latency;
}

inline Micros LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return Micros{0};
  const auto target = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.999999);
  uint64_t seen = 0;
  for (int i = 0; i < kFine; ++i) {
    seen += fine_[i];
    if (seen >= target) return Micros{i + 1};
  }
  for (int i = 1; i < kCoarse; ++i) {
    seen += coarse_[i];
    if (seen >= target) return Micros{(i + 1) * 1000};
  }
  return max_;
}

}  // namespace pd
