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

#include "core/strings.h"

namespace pd {
namespace {

constexpr uint32_t kNone = UINT32_MAX;

using namespace disconnect_reason;  // NOLINT: the shared reason names

// Domain tags, so the streams derived from one seed are unrelated.
constexpr uint64_t kFateTag = 0x66617465'00000001;      // "fate"
constexpr uint64_t kThrottleTag = 0x7468726f'00000002;  // "thro"
constexpr uint64_t kAgentTag = 0x6167656e'00000003;     // "agen"

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
double standard_normal(Xoshiro256& rng) {
  const double u1 = 1.0 - unit(rng.next());  // (0, 1]: log is finite
  const double u2 = unit(rng.next());
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// Lognormal with the given mean (not median): mu = ln(mean) - sigma^2 / 2.
Micros lognormal(Xoshiro256& rng, Micros mean, double sigma) {
  if (mean <= Micros{0}) return Micros{0};
  if (sigma <= 0) return mean;
  const double m = static_cast<double>(mean.count());
  const double mu = std::log(m) - 0.5 * sigma * sigma;
  const double x = std::exp(mu + sigma * standard_normal(rng));
  constexpr double kCap = 1e15;  // ~31 years: keeps absurd sigmas finite
  return Micros{std::llround(std::min(x, kCap))};
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
  uint32_t prev = kNone;  // links in idle_
  uint32_t next = kNone;
  TimerId timer = 0;  // end of after-call work
};

struct Simulator::Call {
  enum class Phase : uint8_t { kFree, kRinging, kMachine, kWaiting, kTalking };
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
  bool late = false;     // put through after kAbandonWindow: abandoned (TCPA)
  MonoTime answered_at{};  // while waiting for an agent
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
  if (answer_rate + busy_rate + invalid_rate > 1 + 1e-9) {
    return out_of_range("answer_rate + busy_rate + invalid_rate", "must be <= 1");
  }
  if (!(talk_sigma >= 0)) return out_of_range("talk_sigma", "must be >= 0");
  if (!(acw_sigma >= 0)) return out_of_range("acw_sigma", "must be >= 0");
  const std::pair<std::string_view, Micros> durations[] = {
      {"shift", shift},
      {"talk_mean", talk_mean},
      {"acw_mean", acw_mean},
      {"ring_min", ring_min},
      {"busy_after", busy_after},
      {"invalid_after", invalid_after},
      {"machine_after", machine_after},
      {"abandon_after", abandon_after},
  };
  for (const auto& [name, d] : durations) {
    if (d < Micros{0}) return out_of_range(name, "must be >= 0");
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
  // Posted, not run here: the handler is never called from inside start().
  loop_.post([this, alive = alive_] {
    if (*alive) log_in_all();
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
    if (a.timer != 0) loop_.cancel(a.timer);
    a.timer = 0;
  }
  if (shift_timer_ != 0) loop_.cancel(shift_timer_);
  shift_timer_ = 0;
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
  } else if (u_fate < config_.invalid_rate + config_.busy_rate + config_.answer_rate) {
    c.fate = Call::Fate::kAnswer;
    const auto spread = static_cast<double>((config_.ring_max - config_.ring_min).count());
    ring = config_.ring_min + Micros{static_cast<int64_t>(u_ring * spread)};
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

void Simulator::log_in_all() {
  for (uint32_t a = 0; a < agents_.size(); ++a) {
    set_state(a, AgentState::kAvailable);
    fifo_push(idle_, agents_, a);
  }
  if (config_.shift > Micros{0}) {
    shift_timer_ = loop_.schedule_after(config_.shift, [this] { end_shift(); });
  }
  for (uint32_t a = 0; a < agents_.size() && !stopped_; ++a) emit_agent(a);
  dispatch();
}

void Simulator::end_shift() {
  shift_timer_ = 0;
  shift_ended_ = true;
  // Busy agents finish the call and its after-call work first; available
  // ones leave as soon as no call placed for them can still be answered.
  for (Agent& agent : agents_) agent.shift_over = true;
  release_off_shift_agents();
}

void Simulator::release_off_shift_agents() {
  if (!shift_ended_) return;
  while (!stopped_ && idle_.head != kNone && in_state_[0] - 1 >= unanswered_in_flight_) {
    const uint32_t a = idle_.head;
    fifo_unlink(idle_, agents_, a);
    set_state(a, AgentState::kOffline);
    emit_agent(a);
  }
}

void Simulator::on_acw_end(uint32_t a) {
  agents_[a].timer = 0;
  if (agents_[a].shift_over) {
    set_state(a, AgentState::kOffline);
    emit_agent(a);
    return;
  }
  set_state(a, AgentState::kAvailable);
  fifo_push(idle_, agents_, a);
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
    schedule_call_timer(slot, config_.machine_after);
  } else if (idle_.head != kNone) {
    connect(slot, idle_.head);
  } else {
    c.phase = Call::Phase::kWaiting;
    c.answered_at = loop_.now();
    fifo_push(waiting_, calls_, slot);
    schedule_call_timer(slot, config_.abandon_after);
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
  fifo_unlink(idle_, agents_, a);
  set_state(a, AgentState::kBusy);
  Call& c = calls_[slot];
  --unanswered_in_flight_;
  c.late = c.phase == Call::Phase::kWaiting && loop_.now() - c.answered_at > kAbandonWindow;
  c.phase = Call::Phase::kTalking;
  c.agent = a;
  schedule_call_timer(slot, lognormal(agents_[a].rng, config_.talk_mean, config_.talk_sigma));
  const uint32_t number = c.number;
  emit_agent(a);
  emit(ContactEvent::Kind::kCallConnected, number, {}, Outcome::kConnected, a);
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
  const Outcome outcome = calls_[slot].late ? Outcome::kAbandoned : Outcome::kConnected;
  set_state(a, AgentState::kAfterCallWork);
  agent.timer = loop_.schedule_after(lognormal(agent.rng, config_.acw_mean, config_.acw_sigma),
                                     [this, a] { on_acw_end(a); });
  end_call(slot, outcome, reason, a, disposition);
  emit_agent(a);
}

void Simulator::end_call(uint32_t slot, Outcome outcome, std::string_view reason, uint32_t agent,
                         std::string_view disposition) {
  ++stats_.calls_ended;
  ++stats_.by_outcome[static_cast<size_t>(outcome)];
  const uint32_t number = calls_[slot].number;
  if (calls_[slot].phase != Call::Phase::kTalking) --unanswered_in_flight_;
  free_call(slot);
  // An agent who may now leave does so before the end is reported, so the
  // dialer never counts them as free for the next call.
  release_off_shift_agents();
  emit(ContactEvent::Kind::kCallEnded, number, reason, outcome, agent, disposition);
}

// --- events ------------------------------------------------------------------

void Simulator::emit_agent(uint32_t a) {
  emit(ContactEvent::Kind::kAgentState, 0, {}, Outcome::kFailed, a);
}

void Simulator::emit(ContactEvent::Kind kind, uint32_t number, std::string_view reason,
                     Outcome outcome, uint32_t agent, std::string_view disposition) {
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
  handler_(e);
}

}  // namespace pd
