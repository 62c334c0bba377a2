#include "core/event_loop.h"

#include <algorithm>

namespace pd {

TimerId TimerQueue::add(MonoTime when, EventLoop::Task task) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  s.task = std::move(task);
  s.live = true;
  heap_.push_back({when, next_seq_++, slot, s.generation});
  std::push_heap(heap_.begin(), heap_.end(), later);
  // Ids never repeat: slot in the low half, its generation in the high.
  return (static_cast<TimerId>(s.generation) << 32 | slot) + 1;
}

void TimerQueue::cancel(TimerId id) {
  if (id == 0) return;
  const auto slot = static_cast<uint32_t>((id - 1) & 0xffffffffu);
  const auto generation = static_cast<uint32_t>((id - 1) >> 32);
  if (slot >= slots_.size()) return;
  Slot& s = slots_[slot];
  if (!s.live || s.generation != generation) return;
  free_slot(slot);
}

void TimerQueue::free_slot(uint32_t slot) {
  Slot& s = slots_[slot];
  s.task = nullptr;
  s.live = false;
  ++s.generation;
  free_.push_back(slot);
}

void TimerQueue::drop_cancelled() {
  while (!heap_.empty()) {
    const Entry& top = heap_.front();
    const Slot& s = slots_[top.slot];
    if (s.live && s.generation == top.generation) return;
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
}

EventLoop::Task TimerQueue::pop() {
  drop_cancelled();
  const Entry top = heap_.front();
  std::pop_heap(heap_.begin(), heap_.end(), later);
  heap_.pop_back();
  EventLoop::Task task = std::move(slots_[top.slot].task);
  free_slot(top.slot);
  return task;
}

// --- VirtualLoop -------------------------------------------------------------

VirtualLoop::VirtualLoop(WallTime start_wall) : start_wall_(start_wall) {}

WallTime VirtualLoop::wall_now() const {
  return start_wall_ + std::chrono::duration_cast<Millis>(now_.time_since_epoch());
}

TimerId VirtualLoop::schedule_at(MonoTime when, Task task) {
  return timers_.add(std::max(when, now_), std::move(task));
}

void VirtualLoop::run() {
  stopped_ = false;
  while (!stopped_ && !timers_.empty()) {
    now_ = std::max(now_, timers_.next_due());
    Task task = timers_.pop();
    ++tasks_run_;
    task();
  }
}

void VirtualLoop::run_until(MonoTime until) {
  stopped_ = false;
  while (!stopped_ && !timers_.empty() && timers_.next_due() <= until) {
    now_ = std::max(now_, timers_.next_due());
    Task task = timers_.pop();
    ++tasks_run_;
    task();
  }
  if (!stopped_) now_ = std::max(now_, until);
}

// --- RealTimeLoop ------------------------------------------------------------

RealTimeLoop::RealTimeLoop(double speed, Clock& real, WallTime wall_not_before)
    : speed_(speed > 0 ? speed : 1.0),
      real_(real),
      real_start_(real.now()),
      wall_start_(std::max(real.wall_now(), wall_not_before)) {}

RealTimeLoop::RealTimeLoop(double speed, Clock& real, StartAt start)
    : speed_(speed > 0 ? speed : 1.0), real_(real), real_start_(real.now()), wall_start_(start.wall) {}

MonoTime RealTimeLoop::now() const {
  const auto real_elapsed = real_.now() - real_start_;
  return real_start_ +
         Micros{static_cast<int64_t>(static_cast<double>(real_elapsed.count()) * speed_)};
}

WallTime RealTimeLoop::wall_now() const {
  return wall_start_ + std::chrono::duration_cast<Millis>(now() - real_start_);
}

MonoTime RealTimeLoop::to_real(MonoTime t) const {
  const auto virtual_elapsed = t - real_start_;
  return real_start_ +
         Micros{static_cast<int64_t>(static_cast<double>(virtual_elapsed.count()) / speed_)};
}

TimerId RealTimeLoop::schedule_at(MonoTime when, Task task) {
  std::lock_guard lock(mu_);
  const TimerId id = timers_.add(when, std::move(task));
  wake_.notify_one();
  return id;
}

void RealTimeLoop::cancel(TimerId id) {
  std::lock_guard lock(mu_);
  timers_.cancel(id);
}

void RealTimeLoop::post(Task task) {
  std::lock_guard lock(mu_);
  posted_.push_back(std::move(task));
  wake_.notify_one();
}

void RealTimeLoop::stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  wake_.notify_one();
}

void RealTimeLoop::run() {
  std::unique_lock lock(mu_);
  stopped_ = false;
  while (!stopped_) {
    if (!posted_.empty()) {
      std::vector<Task> batch;
      batch.swap(posted_);
      lock.unlock();
      for (Task& t : batch) t();
      lock.lock();
      continue;
    }
    if (!timers_.empty() && timers_.next_due() <= now()) {
      Task task = timers_.pop();
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    if (timers_.empty()) {
      wake_.wait(lock);
    } else {
      // The condition variable waits on the steady clock; convert the next
      // virtual due time to real time.
      const MonoTime real_due = to_real(timers_.next_due());
      const auto wait = real_due - real_.now();
      wake_.wait_for(lock, std::max(wait, Micros{0}));
    }
  }
}

}  // namespace pd
