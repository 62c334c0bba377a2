#include "telephony/simulator/simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <iterator>
#include <numbers>
#include <random>
#include <utility>

#include "core/config_keys.h"
#include "core/strings.h"

namespace pd {
namespace {

constexpr uint32_t kNone = UINT32_MAX;

using namespace disconnect_reason;  // NOLINT: the shared reason names

// Domain tags, so the streams derived from one seed are unrelated.
constexpr uint64_t kFateTag = 0x66617465'00000001;      // "fate"
constexpr uint64_t kThrottleTag = 0x7468726f'00000002;  // "thro"
constexpr uint64_t kAgentTag = 0x6167656e'00000003;     // "agen"
constexpr uint64_t kLoginTag = 0x6c6f6769'00000004;     // "logi"

constexpr Micros kDay = std::chrono::hours(24);

// splitmix64's finaliser: a bijective 64-bit mix, used to hash and to seed.
constexpr uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t derive(uint64_t seed, uint64_t tag, uint64_t n) {
  return mix64(mix64(seed ^ tag) + mix64(n));
}

// FNV-1a over the token, keyed by the seed. Our own hash rather than
// std::hash, whose values differ between standard libraries.
uint64_t hash_token(uint64_t seed, std::string_view token) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : token) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix64(h ^ mix64(seed ^ kFateTag));
}

// A call's few draws: splitmix64 is enough for a handful of values from a
// well-mixed seed, and has 8 bytes of state.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() { return mix64(state_ += 0x9e3779b97f4a7c15ULL); }

 private:
  uint64_t state_;
};

// Uniform in [0, 1) from the top 53 bits.
double unit(uint64_t x) { return static_cast<double>(x >> 11) * 0x1.0p-53; }

// Each agent's talk and after-call-work times come from its own xoshiro256**
// stream, seeded through splitmix64 as its authors recommend. Chosen over
// std::mt19937_64 for 32 bytes of state instead of 2.5 KB per agent (1,000
// agents) and speed; and the distributions are ours, built from raw 64-bit
// draws, because std::*_distribution differ between standard libraries.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    SplitMix64 init(seed);
    for (uint64_t& w : s_) w = init.next();
  }
  uint64_t next() {
    const uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
  }

 private:
  uint64_t s_[4];
};

