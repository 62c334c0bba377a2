// Phone normalisation on worker processes, for bulk imports.
//
// Why processes and not threads: libphonenumber validates with ICU regexes
// (~10-15 us a number here) and serialises threads on the lock of its
// regexp cache; measured on the 2-core build machine, two threads give
// 1.3-1.4x one thread, two forked processes 1.7-2.0x. So the pool forks
// workers (after warming libphonenumber, so they share its metadata and
// compiled regexes) and talks to each over a Unix socket: batches of raw
// phones go out, E.164 numbers or reasons come back, and the caller gets
// batches back in the order it submitted them.
//
// Thread-safety: one thread uses a pool. Start it while the process has no
// other thread (start() checks): a child forked from a threaded process may
// inherit a lock another thread held, and hang on it.
// Workers die with the thread that started the pool (PR_SET_PDEATHSIG), exit
// when the pool closes their socket, and are reaped by the destructor.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pd {

// One normalised phone: the E.164 number when ok, otherwise the reason
// (as normalize_phone gives it).
struct PhoneResult {
  bool ok = false;
  std::string value;
};

class PhoneNormalizerPool {
 public:
  struct Options {
    int workers = 0;  // 0: one per CPU this process may run on
    // A worker that takes longer than this over one batch is taken for hung:
    // it is killed and the pool reports an error (a batch takes ~50 ms).
    std::chrono::milliseconds batch_timeout{60'000};
  };

  // Forks the workers. FailedPrecondition when other threads are running,
  // Internal when the OS refuses (socketpair, fork).
  static absl::StatusOr<std::unique_ptr<PhoneNormalizerPool>> start(Options options);

  PhoneNormalizerPool(const PhoneNormalizerPool&) = delete;
  PhoneNormalizerPool& operator=(const PhoneNormalizerPool&) = delete;
  // Closes the sockets and reaps the workers (killing any still running).
  ~PhoneNormalizerPool();

  // The workers Options{.workers = 0} starts: the CPUs this process may use.
  static int default_workers();

  int workers() const { return static_cast<int>(workers_.size()); }
  // Batches submitted and not yet collected.
  size_t in_flight() const { return order_.size(); }

  // Queues `phones` (read with `default_region`) for the next worker in
  // turn and returns without waiting. The caller bounds in_flight() (each batch
  // in flight holds its bytes here until a worker takes it).
  absl::Status submit(std::string_view default_region, const std::vector<std::string>& phones);

  // Waits for the oldest batch still in flight and puts its results in
  // `results`, one per phone, in order. REQUIRES: in_flight() > 0.
  // An error (a worker died or hung) breaks the pool: destroy it.
  absl::Status collect(std::vector<PhoneResult>& results);

  // For tests: the workers' process ids.
  std::vector<pid_t> worker_pids() const;

 private:
  struct Worker {
    pid_t pid = -1;
    int fd = -1;      // parent's end of the socket, non-blocking
    std::string out;  // request bytes not yet written
    size_t out_pos = 0;
    std::string in;  // response bytes read, not yet decoded
    size_t in_pos = 0;
    int pending = 0;  // batches sent and not yet collected
    bool reaped = false;
  };

  explicit PhoneNormalizerPool(Options options) : options_(options) {}
  // Moves bytes in both directions for every worker, waiting up to
  // `timeout` for one to be ready. Errors when a worker's socket closed.
  absl::Status pump(std::chrono::milliseconds timeout);
  absl::Status worker_died(Worker& w);
  void stop_all();

  Options options_;
  std::vector<Worker> workers_;
  std::deque<int> order_;  // worker index of each batch in flight, oldest first
  size_t next_worker_ = 0;
  bool broken_ = false;
};

}  // namespace pd
