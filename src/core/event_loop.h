// The engine's event loop and time seam: one thread runs callbacks and
// timers in order. Two implementations:
//  - RealTimeLoop: wall time, optionally accelerated (--speed X runs virtual
//    time X times faster than real time); other threads post() into it.
//  - VirtualLoop: virtual time that jumps from timer to timer, so a shift of
//    simulated calls runs as fast as the CPU allows. Single-threaded.
// Both are Clocks, so everything scheduled reads time from the loop.
// Thread-safety: post() and stop() may be called from any thread; the rest
// only from the loop's own thread (or before run()).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "core/clock.h"

namespace pd {

using TimerId = uint64_t;

class EventLoop : public Clock {
 public:
  using Task = std::function<void()>;

  // Runs `task` at `when` (or at once when `when` has passed). Timers that
  // fall due together run in the order they were scheduled.
  virtual TimerId schedule_at(MonoTime when, Task task) = 0;
  TimerId schedule_after(Micros delay, Task task) { return schedule_at(now() + delay, std::move(task)); }
  // Cancels a timer that has not run; unknown or past ids are ignored.
  virtual void cancel(TimerId id) = 0;
  // Runs `task` on the loop thread soon. Thread-safe.
  virtual void post(Task task) = 0;
  // Runs until stop(), or (VirtualLoop) until nothing is left to do.
  virtual void run() = 0;
  // Makes run() return after the current task. Thread-safe.
  virtual void stop() = 0;
};

// Timers keyed by (due time, sequence): the shared part of both loops.
class TimerQueue {
 public:
  TimerId add(MonoTime when, EventLoop::Task task);
  void cancel(TimerId id);
  bool empty() const { return timers_.empty(); }
  MonoTime next_due() const { return timers_.begin()->first.first; }
  // Removes and returns the earliest timer.
  EventLoop::Task pop();

 private:
  std::map<std::pair<MonoTime, TimerId>, EventLoop::Task> timers_;
  std::map<TimerId, MonoTime> due_;  // for cancel
  TimerId next_id_ = 1;
};

class VirtualLoop final : public EventLoop {
 public:
  explicit VirtualLoop(WallTime start_wall = WallTime{std::chrono::milliseconds{1'767'225'600'000}});

  MonoTime now() const override { return now_; }
  WallTime wall_now() const override;
  TimerId schedule_at(MonoTime when, Task task) override;
  void cancel(TimerId id) override { timers_.cancel(id); }
  void post(Task task) override { schedule_at(now_, std::move(task)); }
  void run() override;
  // Runs everything due up to `until`, then leaves the clock there.
  void run_until(MonoTime until);
  void stop() override { stopped_ = true; }
  uint64_t tasks_run() const { return tasks_run_; }

 private:
  MonoTime now_{};
  WallTime start_wall_;
  TimerQueue timers_;
  bool stopped_ = false;
  uint64_t tasks_run_ = 0;
};

class RealTimeLoop final : public EventLoop {
 public:
  // `speed` > 0: virtual seconds per real second.
  explicit RealTimeLoop(double speed = 1.0, Clock& real = system_clock());

  MonoTime now() const override;
  WallTime wall_now() const override;
  TimerId schedule_at(MonoTime when, Task task) override;
  void cancel(TimerId id) override;
  void post(Task task) override;
  void run() override;
  void stop() override;

 private:
  // Real time at which virtual time `t` is reached.
  MonoTime to_real(MonoTime t) const;

  double speed_;
  Clock& real_;
  MonoTime real_start_;
  WallTime wall_start_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  TimerQueue timers_;        // guarded by mu_
  std::vector<Task> posted_;  // guarded by mu_
  bool stopped_ = false;      // guarded by mu_
};

}  // namespace pd
