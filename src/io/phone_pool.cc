#include "io/phone_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/strings.h"
#include "io/phone.h"

namespace pd {
namespace {

// Frames on the socket, both ways: u32 payload length, then the payload.
// Request payload:  u32 count, u32 region length, region, count x (u32 length, bytes).
// Response payload: u32 count, count x (u8 ok, u32 length, bytes).
// Both ends are this program on this machine, so integers are native-endian.
constexpr uint32_t kMaxFrameBytes = 64u << 20;
constexpr size_t kReadChunk = 64 * 1024;

void put_u32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

// Reads a u32 at `pos` of `data` (size `size`); false when it runs past the end.
bool get_u32(const char* data, size_t size, size_t& pos, uint32_t& v) {
  if (size - pos < 4) return false;
  std::memcpy(&v, data + pos, 4);
  pos += 4;
  return true;
}

std::string errno_text(int err) { return std::strerror(err); }

// --- worker side (runs in the forked child) -----------------------------

// 1: filled `buf`; 0: end of input before the first byte; -1: error or a
// frame cut short.
int read_exact(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = read(fd, buf + got, n - got);
    if (r > 0) {
      got += static_cast<size_t>(r);
    } else if (r == 0) {
      return got == 0 ? 0 : -1;
    } else if (errno != EINTR) {
      return -1;
    }
  }
  return 1;
}

bool write_all(int fd, const char* buf, size_t n) {
  while (n > 0) {
    const ssize_t r = send(fd, buf, n, MSG_NOSIGNAL);
    if (r >= 0) {
      buf += r;
      n -= static_cast<size_t>(r);
    } else if (errno != EINTR) {
      return false;
    }
  }
  return true;
}

// Serves batches until the parent closes the socket. Never returns: the
// child must not run the parent's destructors or atexit handlers, nor flush
// stdio buffers it inherited, so it leaves with _exit.
[[noreturn]] void run_worker(int fd) {
  std::string request;
  std::string response;
  std::string region;
  std::string value;
  for (;;) {
    uint32_t len = 0;
    const int r = read_exact(fd, reinterpret_cast<char*>(&len), 4);
    if (r == 0) _exit(0);  // the pool is done
    if (r < 0 || len > kMaxFrameBytes) _exit(2);
    request.resize(len);
    if (read_exact(fd, request.data(), len) != 1) _exit(2);

    size_t pos = 0;
    uint32_t count = 0;
    uint32_t region_len = 0;
    if (!get_u32(request.data(), len, pos, count) ||
        !get_u32(request.data(), len, pos, region_len) || len - pos < region_len) {
      _exit(3);
    }
    region.assign(request.data() + pos, region_len);
    pos += region_len;

    response.clear();
    put_u32(response, 0);  // the length, filled in below
    put_u32(response, count);
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t phone_len = 0;
      if (!get_u32(request.data(), len, pos, phone_len) || len - pos < phone_len) _exit(3);
      const bool ok =
          normalize_phone_into(std::string_view(request.data() + pos, phone_len), region, value);
      pos += phone_len;
      response.push_back(ok ? 1 : 0);
      put_u32(response, static_cast<uint32_t>(value.size()));
      response.append(value);
    }
    const auto payload = static_cast<uint32_t>(response.size() - 4);
    std::memcpy(response.data(), &payload, 4);
    if (!write_all(fd, response.data(), response.size())) _exit(0);  // the parent went away
  }
}

// In the child, straight after fork(): make it a worker that lives no longer
// than its parent and holds no descriptor but its own socket.
[[noreturn]] void become_worker(int fd, pid_t parent) {
  // Die with the parent even when it is killed (no EOF would come then).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);  // the parent died before prctl

  // Handlers the parent installed make no sense here. Ctrl-C reaches the
  // whole process group: let the parent decide, the worker follows it (EOF
  // or PDEATHSIG).
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig : {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD, SIGPIPE}) {
    sigaction(sig, &dfl, nullptr);
  }
  struct sigaction ign = dfl;
  ign.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ign, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  // Close everything inherited (other workers' sockets, which would hide
  // their EOF; database files; listening sockets) but stdio and ours.
  if (fd != 3) {
    if (dup2(fd, 3) < 0) _exit(1);
    fd = 3;
  }
  close_range(4, ~0U, 0);
  run_worker(fd);
}

