// The built-in simulated contact centre: agents with talk and after-call-work
// times, customers who answer, ring out, are busy, have invalid numbers, are
// answering machines or hang up in the queue. It implements the ContactCenter
// seam on an EventLoop, so a whole campaign runs with no AWS account, and on a
// VirtualLoop an 8-hour shift of 1,000 agents runs in seconds.
//
// Deterministic: the same seed and the same sequence of start_call requests
// give the same events at the same times. A call's fate is a hash of (seed,
// client_token) (and, with answer_drift, of when it is placed), so it does
// not depend on how events interleave; agents' talk and after-call-work
// times come from one random stream per agent; login times (login_spread)
// are a hash of (seed, day, agent).
//
// Threading: like every ContactCenter, used only on its loop's thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/event_loop.h"
#include "telephony/contact_center.h"

namespace pd {

// How a simulated duration (talk, after-call work, patience) is drawn
// around its mean.
enum class Distribution : uint8_t {
  kLognormal,    // with a log-space sigma; sigma 0 = always the mean
  kExponential,  // memoryless: the classic queueing model (Erlang C / Erlang A)
  kFixed,        // always exactly the mean
};
std::string_view to_string(Distribution d);
// "lognormal", "exponential" or "fixed"; kInvalidArgument otherwise.
absl::StatusOr<Distribution> parse_distribution(std::string_view text);

// One point of the answer rate's course through the day.
struct AnswerRatePoint {
  Micros at{0};     // since the day's start, in [0, 24 h)
  double rate = 0;  // share of calls a person (or machine) answers then
};

// The simulated contact centre's parameters. The defaults are a realistic
// outbound campaign; the CLI exposes each as a flag. The defaults of the
// realism fields (the distributions, patience, answer_drift, amd_delay,
// two_second_rule, login_spread, breaks, days) keep the simulator's older
// behaviour, so results do not move unless a run asks for the realism.
struct SimConfig {
  uint64_t seed = 1;
  // Tells this run's contact ids from every other run's: "sim-RUN-000001".
  // Contact ids are kept in the store across runs and campaigns, so a dialer
  // gives each simulator a fresh one (new_sim_run_id()); empty: "sim-000001",
  // for tests that name ids.
  std::string run_id;

  // Agents "agent-0001"...; all log in Available when start() is called
  // (spread over `login_spread` when set).
  int agents = 10;
  // Each agent's shift from login; at its end the agent finishes the current
  // call and its after-call work, then goes Offline. 0 = unlimited.
  Micros shift{0};

  // Talk time and after-call work: drawn around these means (lognormal by
  // default, with these log-space sigmas; sigma 0 = always exactly the
  // mean). Lognormal rather than exponential for ACW because real wrap-up is
  // rarely near zero.
  Micros talk_mean = std::chrono::seconds(180);
  double talk_sigma = 0.5;
  Distribution talk_dist = Distribution::kLognormal;
  Micros acw_mean = std::chrono::seconds(30);
  double acw_sigma = 0.5;
  Distribution acw_dist = Distribution::kLognormal;

  // What the customer does. answer + busy + invalid <= 1; the rest ring out.
  double answer_rate = 0.35;
  double busy_rate = 0.10;
  double invalid_rate = 0.02;
  // Of the answered calls, the share picked up by an answering machine.
  double machine_rate = 0.0;
  // Share of start_call requests refused by the API as throttled
  // (kUnavailable, nothing placed).
  double failure_rate = 0.0;

  Micros ring_min = std::chrono::seconds(4);       // an answered call rings uniformly
  Micros ring_max = std::chrono::seconds(20);      // in [ring_min, ring_max]
  Micros ring_timeout = std::chrono::seconds(25);  // unanswered calls end here
  Micros busy_after = std::chrono::seconds(3);     // busy signal detected
  Micros invalid_after = std::chrono::seconds(1);  // network rejects the number
  // Machine detected after answer, when amd_delay is 0 (with AMD on, a
  // machine ends when the AMD does).
  Micros machine_after = std::chrono::seconds(3);

  // A person waiting in the queue longer than their patience hangs up
  // (kAbandoned CUSTOMER_DISCONNECT). Each answered call draws its own
  // patience from the call's seed: `patience` is the mean, `patience_dist`
  // the shape (`patience_sigma` for lognormal). The default, a fixed 2 s,
  // is a customer who hangs up on the silence at TCPA's limit.
  Micros patience = std::chrono::seconds(2);
  Distribution patience_dist = Distribution::kFixed;
  double patience_sigma = 0.5;

  // The answer rate through the day: the rate at times since the day's
  // start (the first day starts when start() runs, each next one 24 h
  // later, whether or not anyone is logged in), linear between points,
  // flat before the first and after the last; every day repeats it. Empty =
  // `answer_rate` all day. When set it replaces `answer_rate` (each point's
  // rate + busy + invalid <= 1).
  std::vector<AnswerRatePoint> answer_drift;