// Box-Muller (one of the pair). The libm calls may differ in the last ulp
// across platforms, which rounding to microseconds almost always absorbs.
template <typename Rng>
double standard_normal(Rng& rng) {
  const double u1 = 1.0 - unit(rng.next());  // (0, 1]: log is finite
  const double u2 = unit(rng.next());
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

constexpr double kCap = 1e15;  // ~31 years: keeps absurd sigmas finite

// Lognormal with the given mean (not median): mu = ln(mean) - sigma^2 / 2.
template <typename Rng>
Micros lognormal(Rng& rng, Micros mean, double sigma) {
  if (mean <= Micros{0}) return Micros{0};
  if (sigma <= 0) return mean;
  const double m = static_cast<double>(mean.count());
  const double mu = std::log(m) - 0.5 * sigma * sigma;
  const double x = std::exp(mu + sigma * standard_normal(rng));
  return Micros{std::llround(std::min(x, kCap))};
}

// A duration around `mean` of the given shape. Lognormal with sigma 0 and
// fixed draw nothing, so they leave the stream where it was.
template <typename Rng>
Micros draw(Rng& rng, Distribution dist, Micros mean, double sigma) {
  switch (dist) {
    case Distribution::kLognormal:
      return lognormal(rng, mean, sigma);
    case Distribution::kExponential: {
      if (mean <= Micros{0}) return Micros{0};
      const double u = 1.0 - unit(rng.next());  // (0, 1]
      const double x = -std::log(u) * static_cast<double>(mean.count());
      return Micros{std::llround(std::min(x, kCap))};
    }
    case Distribution::kFixed:
      return std::max(mean, Micros{0});
  }
  return mean;
}

bool is_e164(std::string_view phone) {
  if (phone.size() < 3 || phone.size() > 16 || phone[0] != '+' || phone[1] == '0') return false;
  return std::all_of(phone.begin() + 1, phone.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Index into the accounting arrays, or -1 for Offline.
int state_index(AgentState s) {
  switch (s) {
    case AgentState::kAvailable:
      return 0;
    case AgentState::kBusy:
      return 1;
    case AgentState::kAfterCallWork:
      return 2;
    case AgentState::kOffline:
      return -1;
  }
  return -1;
}

// Intrusive FIFO over a vector of nodes with prev/next indices: O(1) push
// and removal from anywhere, no allocation.
template <typename F, typename T>
void fifo_push(F& f, std::vector<T>& v, uint32_t i) {
  v[i].prev = f.tail;
  v[i].next = kNone;
  if (f.tail == kNone) {
    f.head = i;
  } else {
    v[f.tail].next = i;
  }
  f.tail = i;
}

template <typename F, typename T>
void fifo_unlink(F& f, std::vector<T>& v, uint32_t i) {
  T& n = v[i];
  if (n.prev == kNone) {
    f.head = n.next;
  } else {
    v[n.prev].next = n.next;
  }
  if (n.next == kNone) {
    f.tail = n.prev;
  } else {
    v[n.next].prev = n.prev;
  }
  n.prev = n.next = kNone;
}

absl::Status out_of_range(std::string_view field, std::string_view why) {
  return absl::InvalidArgumentError(pd::cat("simulator: ", field, " ", why));
}

}  // namespace

struct Simulator::Agent {
  explicit Agent(std::string agent_id, uint64_t seed) : id(std::move(agent_id)), rng(seed) {}
  std::string id;
  Xoshiro256 rng;
  AgentState state = AgentState::kOffline;
  bool shift_over = false;
  bool break_due = false;  // taken when next free
  bool on_break = false;
  uint32_t prev = kNone;  // links in idle_
  uint32_t next = kNone;
  TimerId timer = 0;        // end of after-call work
  TimerId shift_timer = 0;  // login (login_spread), then the shift's end
  TimerId break_timer = 0;  // the next break due, or the end of this one
  MonoTime login_at{};      // this shift's

  // Leaves when free (counted in leaving_idle_ while Available).
  bool leaving() const { return shift_over || break_due; }
};

struct Simulator::Call {
  // kAmd: a person listened to by answering-machine detection.
  enum class Phase : uint8_t { kFree, kRinging, kMachine, kAmd, kWaiting, kTalking };
  enum class Fate : uint8_t { kAnswer, kBusy, kInvalid, kNoAnswer };
  uint32_t number = 0;     // contact id "sim-<number>"
  uint32_t agent = kNone;  // while talking
  uint32_t prev = kNone;   // links in waiting_; `next` also links the free list
  uint32_t next = kNone;
  TimerId timer = 0;  // the one pending timer of the current phase
  Phase phase = Phase::kFree;
  Fate fate = Fate::kNoAnswer;
  bool machine = false;
  bool agent_hangs_up = false;
  bool late = false;       // put through after kAbandonWindow (TCPA)
  Micros patience{0};      // a person's, drawn when placed
  MonoTime answered_at{};  // a person routed to the queue (after AMD)
};

// client_token -> contact number, for Connect's idempotent ClientToken.
// Open addressing keyed by the token's 64-bit hash (already computed for the
// fate); the tokens are kept in one arena, so a hash collision is told apart
// from a repeat. No allocation per call beyond amortised growth.
class Simulator::TokenIndex {
 public:
  // The contact number recorded for `token`, or 0.
  uint32_t find(uint64_t hash, std::string_view token) const {
    if (slots_.empty()) return 0;
    for (size_t i = hash & mask(); slots_[i].number != 0; i = (i + 1) & mask()) {
      const Slot& e = slots_[i];
      if (e.hash == hash && std::string_view(arena_).substr(e.offset, e.size) == token) {
        return e.number;
      }
    }
    return 0;
  }

  // REQUIRES: find(hash, token) == 0, number != 0.
  void insert(uint64_t hash, std::string_view token, uint32_t number) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    place(Slot{hash, arena_.size(), static_cast<uint32_t>(token.size()), number});
    arena_.append(token);
    ++size_;
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    size_t offset = 0;  // of the token in arena_
    uint32_t size = 0;
    uint32_t number = 0;  // 0 = empty
  };

  size_t mask() const { return slots_.size() - 1; }
  void place(const Slot& slot) {
    size_t i = slot.hash & mask();
    while (slots_[i].number != 0) i = (i + 1) & mask();
    slots_[i] = slot;
  }
  void grow() {
    std::vector<Slot> old(std::max<size_t>(64, 2 * slots_.size()));
    old.swap(slots_);
    for (const Slot& e : old) {
      if (e.number != 0) place(e);
    }
  }

  std::vector<Slot> slots_;  // size is a power of two, at most half full
  size_t size_ = 0;
  std::string arena_;
};

absl::Status SimConfig::validate() const {
  if (agents < 0) return out_of_range("agents", "must be >= 0");
  const std::pair<std::string_view, double> rates[] = {
      {"answer_rate", answer_rate},   {"busy_rate", busy_rate},
      {"invalid_rate", invalid_rate}, {"machine_rate", machine_rate},
      {"failure_rate", failure_rate},
  };
  for (const auto& [name, rate] : rates) {
    if (!(rate >= 0 && rate <= 1)) return out_of_range(name, "must be in [0, 1]");
  }
  if (answer_drift.empty() && answer_rate + busy_rate + invalid_rate > 1 + 1e-9) {
    return out_of_range("answer_rate + busy_rate + invalid_rate", "must be <= 1");
  }
  for (size_t i = 0; i < answer_drift.size(); ++i) {
    const AnswerRatePoint& p = answer_drift[i];
    if (p.at < Micros{0} || p.at >= kDay) {
      return out_of_range("answer_drift (--answer-drift)", "times must be from 0 to under 24h");
    }
    if (i > 0 && p.at <= answer_drift[i - 1].at) {
      return out_of_range("answer_drift (--answer-drift)", "times must increase");
    }
    if (!(p.rate >= 0 && p.rate <= 1)) {
      return out_of_range("answer_drift (--answer-drift)", "rates must be in [0, 1]");
    }
    if (p.rate + busy_rate + invalid_rate > 1 + 1e-9) {
      return out_of_range("answer_drift (--answer-drift)",
                          "each rate + busy_rate + invalid_rate must be <= 1");
    }
  }
  const std::pair<std::string_view, double> sigmas[] = {
      {"talk_sigma (--talk-sigma)", talk_sigma},
      {"acw_sigma (--acw-sigma)", acw_sigma},
      {"patience_sigma (--patience-sigma)", patience_sigma},
  };
  for (const auto& [name, sigma] : sigmas) {
    if (!(sigma >= 0 && sigma <= 10)) return out_of_range(name, "must be from 0 to 10");
  }
  const std::pair<std::string_view, Micros> durations[] = {
      {"shift", shift},
      {"talk_mean", talk_mean},
      {"acw_mean", acw_mean},
      {"ring_min", ring_min},
      {"busy_after", busy_after},
      {"invalid_after", invalid_after},
      {"machine_after", machine_after},
      {"patience (--patience)", patience},
      {"amd_delay (--amd-delay)", amd_delay},
      {"login_spread (--login-spread)", login_spread},
      {"break_every (--break-every)", break_every},
      {"break_length (--break-length)", break_length},
  };
  for (const auto& [name, d] : durations) {
    if (d < Micros{0}) return out_of_range(name, "must be >= 0");
  }
  if ((break_every > Micros{0}) != (break_length > Micros{0})) {
    return out_of_range("break_every and break_length (--break-every, --break-length)",
                        "must be set together");
  }
  if (login_spread >= kDay)
    return out_of_range("login_spread (--login-spread)", "must be under 24h");
  if (!(days >= 1 && days <= 1000)) return out_of_range("days (--days)", "must be from 1 to 1000");
  if (days > 1) {
    if (shift <= Micros{0}) return out_of_range("days (--days)", "above 1 needs a shift (--shift)");
    if (shift + login_spread >= kDay) {
      return out_of_range("shift + login_spread (--shift, --login-spread)",
                          "must be under 24h for a run of several days");
    }
  }
  double shares = 0;
  for (const auto& [code, share] : dispositions) {
    if (code.empty()) return out_of_range("dispositions", "a code is empty");
    if (!(share >= 0 && share <= 1)) return out_of_range("dispositions", "shares must be in [0, 1]");
    shares += share;
  }
  if (shares > 1 + 1e-9) return out_of_range("dispositions", "shares must sum to at most 1");
  if (ring_max < ring_min) return out_of_range("ring_max", "must be >= ring_min");
  if (ring_timeout < ring_max) return out_of_range("ring_timeout", "must be >= ring_max");
  return absl::OkStatus();
}

std::string_view to_string(Distribution d) {
  switch (d) {
    case Distribution::kLognormal:
      return "lognormal";
    case Distribution::kExponential:
      return "exponential";
    case Distribution::kFixed:
      return "fixed";
  }
  return "lognormal";
}

absl::StatusOr<Distribution> parse_distribution(std::string_view text) {
  for (Distribution d :
       {Distribution::kLognormal, Distribution::kExponential, Distribution::kFixed}) {
    if (text == to_string(d)) return d;
  }
  return absl::InvalidArgumentError(
      cat("unknown distribution ", echo(text), ": expected lognormal, exponential or fixed"));
}

double SimConfig::answer_rate_at(Micros since_start) const {
  if (answer_drift.empty()) return answer_rate;
  const Micros t = since_start <= Micros{0} ? Micros{0} : since_start % kDay;
  // The first point at or after t (a handful of points: a scan is fastest).
  size_t i = 0;
  while (i < answer_drift.size() && answer_drift[i].at < t) ++i;
  if (i == 0) return answer_drift.front().rate;
  if (i == answer_drift.size()) return answer_drift.back().rate;
  const AnswerRatePoint& a = answer_drift[i - 1];
  const AnswerRatePoint& b = answer_drift[i];
  const double f =
      static_cast<double>((t - a.at).count()) / static_cast<double>((b.at - a.at).count());
  return a.rate + f * (b.rate - a.rate);
}

absl::StatusOr<std::vector<AnswerRatePoint>> parse_answer_drift(std::string_view text) {
  std::vector<AnswerRatePoint> out;
  std::string_view rest = trim(text);
  if (rest.empty()) {
    return absl::InvalidArgumentError("expected TIME=RATE points, e.g. 0h=0.25,4h=0.15,8h=0.30");
  }
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view entry = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t eq = entry.find('=');
    const std::string_view time_text =
        eq == std::string_view::npos ? "" : trim(entry.substr(0, eq));
    std::string_view rate_text = eq == std::string_view::npos ? "" : trim(entry.substr(eq + 1));
    const bool percent = !rate_text.empty() && rate_text.back() == '%';
    if (percent) rate_text.remove_suffix(1);
    double rate = -1;
    if (!rate_text.empty()) {
      auto [p, ec] = std::from_chars(rate_text.data(), rate_text.data() + rate_text.size(), rate);
      if (ec != std::errc() || p != rate_text.data() + rate_text.size()) rate = -1;
    }
    if (percent) rate /= 100;
    const auto at = parse_duration(time_text);
    if (!at || !(rate >= 0 && rate <= 1)) {
      return absl::InvalidArgumentError(
          cat("invalid point ", echo(entry),
              ": expected TIME=RATE with a time since the day's start (0h, 90m, 4h) and a rate "
              "from 0 to 1 (or 0% to 100%), e.g. 4h=0.15"));
    }
    const Micros at_us = std::chrono::duration_cast<Micros>(*at);
    if (at_us >= kDay) {
      return absl::InvalidArgumentError(
          cat("invalid point ", echo(entry), ": the time must be under 24h (the day repeats)"));
    }
    if (!out.empty() && at_us <= out.back().at) {
      return absl::InvalidArgumentError(
          cat("invalid point ", echo(entry), ": times must increase from point to point"));
    }
    out.push_back({at_us, rate});
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, double>>> parse_disposition_shares(
    std::string_view text) {
  std::vector<std::pair<std::string, double>> out;
  double total = 0;
  std::string_view rest = trim(text);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view entry = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t eq = entry.find('=');
    std::string_view share_text = eq == std::string_view::npos ? "" : trim(entry.substr(eq + 1));
    const bool percent = !share_text.empty() && share_text.back() == '%';
    if (percent) share_text.remove_suffix(1);
    double share = -1;
    if (!share_text.empty()) {
      auto [p, ec] = std::from_chars(share_text.data(), share_text.data() + share_text.size(), share);
      if (ec != std::errc() || p != share_text.data() + share_text.size()) share = -1;
    }
    if (percent) share /= 100;
    const std::string_view code = eq == std::string_view::npos ? "" : trim(entry.substr(0, eq));
    if (code.empty() || !(share >= 0 && share <= 1)) {
      return absl::InvalidArgumentError(
          cat("invalid disposition share ", echo(entry),
              ": expected CODE=SHARE with a share from 0 to 1 (or 0% to 100%), e.g. SALE=0.2"));
    }
    total += share;
    out.emplace_back(code, share);
  }
  if (total > 1 + 1e-9) {
    return absl::InvalidArgumentError(
        cat("disposition shares ", echo(text), " add up to more than 1"));
  }
  return out;
}

std::string new_sim_run_id() {
  std::random_device rd;
  const uint64_t bits = (uint64_t{rd()} << 32 | rd()) & 0xFFFF'FFFF'FFFFULL;
  return fmt::format("{:012x}", bits);
}

std::string Simulator::contact_id(uint32_t number) const {
  return fmt::format("{}{:06d}", contact_prefix_, number);
}

Simulator::Simulator(EventLoop& loop, SimConfig config)
    : loop_(loop),
      config_(std::move(config)),
      alive_(std::make_shared<bool>(true)),
      idle_{kNone, kNone},
      free_(kNone),
      waiting_{kNone, kNone},
      tokens_(std::make_unique<TokenIndex>()),
      contact_prefix_(config_.run_id.empty() ? "sim-" : pd::cat("sim-", config_.run_id, "-")),
      last_accounted_(loop.now()) {
  const int n = std::max(config_.agents, 0);
  agents_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    agents_.emplace_back(fmt::format("agent-{:04d}", i + 1),
                         derive(config_.seed, kAgentTag, static_cast<uint64_t>(i)));
  }
}

