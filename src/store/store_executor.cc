#include "store/store_executor.h"

#include <vector>

namespace pd {

void InlineStoreExecutor::submit(Work work) {
  if (ops_per_commit_ > 1 && !in_batch_) in_batch_ = store_.begin_batch().ok();
  Completion done = work(store_);
  if (in_batch_ && ++ops_in_batch_ >= ops_per_commit_) drain();
  if (done) loop_.post(std::move(done));
}

void InlineStoreExecutor::drain() {
  if (!in_batch_) return;
  if (absl::Status s = store_.commit_batch(); !s.ok()) {
    store_.abort_batch();
    if (batch_failure_.ok()) batch_failure_ = s;
  }
  in_batch_ = false;
  ops_in_batch_ = 0;
}

ThreadedStoreExecutor::ThreadedStoreExecutor(std::unique_ptr<Store> store, EventLoop& loop)
    : store_(std::move(store)), loop_(loop), thread_([this] { run(); }) {}

ThreadedStoreExecutor::~ThreadedStoreExecutor() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
    wake_.notify_one();
  }
  thread_.join();
}

void ThreadedStoreExecutor::submit(Work work) {
  std::lock_guard lock(mu_);
  queue_.push_back(std::move(work));
  wake_.notify_one();
}

void ThreadedStoreExecutor::drain() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void ThreadedStoreExecutor::run() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return quit_ || !queue_.empty(); });
    if (queue_.empty() && quit_) return;
    std::vector<Work> batch(std::make_move_iterator(queue_.begin()),
                            std::make_move_iterator(queue_.end()));
    queue_.clear();
    busy_ = true;
    lock.unlock();

    std::vector<Completion> done;
    done.reserve(batch.size());
    bool committed = false;
    if (batch.size() > 1 && store_->begin_batch().ok()) {
      for (Work& w : batch) done.push_back(w(*store_));
      committed = store_->commit_batch().ok();
      if (!committed) store_->abort_batch();
    }
    if (!committed) {
      // One transaction each: a lone operation, or a batch that could not
      // commit (its effects were rolled back, so running again is safe).
      done.clear();
      for (Work& w : batch) done.push_back(w(*store_));
    }
    for (Completion& c : done) {
      if (c) loop_.post(std::move(c));
    }

    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

}  // namespace pd