  // Answering-machine detection: every answered call (person or machine)
  // spends this long in AMD before a person is routed to the queue; a
  // machine ends (ANSWERING_MACHINE) when it is over. 0 = no AMD: a person
  // is routed at once and a machine ends after machine_after.
  Micros amd_delay{0};

  // TCPA's 2-second rule: a person put through to an agent more than
  // kAbandonWindow after being routed (after AMD) is abandoned, though the
  // agent talks to them. False: only hang-ups in the queue are abandons
  // (for comparing what the rule costs).
  bool two_second_rule = true;

  // Agents log in uniformly over this long from the day's start (each on
  // their own shift from their own login). 0 = all at once.
  Micros login_spread{0};
  // Breaks: every `break_every` of an agent's shift (counted from login) a
  // break falls due; the agent takes it when free (at once if available and
  // no call placed for them can still need them, else after the after-call
  // work in which it fell due): Offline for `break_length`, then Available.
  // 0 = no breaks. Both or neither.
  Micros break_every{0};
  Micros break_length{0};

  // Days simulated: with a shift, agents log in again 24 h after the
  // previous day's first login, `days` times in all (shift + login_spread
  // must then fit in the 24 h).
  int days = 1;

  // Wrap-up codes the agents give calls they talked on, with their shares
  // (each in [0, 1], summing to at most 1; the rest get none), e.g.
  // {{"SALE", 0.2}, {"CALLBACK", 0.1}}.
  std::vector<std::pair<std::string, double>> dispositions;

  // The answer rate for a call placed `since_start` after the first day's
  // start (answer_drift, repeating every 24 h; or answer_rate). For tests
  // and benchmarks that compare a pacer's forecast with the truth; the
  // simulator never tells a dialer.
  double answer_rate_at(Micros since_start) const;

  // kInvalidArgument naming the first field out of range.
  absl::Status validate() const;
};

// Parses the --answer-drift flag: "0h=0.25,4h=0.15,8h=30%" (a duration
// since the day's start = a share, or a percentage), in increasing
// time order. kInvalidArgument names the bad entry.
absl::StatusOr<std::vector<AnswerRatePoint>> parse_answer_drift(std::string_view text);

// Parses the --dispositions flag: "SALE=0.2,CALLBACK=0.1" (shares, or
// percentages "SALE=20%"). kInvalidArgument names the bad entry.
absl::StatusOr<std::vector<std::pair<std::string, double>>> parse_disposition_shares(
    std::string_view text);

// A run id unlikely ever to repeat (48 random bits, in hex).
std::string new_sim_run_id();

// What the simulator has done so far, for the `simulate` command.
struct SimStats {
  int64_t calls_requested = 0;  // start_call invocations
  int64_t calls_throttled = 0;  // refused as kUnavailable (failure_rate): not placed
  int64_t calls_refused = 0;    // refused as kInvalidArgument (malformed number)
  int64_t calls_repeated = 0;   // repeated client_token: same contact, not dialled again
  int64_t calls_placed = 0;     // contacts created (each dialled once)
  int64_t calls_ended = 0;
  int64_t answered = 0;   // picked up, by a person or an answering machine
  int64_t machines = 0;   // of `answered`, answering machines
  int64_t connected = 0;  // put through to an agent
  int64_t abandoned = 0;  // hung up in the queue
  // Put through to an agent more than kAbandonWindow after being routed:
  // kAbandoned under the 2-second rule, kConnected without it.
  int64_t late_connects = 0;
  int64_t breaks = 0;                               // breaks agents took
  int64_t logins = 0;                               // agent logins (agents x days)
  std::array<int64_t, kOutcomeCount> by_outcome{};  // indexed by Outcome

  // Agent time, summed over agents, exact up to the loop's now() (or up to
  // shutdown). available + busy + after_call_work == logged_in.
  Micros available_time{0};
  Micros busy_time{0};
  Micros after_call_work_time{0};
  Micros logged_in_time{0};
  // (busy + after-call work) / logged-in; 0 before anyone logs in.
  double agent_occupancy = 0;