Simulator::~Simulator() { shutdown(); }

void Simulator::start(EventHandler handler) {
  if (started_ || stopped_) return;
  started_ = true;
  handler_ = std::move(handler);
  first_day_start_ = loop_.now();
  // Posted, not run here: the handler is never called from inside start().
  loop_.post([this, alive = alive_] {
    if (*alive) start_day(0);
  });
}

void Simulator::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  *alive_ = false;
  for (const Call& c : calls_) {
    if (c.phase != Call::Phase::kFree && c.timer != 0) loop_.cancel(c.timer);
  }
  for (Agent& a : agents_) {
    for (TimerId* t : {&a.timer, &a.shift_timer, &a.break_timer}) {
      if (*t != 0) loop_.cancel(*t);
      *t = 0;
    }
  }
  for (TimerId* t : {&shift_timer_, &day_timer_}) {
    if (*t != 0) loop_.cancel(*t);
    *t = 0;
  }
  // Everyone logs out silently: agent time stops accruing now.
  account();
  in_state_.fill(0);
  for (Agent& a : agents_) a.state = AgentState::kOffline;
}

void Simulator::available_agents(std::function<void(absl::StatusOr<int>)> done) {
  if (stopped_) return;
  // The count is read when the callback runs, so it is current then.
  loop_.post([this, alive = alive_, done = std::move(done)] {
    if (*alive) done(static_cast<int>(in_state_[0]));
  });
}

