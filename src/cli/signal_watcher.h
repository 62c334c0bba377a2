// Turns SIGINT/SIGTERM into a graceful stop; a second one ends the process
// at once (exit 130; the next run resolves whatever was in flight). Shared
// by `run` and `serve`.
//
// Thread-safety: construct it before starting any thread (the signals are
// blocked here, so every later thread inherits the mask and only the
// watcher's sigwait() sees them). `on_stop` runs on the watcher's thread.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <functional>
#include <thread>

namespace pd::cli {

class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void()> on_stop) : on_stop_(std::move(on_stop)) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this] { watch(); });
  }
  ~SignalWatcher() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void watch() {
    int count = 0;
    while (true) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0 || sig == SIGUSR1) return;
      if (++count == 1) {
        on_stop_();
      } else {
        std::_Exit(130);
      }
    }
  }
  std::function<void()> on_stop_;
  sigset_t set_{}, old_{};
  std::thread thread_;
};

}  // namespace pd::cli
