// The Engine: the power dialer itself (the sample's DialerControl and
// DialerThread state machines in one event-driven object). It reacts to
// contact-centre events and timers on one EventLoop: when an agent is
// available with no call placed for them, it claims the next callable
// customer (durably, through the StoreExecutor) and places the call at once.
// How many calls are placed at a time is its Pacer's decision
// (engine/pacer.h): power mode, the default, places exactly one outstanding
// dial per available agent.
//
// It never sleeps or polls for work. The one periodic timer is the heartbeat
// of real-time runs, which renews the campaign lease and notices a `stop`
// requested by another process (the store is the only channel to it).
//
// Thread-safety: everything runs on the loop thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/config_keys.h"
#include "core/event_loop.h"
#include "core/histogram.h"
#include "engine/pacer.h"
#include "store/store.h"
#include "store/store_executor.h"
#include "telephony/contact_center.h"

namespace pd {

struct EngineOptions {
  std::string owner = "engine";  // lease holder and attempt owner
  // Real-time runs: renew the lease and watch for `stop` this often (in loop
  // time, so an accelerated run scales it).
  std::optional<Micros> heartbeat;
  Micros lease_duration{std::chrono::seconds(15)};  // real time
  // Backoff for a throttled StartOutboundVoiceContact (loop time): doubles
  // from `throttle_backoff` up to `throttle_backoff_max`, with jitter.
  Micros throttle_backoff{std::chrono::milliseconds(500)};
  Micros throttle_backoff_max{std::chrono::seconds(30)};
  uint64_t seed = 1;  // for jitter
  // Wall clock for leases, shared with other processes (real time even
  // when the loop runs on virtual time).
  std::function<WallTime()> lease_clock;
  // Real time for the dial-latency measurement.
  Clock* real_clock = &system_clock();
  // A dead run's request that never got its contact id into the store is
  // re-sent with its ClientToken (the contact centre answers with the same
  // contact and places no second call) when it was claimed this recently
  // (loop wall time) and the contact centre can describe calls. Older ones
  // are not: had the request never reached the contact centre, the re-sent
  // one would place the call now, long after it was claimed.
  Micros token_recovery_window{std::chrono::minutes(15)};
  // A store write the campaign cannot do without (a contact id, an answer)
  // that finds the store busy is tried this many times, backing off from
  // 100 ms, before the campaign stops.
  int store_write_tries = 6;
  // A takeover (serve nodes): the campaign is started only if it is still
  // running or stopping (its dialer died or handed it over); one stopping
  // is not moved back to running, and stops once the calls its dialer
  // left in flight are resolved.
  bool takeover = false;
  // Non-empty (serve): a local results file is written only inside this
  // folder (ObjectIoOptions::files_folder).
  std::string files_folder;
};

struct EngineStats {
  int64_t dials = 0;
  int64_t connects = 0;
  int64_t abandons = 0;
  int64_t throttled = 0;
  int64_t recovered = 0;  // attempts left open by a dead run, resolved at start
  int agents_available = 0;
  int agents_busy = 0;
  int agents_after_call_work = 0;
  int dialing = 0;  // placed, not yet connected or ended
  int talking = 0;  // connected to an agent
  // Agent-seconds in which an agent was available with nothing dialled for
  // them while callable customers remained.
  double dialer_idle_seconds = 0;
  // Calls in flight (ringing + talking) and logged-in agents, integrated
  // over the run's time: their ratio is the mean lines per agent.
  double line_seconds = 0;
  double agent_seconds = 0;
  // Real time from an agent becoming available to the dial request issued
  // (agents already available when the campaign starts are not counted).
  LatencyHistogram dial_latency;
  // Contact-centre events handled, and how late (loop wall time at handling
  // minus the event's own time; 0 when the event claims to be from the
  // future): the event stream's lag, for monitoring.
  int64_t events = 0;
  double event_lag_seconds_sum = 0;
  double event_lag_seconds_last = 0;
};

class Engine {
 public:
  Engine(EventLoop& loop, StoreExecutor& store, ContactCenter& contact_center, Campaign campaign,
         CampaignConfig config, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the campaign. `on_finished` runs on the loop once the engine has
  // stopped: OK with kDone (list exhausted) or kStopped, or the error that
  // stopped it.
  void start(std::function<void(absl::Status, CampaignState)> on_finished);
  // Graceful stop: nothing new is dialled; calls in flight finish and are
  // recorded, then the campaign is `stopped`.
  void request_stop();
  // Hand-over (a draining node): nothing new is dialled; calls in flight
  // finish and are recorded, then the lease is given up and the campaign
  // left running, for another node to take over at once. `on_finished` gets
  // OK with kRunning. A stop requested meanwhile (request_stop, or `stop`
  // through the store) wins: the campaign is then stopped.
  void request_handover();

  const EngineStats& stats() const { return stats_; }
  // The pacing mode and what it aims for now (status, metrics).
  PacerStatus pacing() const { return pacer_->status(); }
  bool finished() const { return finished_; }
  // True once start() succeeded (lease taken, calls left in flight resolved).
  bool started() const { return started_; }

 private:
  struct Attempt {
    AttemptId id = 0;
    CallRequest request;
    std::string contact_id;
    bool connected = false;
    // The contact centre gave no answer once (timeout, 5xx): the call may
    // have been placed, so the claim is never handed back, only retried with
    // its token until the answer is certain.
    bool maybe_placed = false;
    // A dead run's request, re-sent with its token to learn its contact id:
    // never handed back, and taken over once the id is known.
    bool recovering = false;
    std::string agent_id;  // who took the call, when known
    PacedCall paced;       // what the pacer learns from this call
    Micros backoff{0};
    std::optional<TimerId> retry_timer;
  };

  void on_started(absl::Status status, std::vector<AttemptRecord> adopted);
  // Takes over a call a dead run placed, and asks what became of it (first
  // learning its contact id through its ClientToken, when the store lacks it).
  void adopt(const AttemptRecord& record);
  void follow(AttemptId id, const std::string& contact_id);
  // A fact about a placed call that a takeover after a crash depends on.
  struct CallFact {
    AttemptId attempt = 0;
    std::string contact_id;
    std::string cust_id;
    std::optional<WallTime> answered_at;  // set: it was answered by agent_id
    std::string agent_id;
  };
  // Records `fact`: retried while the store is busy; any other error, or a
  // store busy for too long, stops the campaign with the reason. Costs no
  // loop work when the write succeeds (the common case, at every call).
  void record(CallFact fact, int tried = 0);
  // When `status` says the store was busy and tries remain, runs `again`
  // after a backoff (holding the finish meanwhile) and returns true.
  bool retry_later(const absl::Status& status, int tried, std::function<void()> again);
  // What request_stop() and request_handover() share: no new calls, and
  // claims that were never placed are given back.
  void begin_stopping();
  // Records `stopping` in the store, for other processes.
  void record_stopping();
  // Stops the campaign gracefully with `error` as the reason.
  void fail(absl::Status error);
  // Another dialer holds the campaign's lease now (a fenced write was
  // refused, or the heartbeat found it taken): it has taken over every
  // call in flight, so this engine lets go of them and finishes at once
  // with `error`. True when `error` says so (kAborted).
  bool lost_lease(const absl::Status& error);
  // The store cannot be reached (kUnavailable once the retries are spent;
  // `what` names the write that failed): this engine can no longer record
  // what its calls do, so it lets go of the campaign as a crash would. The
  // campaign stays running in the store, its calls in flight open, for the
  // dialer that takes it over once the store answers again (a serve node,
  // this one included, or the next `run`): marking it stopped would keep
  // every node from taking it back. True when `error` says so.
  bool lost_store(const absl::Status& error, std::string_view what);
  // What lost_lease() and lost_store() share: forgets every call in
  // flight and finishes at once with `error`, leaving the campaign's state
  // in the store as it is.
  void let_go(absl::Status error);
  void on_event(const ContactEvent& event);
  void on_agent_state(const ContactEvent& event);
  void on_call_connected(Attempt& attempt, const ContactEvent& event);
  void on_call_ended(Attempt& attempt, const ContactEvent& event);
  void pump();
  PacerSnapshot snapshot() const;
  void schedule_review(std::optional<WallTime> at);
  // Reads the abandon ledger for the pacer (when no claim does it).
  void refresh_ledger();
  void on_claimed(absl::StatusOr<std::vector<Claim>> claims, std::optional<WallTime> next_callable,
                  int wanted);
  void dial(Attempt& attempt);
  void on_dialed(AttemptId id, absl::StatusOr<std::string> contact_id);
  void end_attempt(AttemptId id, AttemptEnd end, int tried = 0);
  // Gives back a claim whose call was never placed.
  void release(AttemptId id);
  void note_next_callable(std::optional<WallTime> next);
  void heartbeat();
  void maybe_finish();
  void finish(absl::Status status);
  void account_idle();
  int idle_agents() const;
  bool callable_now() const;
  Attempt* find_by_contact(const std::string& contact_id);

  EventLoop& loop_;
  StoreExecutor& store_;
  ContactCenter& cc_;
  Campaign campaign_;
  CampaignConfig config_;
  EngineOptions options_;
  std::unique_ptr<Pacer> pacer_;
  absl::Status pacer_error_;  // the pacing configuration is unusable: start() fails
  std::optional<TimerId> review_timer_;
  std::optional<WallTime> review_at_;
  MonoTime ledger_read_at_{};  // the abandon ledger is read again a minute after
  std::function<void(absl::Status, CampaignState)> on_finished_;
  absl::Status fatal_;  // why the campaign must stop (set once), reported at finish

  std::unordered_map<std::string, AgentState> agents_;
  std::optional<int> reported_available_;  // from available_agents(), until events arrive
  std::unordered_map<AttemptId, Attempt> attempts_;
  std::unordered_map<std::string, AttemptId> by_contact_;
  // Events for contact ids not yet returned by start_call (streams can be
  // faster than the API response).
  std::unordered_multimap<std::string, ContactEvent> early_events_;

  bool running_ = false;
  bool started_ = false;
  bool stopping_ = false;
  bool handing_over_ = false;  // stopping_ for a hand-over (request_handover)
  bool letting_go_ = false;    // let_go(): finish without touching the campaign's state
  bool finished_ = false;
  bool claim_outstanding_ = false;
  bool first_claim_done_ = false;
  int pending_store_ops_ = 0;              // finishes/releases not yet completed
  std::optional<WallTime> next_callable_;  // last known; nullopt = no pending customer
  bool next_callable_known_ = false;
  std::optional<TimerId> wake_timer_;
  std::optional<TimerId> heartbeat_timer_;
  std::unordered_set<TimerId> store_retry_timers_;
  WallTime lease_until_{};  // the lease is ours until then (lease clock)
  int64_t lease_token_ = 0;  // its fencing token
  // Real times at which an agent became free with nothing dialled for them,
  // oldest first; each dial takes one (the dial-latency measurement).
  std::deque<MonoTime> unserved_since_;
  MonoTime idle_accounted_at_{};
  uint64_t rng_;
  EngineStats stats_;
};

}  // namespace pd