void Simulator::start_call(const CallRequest& request,
                           std::function<void(absl::StatusOr<std::string>)> done) {
  if (stopped_) return;
  const uint64_t request_no = static_cast<uint64_t>(stats_.calls_requested++);
  const auto reply = [this](std::function<void(absl::StatusOr<std::string>)> cb,
                            absl::StatusOr<std::string> result) {
    loop_.post([alive = alive_, cb = std::move(cb), result = std::move(result)] {
      if (*alive) cb(result);
    });
  };

  if (!is_e164(request.phone)) {
    ++stats_.calls_refused;
    reply(std::move(done), absl::InvalidArgumentError(
                               pd::cat("simulator: not an E.164 number: '", request.phone, "'")));
    return;
  }
  // Throttling is drawn per request, not per token, so a retry of the same
  // token can succeed.
  if (config_.failure_rate > 0 &&
      unit(derive(config_.seed, kThrottleTag, request_no)) < config_.failure_rate) {
    ++stats_.calls_throttled;
    reply(std::move(done),
          absl::ResourceExhaustedError("simulator: TooManyRequestsException (rate exceeded)"));
    return;
  }
  const std::string_view token = request.client_token;
  const uint64_t token_hash = hash_token(config_.seed, token);
  const uint32_t number = next_contact_ + 1;
  if (!token.empty()) {
    if (const uint32_t existing = tokens_->find(token_hash, token); existing != 0) {
      ++stats_.calls_repeated;
      loop_.post([alive = alive_, done = std::move(done), id = contact_id(existing)] {
        if (*alive) done(id);
      });
      return;
    }
    tokens_->insert(token_hash, token, number);
  }
  next_contact_ = number;
  ++stats_.calls_placed;

  // The fate: all draws are taken in a fixed order whatever the rates, so
  // one rate's change does not reshuffle the others.
  SplitMix64 draws(token.empty() ? derive(config_.seed, kFateTag, number) : token_hash);
  const double u_fate = unit(draws.next());
  const double u_ring = unit(draws.next());
  const double u_machine = unit(draws.next());
  const bool agent_hangs_up = (draws.next() >> 63) != 0;
  const double answer_rate = config_.answer_drift.empty()
                                 ? config_.answer_rate
                                 : config_.answer_rate_at(loop_.now() - first_day_start_);

  const uint32_t slot = alloc_call();
  Call& c = calls_[slot];
  c.number = number;
  c.phase = Call::Phase::kRinging;
  ++unanswered_in_flight_;
  c.machine = u_machine < config_.machine_rate;
  c.agent_hangs_up = agent_hangs_up;
  Micros ring{0};
  if (u_fate < config_.invalid_rate) {
    c.fate = Call::Fate::kInvalid;
    ring = config_.invalid_after;
  } else if (u_fate < config_.invalid_rate + config_.busy_rate) {
    c.fate = Call::Fate::kBusy;
    ring = config_.busy_after;
  } else if (u_fate < config_.invalid_rate + config_.busy_rate + answer_rate) {
    c.fate = Call::Fate::kAnswer;
    const auto spread = static_cast<double>((config_.ring_max - config_.ring_min).count());
    ring = config_.ring_min + Micros{static_cast<int64_t>(u_ring * spread)};
    // Drawn after the others, so the other draws stay what they were.
    if (!c.machine) {
      c.patience = draw(draws, config_.patience_dist, config_.patience, config_.patience_sigma);
    }
  } else {
    c.fate = Call::Fate::kNoAnswer;
    ring = config_.ring_timeout;
  }

  // The contact id is posted before the call's timer is scheduled, so it
  // reaches the caller before any event about the contact.
  loop_.post([alive = alive_, done = std::move(done), id = contact_id(number)] {
    if (*alive) done(id);
  });
  schedule_call_timer(slot, ring);
}

