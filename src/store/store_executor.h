// Runs Store operations off the engine's loop thread, in submission order,
// and delivers each operation's completion back on the loop — so disk I/O
// never blocks the loop. The threaded executor commits whatever has queued
// up in one transaction (group commit): under load many claims and outcomes
// share one disk sync, and a completion runs only after its changes are
// durable (a claim is on disk before its call is placed).
//
// Thread-safety: submit() is called on the loop thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/event_loop.h"
#include "store/store.h"

namespace pd {

class StoreExecutor {
 public:
  // Work runs against the store and returns the completion to run on the
  // loop (may be empty). Work may be run again if its batch fails to commit,
  // so it must not have effects outside the store.
  using Completion = std::function<void()>;
  using Work = std::function<Completion(Store&)>;

  virtual ~StoreExecutor() = default;
  virtual void submit(Work work) = 0;
  // Waits until every submitted operation has run and been committed.
  virtual void drain() = 0;
};

// Runs work at once on the calling (loop) thread; completions are posted to
// the loop. For the virtual-time simulation, where the loop's clock does not
// move while the disk works. With `ops_per_commit` > 1 it keeps a batch open
// across that many operations (a throw-away store needs no durability per
// operation); drain() commits what is open. A batch that cannot commit is
// rolled back, and its completions have already run: the first such
// failure is kept in batch_failure(), for a simulation to fail with.
class InlineStoreExecutor final : public StoreExecutor {
 public:
  InlineStoreExecutor(Store& store, EventLoop& loop, int ops_per_commit = 1)
      : store_(store), loop_(loop), ops_per_commit_(ops_per_commit) {}
  ~InlineStoreExecutor() override { drain(); }
  void submit(Work work) override;
  void drain() override;
  const absl::Status& batch_failure() const { return batch_failure_; }

 private:
  Store& store_;
  EventLoop& loop_;
  int ops_per_commit_;
  int ops_in_batch_ = 0;
  bool in_batch_ = false;
  absl::Status batch_failure_;
};

// A store thread with group commit. The executor owns the store from
// construction on: nothing else may use it.
class ThreadedStoreExecutor final : public StoreExecutor {
 public:
  ThreadedStoreExecutor(std::unique_ptr<Store> store, EventLoop& loop);
  ~ThreadedStoreExecutor() override;
  void submit(Work work) override;
  void drain() override;

 private:
  void run();

  std::unique_ptr<Store> store_;
  EventLoop& loop_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Work> queue_;  // guarded by mu_
  bool busy_ = false;       // guarded by mu_
  bool quit_ = false;       // guarded by mu_
  std::thread thread_;
};

}  // namespace pd
