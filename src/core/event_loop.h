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
  TimerId schedule_after(Micros delay, Task task) {
    return schedule_at(now() + delay, std::move(task));
  }
  // Cancels a timer that has not run; unknown or past ids are ignored.
  virtual void cancel(TimerId id) = 0;
  // Runs `task` on the loop thread soon. Thread-safe.
  virtual void post(Task task) = 0;
  // Runs until stop(), or (VirtualLoop) until nothing is left to do.
  virtual void run() = 0;
  // Makes run() return after the current task. Thread-safe.
  virtual void stop() = 0;
};

// Timers in due-time order (FIFO among equal times): the shared part of
// both loops. A binary heap over reusable slots, so adding, running and
// cancelling a timer allocate nothing beyond the task itself; a cancelled
// timer's heap entry is dropped when it reaches the top.
class TimerQueue {
 public:
  TimerId add(MonoTime when, EventLoop::Task task);
  void cancel(TimerId id);
  bool empty() {
    drop_cancelled();
    return heap_.empty();
  }
  // REQUIRES: !empty().
  MonoTime next_due() {
    drop_cancelled();
    return heap_.front().when;
  }
  // Removes and returns the earliest timer. REQUIRES: !empty().
  EventLoop::Task pop();

 private:
  struct Entry {
    MonoTime when;
    uint64_t seq;  // FIFO among equal due times
    uint32_t slot;
    uint32_t generation;
  };
  struct Slot {
    EventLoop::Task task;
    uint32_t generation = 0;
    bool live = false;
  };
  static bool later(const Entry& a, const Entry& b) {
    return a.when != b.when ? a.when > b.when : a.seq > b.seq;
  }
  void drop_cancelled();
  void free_slot(uint32_t slot);

  std::vector<Entry> heap_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  uint64_t next_seq_ = 0;
};

class VirtualLoop final : public EventLoop {
 public:
  explicit VirtualLoop(WallTime start_wall = WallTime{
                           std::chrono::milliseconds{1'767'225'600'000}});

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
  // `speed` > 0: virtual seconds per real second. The loop's wall clock
  // starts at the real time now, or at `wall_not_before` when that is later
  // (a simulated clock resuming after the times a previous run recorded).
  explicit RealTimeLoop(double speed = 1.0, Clock& real = system_clock(),
                        WallTime wall_not_before = {});
  // A wall clock that starts exactly at `wall`, earlier or later than the
  // real time (a simulated clock started at a chosen moment: `--start`).
  struct StartAt {
    WallTime wall;
  };
  RealTimeLoop(double speed, Clock& real, StartAt start);

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
  TimerQueue timers_;         // guarded by mu_
  std::vector<Task> posted_;  // guarded by mu_
  bool stopped_ = false;      // guarded by mu_
};

}  // namespace pd