SimStats Simulator::stats() const {
  SimStats s = stats_;
  const Micros since = stopped_ ? Micros{0} : loop_.now() - last_accounted_;
  s.available_time = time_in_state_[0] + since * in_state_[0];
  s.busy_time = time_in_state_[1] + since * in_state_[1];
  s.after_call_work_time = time_in_state_[2] + since * in_state_[2];
  s.logged_in_time = s.available_time + s.busy_time + s.after_call_work_time;
  if (s.logged_in_time > Micros{0}) {
    s.agent_occupancy = static_cast<double>((s.busy_time + s.after_call_work_time).count()) /
                        static_cast<double>(s.logged_in_time.count());
  }
  return s;
}

// --- agents ------------------------------------------------------------------

void Simulator::start_day(int day) {
  if (day + 1 < config_.days) {
    day_timer_ = loop_.schedule_at(first_day_start_ + (day + 1) * kDay, [this, day] {
      day_timer_ = 0;
      start_day(day + 1);
    });
  }
  if (config_.login_spread <= Micros{0}) {
    log_in_all();
    return;
  }
  // Each agent's login time is a hash of (seed, day, agent), not a draw
  // from the agent's stream, so spreading logins leaves talk times as they
  // were.
  const auto n = static_cast<uint64_t>(agents_.size());
  const auto spread = static_cast<double>(config_.login_spread.count());
  for (uint32_t a = 0; a < agents_.size(); ++a) {
    const double u = unit(derive(config_.seed, kLoginTag, static_cast<uint64_t>(day) * n + a));
    Agent& agent = agents_[a];
    // The previous shift ended before this day began (validate() keeps
    // shift + login_spread under a day), so the timer is free.
    agent.shift_timer = loop_.schedule_after(Micros{static_cast<int64_t>(u * spread)}, [this, a] {
      agents_[a].shift_timer = 0;
      log_in(a);
    });
  }
}