// The process's thread count, from /proc; -1 when it cannot be read.
int thread_count() {
  std::ifstream stat("/proc/self/stat");
  std::string line((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Field 2 (comm) may hold spaces and parentheses: count from the last ')'.
  // After it: state(3) ppid ... num_threads is field 20, the 18th after ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  size_t pos = close + 1;
  for (int field = 3; field <= 20; ++field) {
    pos = line.find_first_not_of(' ', pos);
    if (pos == std::string::npos) return -1;
    const size_t end = line.find(' ', pos);
    if (field == 20) {
      return std::atoi(line.substr(pos, end == std::string::npos ? end : end - pos).c_str());
    }
    if (end == std::string::npos) return -1;
    pos = end;
  }
  return -1;
}

int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PhoneNormalizerPool>> PhoneNormalizerPool::start(Options options) {
  const int threads = thread_count();
  if (threads != 1) {
    return absl::FailedPreconditionError(
        threads < 0 ? std::string("cannot start phone workers: cannot count this process's threads")
                    : cat("cannot start phone workers: ", threads,
                          " threads are running and fork() needs a single-threaded "
                          "process; start the pool before any thread"));
  }
  // Built once here and shared copy-on-write by every worker.
  warm_phone_normalizer();

  const int n = options.workers > 0 ? options.workers : default_workers();
  std::unique_ptr<PhoneNormalizerPool> pool(new PhoneNormalizerPool(options));
  const pid_t parent = getpid();
  for (int i = 0; i < n; ++i) {
    int sv[2];
    // CLOEXEC: should the parent exec something later, these stay behind.
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      return absl::InternalError(
          cat("cannot start phone workers: socketpair: ", errno_text(errno)));
    }
    const pid_t pid = fork();
    if (pid < 0) {
      const int err = errno;
      close(sv[0]);
      close(sv[1]);
      return absl::InternalError(cat("cannot start phone workers: fork: ", errno_text(err)));
    }
    if (pid == 0) become_worker(sv[1], parent);
    close(sv[1]);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    Worker w;
    w.pid = pid;
    w.fd = sv[0];
    pool->workers_.push_back(std::move(w));
  }
  return pool;
}

int PhoneNormalizerPool::default_workers() { return usable_cpus(); }

PhoneNormalizerPool::~PhoneNormalizerPool() { stop_all(); }

void PhoneNormalizerPool::stop_all() {
  for (Worker& w : workers_) {
    if (w.fd >= 0) close(w.fd);  // an idle worker exits on EOF
    w.fd = -1;
  }
  for (Worker& w : workers_) {
    if (w.reaped) continue;
    // Kill only a child that is still ours and unreaped (waitpid says 0):
    // its pid cannot have been reused then.
    pid_t r;
    do {
      r = waitpid(w.pid, nullptr, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
      kill(w.pid, SIGKILL);
      do {
        r = waitpid(w.pid, nullptr, 0);
      } while (r < 0 && errno == EINTR);
    }
    w.reaped = true;
  }
}

std::vector<pid_t> PhoneNormalizerPool::worker_pids() const {
  std::vector<pid_t> pids;
  for (const Worker& w : workers_) pids.push_back(w.pid);
  return pids;
}

absl::Status PhoneNormalizerPool::worker_died(Worker& w) {
  broken_ = true;
  if (w.fd >= 0) close(w.fd);
  w.fd = -1;
  std::string what = "its exit status is unknown";
  if (!w.reaped) {
    int status = 0;
    pid_t r;
    do {
      r = waitpid(w.pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    w.reaped = true;
    if (r == w.pid && WIFSIGNALED(status)) {
      what = cat("killed by signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")");
    } else if (r == w.pid && WIFEXITED(status)) {
      what = cat("exited with status ", WEXITSTATUS(status));
    }
  }
  const auto index = &w - workers_.data() + 1;
  return absl::InternalError(
      cat("phone validation worker ", index, " (pid ", w.pid, ") died: ", what));
}

absl::Status PhoneNormalizerPool::submit(std::string_view default_region,
                                         const std::vector<std::string>& phones) {
  if (broken_) return absl::FailedPreconditionError("the phone worker pool has failed");
  // Round robin: batches are alike, and the caller waits for them in order,
  // so each worker gets every n-th batch and none runs dry first.
  const size_t best = next_worker_;
  next_worker_ = (next_worker_ + 1) % workers_.size();
  Worker& w = workers_[best];
  if (w.out_pos == w.out.size()) {  // everything sent: reuse the buffer
    w.out.clear();
    w.out_pos = 0;
  }
  const size_t start = w.out.size();
  put_u32(w.out, 0);
  put_u32(w.out, static_cast<uint32_t>(phones.size()));
  put_u32(w.out, static_cast<uint32_t>(default_region.size()));
  w.out.append(default_region);
  for (const std::string& p : phones) {
    put_u32(w.out, static_cast<uint32_t>(p.size()));
    w.out.append(p);
  }
  const size_t payload = w.out.size() - start - 4;
  if (payload > kMaxFrameBytes) {
    w.out.resize(start);
    return absl::InvalidArgumentError("phone batch too large");
  }
  const auto len = static_cast<uint32_t>(payload);
  std::memcpy(w.out.data() + start, &len, 4);
  ++w.pending;
  order_.push_back(static_cast<int>(best));
  return pump(std::chrono::milliseconds(0));  // start sending now
}

absl::Status PhoneNormalizerPool::pump(std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  std::vector<size_t> index;
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker& w = workers_[i];
    if (w.fd < 0) continue;
    const bool sending = w.out_pos < w.out.size();
    if (!sending && w.pending == 0) continue;
    // POLLIN also while only sending: it is how a crash (EOF) shows.
    fds.push_back({w.fd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0});
    index.push_back(i);
  }
  if (fds.empty()) return absl::OkStatus();
  int ready;
  do {
    ready = poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return absl::InternalError(cat("poll: ", errno_text(errno)));

  for (size_t k = 0; k < fds.size(); ++k) {
    Worker& w = workers_[index[k]];
    const short ev = fds[k].revents;
    if (ev & POLLOUT) {
      while (w.out_pos < w.out.size()) {
        const ssize_t r = send(w.fd, w.out.data() + w.out_pos, w.out.size() - w.out_pos,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r >= 0) {
          w.out_pos += static_cast<size_t>(r);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
          break;
        } else if (errno != EINTR) {
          return worker_died(w);  // EPIPE, ECONNRESET
        }
      }
    }
    if (ev & (POLLIN | POLLHUP | POLLERR)) {
      for (;;) {
        const size_t old = w.in.size();
        w.in.resize(old + kReadChunk);
        const ssize_t r = read(w.fd, w.in.data() + old, kReadChunk);
        w.in.resize(old + static_cast<size_t>(std::max<ssize_t>(r, 0)));
        if (r > 0) continue;
        if (r == 0) return worker_died(w);
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno != EINTR) return worker_died(w);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status PhoneNormalizerPool::collect(std::vector<PhoneResult>& results) {
  if (broken_) return absl::FailedPreconditionError("the phone worker pool has failed");
  if (order_.empty()) return absl::FailedPreconditionError("no phone batch in flight");
  Worker& w = workers_[order_.front()];
  const auto deadline = std::chrono::steady_clock::now() + options_.batch_timeout;
  auto frame_ready = [&w] {
    size_t pos = w.in_pos;
    uint32_t len = 0;
    return get_u32(w.in.data(), w.in.size(), pos, len) && w.in.size() - pos >= len;
  };
  while (!frame_ready()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      broken_ = true;
      const auto index = &w - workers_.data() + 1;
      kill(w.pid, SIGKILL);  // still ours: not reaped, or we would have seen EOF
      (void)worker_died(w);
      return absl::DeadlineExceededError(cat("phone validation worker ", index, " (pid ", w.pid,
                                             ") gave no answer within ",
                                             options_.batch_timeout.count(), " ms; it was killed"));
    }
    if (absl::Status s = pump(left + std::chrono::milliseconds(1)); !s.ok()) return s;
  }

  size_t pos = w.in_pos;
  uint32_t len = 0;
  get_u32(w.in.data(), w.in.size(), pos, len);
  const size_t end = pos + len;
  uint32_t count = 0;
  bool good = get_u32(w.in.data(), end, pos, count) && count <= len;
  results.resize(good ? count : 0);
  for (uint32_t i = 0; good && i < count; ++i) {
    uint32_t value_len = 0;
    good = end - pos >= 1;
    if (!good) break;
    results[i].ok = w.in[pos++] == 1;
    good = get_u32(w.in.data(), end, pos, value_len) && end - pos >= value_len;
    if (!good) break;
    results[i].value.assign(w.in.data() + pos, value_len);
    pos += value_len;
  }
  if (!good || pos != end) {
    broken_ = true;
    return absl::InternalError("phone validation worker sent a garbled answer");
  }
  w.in_pos = end;
  if (w.in_pos == w.in.size()) {
    w.in.clear();
    w.in_pos = 0;
  } else if (w.in_pos > (1u << 20)) {
    w.in.erase(0, w.in_pos);
    w.in_pos = 0;
  }
  --w.pending;
  order_.pop_front();
  return absl::OkStatus();
}

}  // namespace pd
