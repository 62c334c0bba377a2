#include "io/phone_pool.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/strings.h"
#include "io/phone.h"

namespace pd {
namespace {

std::unique_ptr<PhoneNormalizerPool> start_pool(int workers,
                                                std::chrono::milliseconds timeout = {}) {
  PhoneNormalizerPool::Options o;
  o.workers = workers;
  if (timeout.count() > 0) o.batch_timeout = timeout;
  auto pool = PhoneNormalizerPool::start(o);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *std::move(pool) : nullptr;
}

std::vector<std::string> mixed_phones(int n, int seed) {
  const std::vector<std::string> samples = {
      "+12025550123",    "(202) 555-0123",   "+44 20 7946 0958", "12", "abc",
      "+1 123 555 0123", "020 7946 0958",    "+7 701 123 4567",  "",   "+999 123456",
      "555-0123",        "+1 (416) 555-0199"};
  std::vector<std::string> phones;
  for (int i = 0; i < n; ++i) {
    std::string p = samples[static_cast<size_t>(i + seed) % samples.size()];
    // Make numbers differ so that order mistakes show.
    if (p == "+12025550123") p = cat("+1202555", 1000 + (i + seed) % 9000);
    phones.push_back(p);
  }
  return phones;
}

TEST(PhonePoolTest, GivesTheSameResultsAsInlineInSubmissionOrder) {
  auto pool = start_pool(2);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->workers(), 2);
  // Batches of different sizes (an empty one too), several in flight.
  const std::vector<int> sizes = {300, 1, 0, 2048, 17, 500, 3};
  std::vector<std::vector<std::string>> batches;
  for (size_t i = 0; i < sizes.size(); ++i) {
    batches.push_back(mixed_phones(sizes[i], static_cast<int>(i)));
  }
  size_t next_submit = 0;
  std::vector<PhoneResult> results;
  for (size_t done = 0; done < batches.size(); ++done) {
    while (next_submit < batches.size() && pool->in_flight() < 4) {
      ASSERT_TRUE(pool->submit("US", batches[next_submit]).ok());
      ++next_submit;
    }
    ASSERT_TRUE(pool->collect(results).ok());
    const std::vector<std::string>& phones = batches[done];
    ASSERT_EQ(results.size(), phones.size()) << "batch " << done;
    for (size_t i = 0; i < phones.size(); ++i) {
      std::string expected;
      const bool ok = normalize_phone_into(phones[i], "US", expected);
      EXPECT_EQ(results[i].ok, ok) << phones[i];
      EXPECT_EQ(results[i].value, expected) << phones[i];
    }
  }
  EXPECT_EQ(pool->in_flight(), 0u);
}

TEST(PhonePoolTest, UsesTheRegionOfEachBatch) {
  auto pool = start_pool(1);
  ASSERT_NE(pool, nullptr);
  ASSERT_TRUE(pool->submit("GB", {"020 7946 0958"}).ok());
  ASSERT_TRUE(pool->submit("US", {"020 7946 0958"}).ok());
  std::vector<PhoneResult> results;
  ASSERT_TRUE(pool->collect(results).ok());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].ok);
  EXPECT_EQ(results[0].value, "+442079460958");
  ASSERT_TRUE(pool->collect(results).ok());
  EXPECT_FALSE(results[0].ok);
  EXPECT_EQ(results[0].value, "too long");
}

TEST(PhonePoolTest, AWorkerCrashIsAClearErrorNotAHang) {
  auto pool = start_pool(2);
  ASSERT_NE(pool, nullptr);
  ASSERT_EQ(kill(pool->worker_pids()[0], SIGKILL), 0);
  // The first batch goes to the first (dead) worker.
  absl::Status s = pool->submit("US", mixed_phones(100, 0));
  if (s.ok()) {
    std::vector<PhoneResult> results;
    s = pool->collect(results);
  }
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_NE(s.message().find("phone validation worker 1"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("killed by signal 9"), absl::string_view::npos) << s;
  // The pool stays failed rather than answering wrongly.
  EXPECT_FALSE(pool->submit("US", {"+12025550123"}).ok());
}

TEST(PhonePoolTest, AHungWorkerTimesOutAndIsKilled) {
  auto pool = start_pool(1, std::chrono::milliseconds(300));
  ASSERT_NE(pool, nullptr);
  const pid_t pid = pool->worker_pids()[0];
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  ASSERT_TRUE(pool->submit("US", {"+12025550123"}).ok());
  std::vector<PhoneResult> results;
  absl::Status s = pool->collect(results);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_EQ(kill(pid, 0), -1);  // killed and reaped
}

TEST(PhonePoolTest, WorkersAreReapedWhenThePoolIsDestroyed) {
  auto pool = start_pool(2);
  ASSERT_NE(pool, nullptr);
  const std::vector<pid_t> pids = pool->worker_pids();
  ASSERT_TRUE(pool->submit("US", mixed_phones(50, 1)).ok());  // left in flight
  pool.reset();
  for (pid_t pid : pids) {
    EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);  // not a zombie: already reaped
    EXPECT_EQ(errno, ECHILD);
  }
}