void Simulator::log_in_all() {
  std::vector<uint32_t> logged_in;
  logged_in.reserve(agents_.size());
  for (uint32_t a = 0; a < agents_.size(); ++a) {
    start_shift(a);
    if (agents_[a].state != AgentState::kOffline) continue;  // finishing yesterday's call
    make_available(a);
    logged_in.push_back(a);
  }
  if (config_.shift > Micros{0}) {
    shift_timer_ = loop_.schedule_after(config_.shift, [this] { end_shift(); });
  }
  for (uint32_t a : logged_in) {
    if (stopped_) break;
    emit_agent(a);
  }
  dispatch();
}

void Simulator::log_in(uint32_t a) {
  start_shift(a);
  if (config_.shift > Micros{0}) {
    agents_[a].shift_timer = loop_.schedule_after(config_.shift, [this, a] {
      agents_[a].shift_timer = 0;
      end_shift_of(a);
      release_leaving_agents();
    });
  }
  if (agents_[a].state != AgentState::kOffline) return;  // finishing yesterday's call
  make_available(a);
  emit_agent(a);
  dispatch();
}

void Simulator::start_shift(uint32_t a) {
  Agent& agent = agents_[a];
  // One still covering a call placed before their shift ended stays now.
  if (agent.state == AgentState::kAvailable && agent.leaving()) --leaving_idle_;
  agent.shift_over = false;
  agent.break_due = false;
  agent.on_break = false;
  if (agent.break_timer != 0) loop_.cancel(agent.break_timer);
  agent.break_timer = 0;
  agent.login_at = loop_.now();
  ++stats_.logins;
  schedule_next_break(a);
}

void Simulator::end_shift() {
  shift_timer_ = 0;
  // Busy agents finish the call and its after-call work first; available
  // ones leave as soon as no call placed for them can still be answered.
  for (uint32_t a = 0; a < agents_.size(); ++a) end_shift_of(a);
  release_leaving_agents();
}

void Simulator::end_shift_of(uint32_t a) {
  Agent& agent = agents_[a];
  if (agent.shift_over) return;
  if (agent.state == AgentState::kAvailable && !agent.leaving()) ++leaving_idle_;
  agent.shift_over = true;
  agent.break_due = false;  // no break after the shift
  // A break not yet due is off; one under way ends with the agent Offline.
  if (agent.break_timer != 0 && !agent.on_break) {
    loop_.cancel(agent.break_timer);
    agent.break_timer = 0;
  }
}

void Simulator::schedule_next_break(uint32_t a) {
  if (config_.break_every <= Micros{0}) return;
  Agent& agent = agents_[a];
  // Due on the shift's clock (every break_every from login), so a break
  // taken late does not push the next ones back.
  const Micros since_login = loop_.now() - agent.login_at;
  const MonoTime due =
      agent.login_at + (since_login / config_.break_every + 1) * config_.break_every;
  if (config_.shift > Micros{0} && due >= agent.login_at + config_.shift) return;
  agent.break_timer = loop_.schedule_at(due, [this, a] { on_break_due(a); });
}

void Simulator::on_break_due(uint32_t a) {
  Agent& agent = agents_[a];
  agent.break_timer = 0;
  if (agent.shift_over || agent.state == AgentState::kOffline) return;
  agent.break_due = true;
  if (agent.state == AgentState::kAvailable) {
    ++leaving_idle_;
    release_leaving_agents();
  }
  // Busy or in after-call work: the break starts when the work ends.
}

void Simulator::start_break(uint32_t a) {
  Agent& agent = agents_[a];
  agent.break_due = false;
  agent.on_break = true;
  ++stats_.breaks;
  set_state(a, AgentState::kOffline);
  agent.break_timer = loop_.schedule_after(config_.break_length, [this, a] { on_break_end(a); });
  emit_agent(a);
}