  int64_t outcome(Outcome o) const { return by_outcome[static_cast<size_t>(o)]; }
};

// What a placed call produces (each event stamped with the loop's wall time;
// start_call's contact id always arrives before the contact's events):
// (An answered call first spends amd_delay in AMD; "answered" below is the
// moment a person is routed to the queue after it, which kCallConnected
// and kCallEnded carry as answered_at; machines and unanswered calls carry
// none.)
//  answered, agent free:  Busy, kCallConnected ... talk ... kCallEnded kConnected
//                         (CUSTOMER_DISCONNECT or AGENT_DISCONNECT, agent_id set),
//                         AfterCallWork ... Available (or Offline after the shift)
//                         (with a disposition drawn from `dispositions`)
//  answered, no agent:    kCallEnded kAbandoned CUSTOMER_DISCONNECT after the caller's
//                         patience (or kCallConnected, then kCallEnded kAbandoned, when an
//                         agent takes them more than kAbandonWindow after the answer)
//  answering machine:     kCallEnded kNoAnswer ANSWERING_MACHINE, amd_delay (or
//                         machine_after) after pick-up
//  busy / invalid number: kCallEnded kBusy TELECOM_BUSY / kInvalidNumber TELECOM_NUMBER_INVALID
//  no answer:             kCallEnded kNoAnswer TELECOM_UNANSWERED at ring_timeout
// A waiting call goes to the longest-idle agent the moment one is Available.
// The handler's ContactEvent is reused: copy it to keep it past the call.
class Simulator final : public ContactCenter {
 public:
  // REQUIRES: config.validate().ok(); `loop` outlives the simulator.
  Simulator(EventLoop& loop, SimConfig config);
  ~Simulator() override;
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Logs every agent in (Available events at the loop's current time, or
  // spread over login_spread) and starts their shifts; the first day
  // starts now. REQUIRES: called at most once.
  void start(EventHandler handler) override;
  void shutdown() override;
  void available_agents(std::function<void(absl::StatusOr<int>)> done) override;
  // A repeated client_token of a placed call gets the same contact id and is
  // not dialled again (Connect's ClientToken semantics). A number that is not
  // E.164 ("+" and 2 to 15 digits) is refused with kInvalidArgument.
  void start_call(const CallRequest& request,
                  std::function<void(absl::StatusOr<std::string>)> done) override;

  SimStats stats() const;
  const SimConfig& config() const { return config_; }

 private:
  struct Agent;
  struct Call;
  class TokenIndex;
  struct Fifo {  // an intrusive FIFO over indices (agents or call slots)
    uint32_t head;
    uint32_t tail;
  };

  // The start of day `day` (0-based): logs every agent in at once, or
  // schedules their logins over login_spread; schedules the next day.
  void start_day(int day);
  void log_in_all();  // everyone now, on one shift
  void log_in(uint32_t a);
  void start_shift(uint32_t a);  // login bookkeeping: breaks, flags
  void end_shift();              // everyone's (login_spread 0)
  void end_shift_of(uint32_t a);
  void on_break_due(uint32_t a);
  void start_break(uint32_t a);
  void on_break_end(uint32_t a);
  void schedule_next_break(uint32_t a);
  // Lets available agents whose shift is over, or whose break is due, leave
  // while the others still cover every call that may yet be answered (no
  // abandons from leaving).
  void release_leaving_agents();
  void on_call_timer(uint32_t slot);
  void on_answered(uint32_t slot);
  void on_routed(uint32_t slot);  // a person, after AMD: to an agent or the queue
  void dispatch();  // connects waiting calls to idle agents
  void on_talk_end(uint32_t slot);
  void on_acw_end(uint32_t a);
  void connect(uint32_t slot, uint32_t a);
  void end_call(uint32_t slot, Outcome outcome, std::string_view reason, uint32_t agent,
                std::string_view disposition = {});
  void make_available(uint32_t a);  // Available, at the back of idle_
  void take_from_idle(uint32_t a);
  void set_state(uint32_t a, AgentState s);
  void account();  // adds agent time up to now
  uint32_t alloc_call();
  void free_call(uint32_t slot);
  void schedule_call_timer(uint32_t slot, Micros after);
  void emit_agent(uint32_t a);
  // `answered`: when the person was routed, for answered calls.
  void emit(ContactEvent::Kind kind, uint32_t slot_number, std::string_view reason, Outcome outcome,
            uint32_t agent, std::string_view disposition = {},
            std::optional<MonoTime> answered = std::nullopt);
  std::string contact_id(uint32_t number) const;

  EventLoop& loop_;
  const SimConfig config_;
  EventHandler handler_;
  bool started_ = false;
  bool stopped_ = false;
  // Read by posted callbacks, which may run after the simulator is gone.
  std::shared_ptr<bool> alive_;

  std::vector<Agent> agents_;
  Fifo idle_;                // Available agents, longest idle first
  std::vector<Call> calls_;  // slots, reused through free_
  uint32_t free_;
  Fifo waiting_;                        // answered calls waiting for an agent, oldest first
  std::unique_ptr<TokenIndex> tokens_;  // client_token -> contact number
  uint32_t next_contact_ = 0;
  std::string contact_prefix_;  // "sim-" or "sim-RUN-"
  MonoTime first_day_start_{};  // when start() logged in (or began to)
  TimerId day_timer_ = 0;       // the next day's start
  TimerId shift_timer_ = 0;     // everyone's shift end (login_spread 0)
  // Available agents (in idle_) whose shift is over or whose break is due:
  // release_leaving_agents() has nothing to do while it is 0.
  int64_t leaving_idle_ = 0;
  // Calls placed and not yet connected or ended (ringing, at a machine, or
  // waiting in the queue): each may still need an agent.
  int64_t unanswered_in_flight_ = 0;

  // Agent-time accounting: totals up to last_accounted_, and how many agents
  // are in each logged-in state now (Available, Busy, AfterCallWork).
  MonoTime last_accounted_{};
  std::array<int64_t, 3> in_state_{};
  std::array<Micros, 3> time_in_state_{};

  SimStats stats_;
  ContactEvent scratch_;  // reused for every event: no allocation per event
};

}  // namespace pd