TEST(PhonePoolTest, WorkersDoNotKeepTheParentsDescriptorsOpen) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  auto pool = start_pool(2);
  ASSERT_NE(pool, nullptr);
  close(p[1]);
  // Had a worker kept its copy of the write end, no EOF would come.
  pollfd fd = {p[0], POLLIN, 0};
  ASSERT_EQ(poll(&fd, 1, 5000), 1);
  char c;
  EXPECT_EQ(read(p[0], &c, 1), 0);
  close(p[0]);
}

// A worker is dead once /proc has no entry for it or shows it as a zombie
// (its new parent, init, may be slow to reap it).
bool dead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

TEST(PhonePoolTest, WorkersDieWithTheProcessThatStartedThem) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // an importing process that gets killed
    PhoneNormalizerPool::Options o;
    o.workers = 2;
    auto pool = PhoneNormalizerPool::start(o);
    if (!pool.ok()) _exit(1);
    const std::vector<pid_t> pids = (*pool)->worker_pids();
    if (write(p[1], pids.data(), pids.size() * sizeof(pid_t)) < 0) _exit(1);
    for (;;) pause();
  }
  close(p[1]);
  pid_t pids[2];
  ASSERT_EQ(read(p[0], pids, sizeof(pids)), static_cast<ssize_t>(sizeof(pids)));
  close(p[0]);
  EXPECT_FALSE(dead(pids[0]));
  ASSERT_EQ(kill(child, SIGKILL), 0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  for (pid_t pid : pids) {
    for (int i = 0; i < 500 && !dead(pid); ++i) usleep(10'000);
    EXPECT_TRUE(dead(pid)) << "worker " << pid << " outlived its parent";
  }
}

volatile sig_atomic_t alarms = 0;
void on_alarm(int) { alarms = alarms + 1; }

TEST(PhonePoolTest, SignalsInterruptingItsWaitsDoNoHarm) {
  // A timer signal every 200 us, with no SA_RESTART: poll and read fail
  // with EINTR over and over.
  struct sigaction sa = {};
  struct sigaction old_sa = {};
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGALRM, &sa, &old_sa), 0);
  auto pool = start_pool(2);
  ASSERT_NE(pool, nullptr);
  itimerval every = {{0, 200}, {0, 200}};
  ASSERT_EQ(setitimer(ITIMER_REAL, &every, nullptr), 0);
  std::vector<PhoneResult> results;
  bool all_ok = true;
  for (int i = 0; i < 8; ++i) {
    const std::vector<std::string> phones = mixed_phones(400, i);
    all_ok = all_ok && pool->submit("US", phones).ok() && pool->collect(results).ok() &&
             results.size() == phones.size();
    std::string expected;
    for (size_t k = 0; all_ok && k < phones.size(); ++k) {
      normalize_phone_into(phones[k], "US", expected);
      all_ok = results[k].value == expected;
    }
  }
  itimerval off = {};
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &old_sa, nullptr);
  EXPECT_TRUE(all_ok);
  EXPECT_GT(alarms, 10);
}

TEST(PhonePoolTest, RefusesToForkWhileOtherThreadsRun) {
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  std::thread t([&] {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return release; });
  });
  auto pool = PhoneNormalizerPool::start({});
  {
    std::lock_guard<std::mutex> lock(m);
    release = true;
  }
  cv.notify_one();
  t.join();
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(pool.status().message().find("threads are running"), absl::string_view::npos);
}

}  // namespace
}  // namespace pd