void Simulator::on_break_end(uint32_t a) {
  Agent& agent = agents_[a];
  agent.break_timer = 0;
  agent.on_break = false;
  if (agent.shift_over) return;  // the shift ended during the break
  make_available(a);
  schedule_next_break(a);
  emit_agent(a);
  dispatch();
}

void Simulator::release_leaving_agents() {
  if (leaving_idle_ == 0) return;
  // Longest idle first; the others stay in the queue of idle agents.
  uint32_t a = idle_.head;
  while (!stopped_ && a != kNone && leaving_idle_ > 0 &&
         in_state_[0] - 1 >= unanswered_in_flight_) {
    const uint32_t next = agents_[a].next;
    if (agents_[a].leaving()) {
      take_from_idle(a);
      if (agents_[a].shift_over) {
        set_state(a, AgentState::kOffline);
        emit_agent(a);
      } else {
        start_break(a);
      }
    }
    a = next;
  }
}

void Simulator::make_available(uint32_t a) {
  set_state(a, AgentState::kAvailable);
  fifo_push(idle_, agents_, a);
}

void Simulator::take_from_idle(uint32_t a) {
  if (agents_[a].leaving()) --leaving_idle_;
  fifo_unlink(idle_, agents_, a);
}

void Simulator::on_acw_end(uint32_t a) {
  agents_[a].timer = 0;
  if (agents_[a].shift_over) {
    set_state(a, AgentState::kOffline);
    emit_agent(a);
    return;
  }
  if (agents_[a].break_due) {
    start_break(a);
    return;
  }
  make_available(a);
  emit_agent(a);
  dispatch();
}

void Simulator::set_state(uint32_t a, AgentState s) {
  account();
  Agent& agent = agents_[a];
  if (const int i = state_index(agent.state); i >= 0) --in_state_[i];
  if (const int i = state_index(s); i >= 0) ++in_state_[i];
  agent.state = s;
}

void Simulator::account() {
  const MonoTime now = loop_.now();
  const Micros elapsed = now - last_accounted_;
  if (elapsed <= Micros{0}) return;
  for (size_t i = 0; i < in_state_.size(); ++i) time_in_state_[i] += elapsed * in_state_[i];
  last_accounted_ = now;
}

// --- calls -------------------------------------------------------------------

uint32_t Simulator::alloc_call() {
  uint32_t slot = free_;
  if (slot != kNone) {
    free_ = calls_[slot].next;
    calls_[slot] = Call{};
  } else {
    slot = static_cast<uint32_t>(calls_.size());
    calls_.emplace_back();
  }
  return slot;
}

void Simulator::free_call(uint32_t slot) {
  Call& c = calls_[slot];
  c.phase = Call::Phase::kFree;
  c.timer = 0;
  c.next = free_;
  free_ = slot;
}

void Simulator::schedule_call_timer(uint32_t slot, Micros after) {
  // [this, slot] fits std::function's inline buffer: no allocation.
  calls_[slot].timer = loop_.schedule_after(after, [this, slot] { on_call_timer(slot); });
}

void Simulator::on_call_timer(uint32_t slot) {
  Call& c = calls_[slot];
  c.timer = 0;
  switch (c.phase) {
    case Call::Phase::kRinging:
      switch (c.fate) {
        case Call::Fate::kAnswer:
          on_answered(slot);
          return;
        case Call::Fate::kBusy:
          end_call(slot, Outcome::kBusy, kTelecomBusy, kNone);
          return;
        case Call::Fate::kInvalid:
          end_call(slot, Outcome::kInvalidNumber, kTelecomNumberInvalid, kNone);
          return;
        case Call::Fate::kNoAnswer:
          end_call(slot, Outcome::kNoAnswer, kTelecomUnanswered, kNone);
          return;
      }
      return;
    case Call::Phase::kMachine:
      end_call(slot, Outcome::kNoAnswer, kAnsweringMachine, kNone);
      return;
    case Call::Phase::kAmd:
      on_routed(slot);
      return;
    case Call::Phase::kWaiting:
      fifo_unlink(waiting_, calls_, slot);
      ++stats_.abandoned;
      end_call(slot, Outcome::kAbandoned, kCustomerDisconnect, kNone);
      return;
    case Call::Phase::kTalking:
      on_talk_end(slot);
      return;
    case Call::Phase::kFree:
      return;  // can't happen: freed calls have no timer
  }
}

void Simulator::on_answered(uint32_t slot) {
  ++stats_.answered;
  Call& c = calls_[slot];
  if (c.machine) {
    ++stats_.machines;
    c.phase = Call::Phase::kMachine;
    schedule_call_timer(slot,
                        config_.amd_delay > Micros{0} ? config_.amd_delay : config_.machine_after);
  } else if (config_.amd_delay > Micros{0}) {
    c.phase = Call::Phase::kAmd;
    schedule_call_timer(slot, config_.amd_delay);
  } else {
    on_routed(slot);
  }
}

void Simulator::on_routed(uint32_t slot) {
  Call& c = calls_[slot];
  // TCPA's 2 s (and the customer's patience) count from here: the end of
  // the greeting AMD listened to.
  c.answered_at = loop_.now();
  if (idle_.head != kNone) {
    connect(slot, idle_.head);
  } else {
    c.phase = Call::Phase::kWaiting;
    fifo_push(waiting_, calls_, slot);
    schedule_call_timer(slot, c.patience);
  }
}

void Simulator::dispatch() {
  while (!stopped_ && waiting_.head != kNone && idle_.head != kNone) {
    const uint32_t slot = waiting_.head;
    fifo_unlink(waiting_, calls_, slot);
    loop_.cancel(calls_[slot].timer);  // the abandon timer
    calls_[slot].timer = 0;
    connect(slot, idle_.head);
  }
}

void Simulator::connect(uint32_t slot, uint32_t a) {
  ++stats_.connected;
  take_from_idle(a);
  set_state(a, AgentState::kBusy);
  Call& c = calls_[slot];
  --unanswered_in_flight_;
  c.late = c.phase == Call::Phase::kWaiting && loop_.now() - c.answered_at > kAbandonWindow;
  if (c.late) ++stats_.late_connects;
  c.phase = Call::Phase::kTalking;
  c.agent = a;
  schedule_call_timer(
      slot, draw(agents_[a].rng, config_.talk_dist, config_.talk_mean, config_.talk_sigma));
  const uint32_t number = c.number;
  const MonoTime answered = c.answered_at;
  emit_agent(a);
  emit(ContactEvent::Kind::kCallConnected, number, {}, Outcome::kConnected, a, {}, answered);
}

void Simulator::on_talk_end(uint32_t slot) {
  const uint32_t a = calls_[slot].agent;
  const std::string_view reason =
      calls_[slot].agent_hangs_up ? kAgentDisconnect : kCustomerDisconnect;
  Agent& agent = agents_[a];
  // Drawn only when codes are configured, so runs without them keep their
  // random sequence.
  std::string_view disposition;
  if (!config_.dispositions.empty()) {
    double u = unit(agent.rng.next());
    for (const auto& [code, share] : config_.dispositions) {
      if (u < share) {
        disposition = code;
        break;
      }
      u -= share;
    }
  }
  const Outcome outcome =
      calls_[slot].late && config_.two_second_rule ? Outcome::kAbandoned : Outcome::kConnected;
  set_state(a, AgentState::kAfterCallWork);
  agent.timer =
      loop_.schedule_after(draw(agent.rng, config_.acw_dist, config_.acw_mean, config_.acw_sigma),
                           [this, a] { on_acw_end(a); });
  end_call(slot, outcome, reason, a, disposition);
  emit_agent(a);
}

void Simulator::end_call(uint32_t slot, Outcome outcome, std::string_view reason, uint32_t agent,
                         std::string_view disposition) {
  ++stats_.calls_ended;
  ++stats_.by_outcome[static_cast<size_t>(outcome)];
  const Call& c = calls_[slot];
  const uint32_t number = c.number;
  std::optional<MonoTime> answered;
  if (c.phase == Call::Phase::kTalking || c.phase == Call::Phase::kWaiting) {
    answered = c.answered_at;
  }
  if (c.phase != Call::Phase::kTalking) --unanswered_in_flight_;
  free_call(slot);
  // An agent who may now leave does so before the end is reported, so the
  // dialer never counts them as free for the next call.
  release_leaving_agents();
  emit(ContactEvent::Kind::kCallEnded, number, reason, outcome, agent, disposition, answered);
}

// --- events ------------------------------------------------------------------

void Simulator::emit_agent(uint32_t a) {
  emit(ContactEvent::Kind::kAgentState, 0, {}, Outcome::kFailed, a);
}

void Simulator::emit(ContactEvent::Kind kind, uint32_t number, std::string_view reason,
                     Outcome outcome, uint32_t agent, std::string_view disposition,
                     std::optional<MonoTime> answered) {
  if (stopped_ || !handler_) return;
  // Every field is rewritten; assigning into the strings' existing capacity
  // keeps this allocation-free after the first few events.
  ContactEvent& e = scratch_;
  e.kind = kind;
  e.at = loop_.wall_now();
  if (agent == kNone) {
    e.agent_id.clear();
    e.agent_state = AgentState::kOffline;
  } else {
    e.agent_id.assign(agents_[agent].id);
    e.agent_state = agents_[agent].state;
  }
  e.contact_id.clear();
  if (kind != ContactEvent::Kind::kAgentState) {
    e.contact_id.assign(contact_prefix_);
    fmt::format_to(std::back_inserter(e.contact_id), "{:06d}", number);
  }
  e.outcome = outcome;
  e.disconnect_reason.assign(reason);
  e.disposition.assign(disposition);
  if (answered) {
    e.answered_at = e.at - std::chrono::duration_cast<Millis>(loop_.now() - *answered);
  } else {
    e.answered_at.reset();
  }
  handler_(e);
}

}  // namespace pd
