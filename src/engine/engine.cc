#include "engine/engine.h"

#include <algorithm>

#include "core/advice.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "engine/pacing_report.h"
#include "io/object_io.h"
#include "io/results_export.h"
#include "io/status_json.h"

namespace pd {
namespace {

constexpr size_t kMaxEarlyEvents = 10000;
constexpr size_t kMaxUnserved = 100000;
// How often (loop time) the pacer gets a fresh reading of the abandon ledger:
// the day it counts in may have turned, and other processes add to it.
constexpr Micros kLedgerRefresh = std::chrono::minutes(1);

double seconds(Micros d) { return static_cast<double>(d.count()) / 1e6; }

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Where the results go when the campaign is done: `outputfile`, else the
// io-bucket (as the sample's SaveResults does), else nowhere.
std::string results_location(const CampaignConfig& config, const Campaign& campaign, WallTime now) {
  if (!config.output_file.empty()) return config.output_file;
  if (!config.io_bucket.empty()) {
    std::string stamp = format_iso8601(now);
    std::replace(stamp.begin(), stamp.end(), ':', '-');
    return cat("s3://", config.io_bucket, "/results/", campaign.name, "-", stamp, ".csv");
  }
  return {};
}

// How an attempt ends when no one can say what became of its call. A
// customer who answered and reached an agent was reached, whatever happened
// to the dialer afterwards: connected (with the reason saying its end was not
// seen), never dialled again. Anyone else is interrupted, and moves on by the
// rules.
AttemptEnd unobserved_end(bool answered, const std::string& agent_id, WallTime now) {
  const Outcome outcome =
      answered && !agent_id.empty() ? Outcome::kConnected : Outcome::kInterrupted;
  return {outcome, now, std::string(disconnect_reason::kDialerRestarted), ""};
}

}  // namespace

Engine::Engine(EventLoop& loop, StoreExecutor& store, ContactCenter& contact_center,
               Campaign campaign, CampaignConfig config, EngineOptions options)
    : loop_(loop),
      store_(store),
      cc_(contact_center),
      campaign_(std::move(campaign)),
      config_(std::move(config)),
      options_(std::move(options)),
      rng_(options_.seed) {
  if (!options_.lease_clock) options_.lease_clock = [] { return system_clock().wall_now(); };
  idle_accounted_at_ = loop_.now();
  auto pacing = PacingConfig::from(config_);
  if (pacing.ok()) {
    pacer_ = make_pacer(*pacing);
  } else {
    pacer_error_ = pacing.status();
    pacer_ = make_pacer(PacingConfig{});
  }
}

Engine::~Engine() {
  if (wake_timer_) loop_.cancel(*wake_timer_);
  if (heartbeat_timer_) loop_.cancel(*heartbeat_timer_);
  if (review_timer_) loop_.cancel(*review_timer_);
  for (TimerId t : store_retry_timers_) loop_.cancel(t);
  for (auto& [id, a] : attempts_) {
    if (a.retry_timer) loop_.cancel(*a.retry_timer);
  }
}

void Engine::start(std::function<void(absl::Status, CampaignState)> on_finished) {
  on_finished_ = std::move(on_finished);
  if (!pacer_error_.ok()) {
    finished_ = true;
    if (on_finished_) on_finished_(pacer_error_, campaign_.state);
    return;
  }
  const CampaignId id = campaign_.id;
  const std::string owner = options_.owner;
  const bool lease = options_.heartbeat.has_value();
  const WallTime lease_now = options_.lease_clock();
  const WallTime lease_until =
      lease_now + std::chrono::duration_cast<Millis>(options_.lease_duration);
  const WallTime now = loop_.wall_now();
  const RetryRules rules = config_.retry;
  const std::string name = campaign_.name;
  const bool describe = cc_.can_describe_calls();
  const WallTime recover_since =
      now - std::chrono::duration_cast<Millis>(options_.token_recovery_window);
  lease_until_ = lease_until;
  const bool takeover = options_.takeover;
  store_.submit([=, this](Store& s) -> StoreExecutor::Completion {
    int64_t recovered = 0;
    int64_t token_held = 0;
    bool resume_stopping = false;
    std::vector<AttemptRecord> adopted;
    std::optional<WallTime> next;
    absl::StatusOr<AbandonRates> ledger = absl::UnknownError("not read");
    absl::Status status = [&]() -> absl::Status {
      if (lease) {
        PD_ASSIGN_OR_RETURN(std::optional<int64_t> token,
                            s.acquire_lease(id, owner, lease_now, lease_until));
        if (!token) {
          return with_advice(
              absl::FailedPreconditionError(
                  cat("campaign '", name, "' is being run by another powerdialer process")),
              {Remedy::kStopCampaign, name, ""});
        }
        // Every write from here on carries the token: should this process
        // stall past its lease and another take over, it can write no more.
        s.fence(id, owner, *token);
        token_held = *token;
      }
      if (takeover) {
        // Read under the lease: a stop that settled the campaign since the
        // node decided to take it over is not undone.
        absl::StatusOr<Campaign> now_c = s.campaign(id);
        absl::Status refused;
        if (!now_c.ok()) {
          refused = now_c.status();
        } else if (now_c->state == CampaignState::kStopping) {
          resume_stopping = true;
        } else if (now_c->state != CampaignState::kRunning) {
          refused = absl::FailedPreconditionError(cat("campaign '", name, "' is ",
                                                      to_string(now_c->state),
                                                      " now: there is nothing to take over"));
        }
        if (!refused.ok()) {
          if (lease) (void)s.release_lease(id, owner);
          return refused;
        }
      }
      // Holding the lease, every open attempt belongs to a run that died. Its
      // call may or may not have been placed, so it is never dialled blindly
      // again. When the contact centre can say what became of a call, it is
      // taken over: by its contact id, or, when that never reached the store,
      // by re-sending the request with its ClientToken (idempotent: the same
      // contact, no second call). Any other ends as the dead run left it
      // (see unobserved_end) and the customer moves on by the rules.
      PD_ASSIGN_OR_RETURN(std::vector<AttemptRecord> open, s.open_attempts(id));
      for (const AttemptRecord& a : open) {
        if (describe && (!a.contact_id.empty() || a.started_at >= recover_since)) {
          adopted.push_back(a);
          continue;
        }
        PD_ASSIGN_OR_RETURN(
            Store::Finished ended,
            s.finish(a.id, unobserved_end(a.answered_at.has_value(), a.agent_id, now), rules));
        recovered += ended.ended_now ? 1 : 0;
      }
      if (!resume_stopping) {
        PD_RETURN_IF_ERROR(s.transition(id, {}, CampaignState::kRunning).status());
      }
      PD_ASSIGN_OR_RETURN(next, s.next_callable_at(id));
      ledger = s.abandon_rates(id, now);
      return absl::OkStatus();
    }();
    return [this, status, recovered, next, ledger, token_held, resume_stopping,
            adopted = std::move(adopted)]() mutable {
      stats_.recovered = recovered + static_cast<int64_t>(adopted.size());
      lease_token_ = token_held;
      if (ledger.ok()) pacer_->on_ledger(*ledger);
      ledger_read_at_ = loop_.now();
      if (status.ok()) note_next_callable(next);
      on_started(status, std::move(adopted));
      // A stop was asked of the dead dialer: its calls are resolved, and
      // nothing new is dialled.
      if (status.ok() && resume_stopping) request_stop();
    };
  });
}

void Engine::on_started(absl::Status status, std::vector<AttemptRecord> adopted) {
  if (!status.ok()) {
    finished_ = true;
    if (on_finished_) on_finished_(status, campaign_.state);
    return;
  }
  running_ = true;
  started_ = true;
  campaign_.state = CampaignState::kRunning;
  idle_accounted_at_ = loop_.now();
  cc_.start([this](const ContactEvent& e) { on_event(e); });
  for (const AttemptRecord& r : adopted) adopt(r);
  cc_.available_agents([this](absl::StatusOr<int> n) {
    if (n.ok() && agents_.empty()) reported_available_ = *n;
    pump();
  });
  if (options_.heartbeat) {
    heartbeat_timer_ = loop_.schedule_after(*options_.heartbeat, [this] { heartbeat(); });
  }
  pump();
  maybe_finish();
}

void Engine::adopt(const AttemptRecord& r) {
  Attempt& a = attempts_[r.id];
  a.id = r.id;
  a.request.phone = r.phone;
  a.request.client_token = r.client_token;
  a.request.attributes_json = r.attributes_json;
  a.request.cust_id = r.cust_id;
  a.contact_id = r.contact_id;
  a.connected = r.answered_at.has_value();
  a.agent_id = r.agent_id;
  a.paced.placed_at = r.started_at;
  if (r.answered_at) a.paced.connected_at = r.answered_at;
  ++(a.connected ? stats_.talking : stats_.dialing);
  if (a.contact_id.empty()) {
    // The same request again, with the same token: on_dialed() learns the
    // contact id and follows the call from there.
    a.recovering = true;
    a.maybe_placed = true;
    dial(a);
    return;
  }
  by_contact_[r.contact_id] = r.id;
  follow(r.id, r.contact_id);
}

void Engine::follow(AttemptId id, const std::string& contact_id) {
  cc_.describe_call(
      contact_id, [this, id, contact_id](absl::StatusOr<std::vector<ContactEvent>> events) {
        auto it = attempts_.find(id);
        if (finished_ || it == attempts_.end()) return;
        if (events.ok()) {
          for (const ContactEvent& e : *events) on_event(e);
          return;  // none: in progress, its events follow
        }
        // The contact centre cannot say: end it as the dead run left it.
        const AttemptEnd end =
            unobserved_end(it->second.connected, it->second.agent_id, loop_.wall_now());
        ContactEvent ended;
        ended.kind = ContactEvent::Kind::kCallEnded;
        ended.at = end.ended_at;
        ended.contact_id = contact_id;
        ended.outcome = end.outcome;
        ended.disconnect_reason = end.disconnect_reason;
        on_event(ended);
      });
}

void Engine::request_handover() {
  if (stopping_ || finished_) return;
  handing_over_ = true;
  begin_stopping();
}

void Engine::request_stop() {
  if (finished_) return;
  if (handing_over_) {
    // A stop wins over a hand-over: the campaign ends stopped, here.
    handing_over_ = false;
    record_stopping();
    return;
  }
  if (stopping_) return;
  record_stopping();
  begin_stopping();
}

void Engine::record_stopping() {
  const CampaignId cid = campaign_.id;
  store_.submit([cid](Store& s) -> StoreExecutor::Completion {
    // Record the request for other processes; harmless if `stop` did it.
    (void)s.transition(cid, {CampaignState::kRunning}, CampaignState::kStopping);
    return {};
  });
}

void Engine::begin_stopping() {
  account_idle();
  stopping_ = true;
  if (wake_timer_) {
    loop_.cancel(*wake_timer_);
    wake_timer_.reset();
  }
  schedule_review(std::nullopt);
  // Calls refused by the contact centre and waiting to be retried were never
  // placed: give their customers back untouched.
  std::vector<AttemptId> unplaced;
  for (auto& [id, a] : attempts_) {
    if (a.retry_timer && !a.maybe_placed) {
      loop_.cancel(*a.retry_timer);
      unplaced.push_back(id);
    }
  }
  for (AttemptId id : unplaced) {
    attempts_.erase(id);
    --stats_.dialing;
    release(id);
  }
  maybe_finish();
}

// --- events --------------------------------------------------------------------

void Engine::on_event(const ContactEvent& event) {
  if (finished_) return;
  account_idle();
  const double lag =
      std::max(0.0, std::chrono::duration<double>(loop_.wall_now() - event.at).count());
  ++stats_.events;
  stats_.event_lag_seconds_sum += lag;
  stats_.event_lag_seconds_last = lag;
  if (event.kind == ContactEvent::Kind::kAgentState) {
    on_agent_state(event);
  } else {
    Attempt* a = find_by_contact(event.contact_id);
    if (a == nullptr) {
      // Not (yet) ours. Keep it only while some call awaits its contact id.
      const bool awaiting = std::any_of(attempts_.begin(), attempts_.end(), [](const auto& kv) {
        return kv.second.contact_id.empty();
      });
      if (awaiting && early_events_.size() < kMaxEarlyEvents) {
        early_events_.emplace(event.contact_id, event);
      }
      return;
    }
    if (event.kind == ContactEvent::Kind::kCallConnected) {
      on_call_connected(*a, event);
    } else {
      on_call_ended(*a, event);
    }
  }
  pump();
  maybe_finish();
}

void Engine::on_agent_state(const ContactEvent& event) {
  auto [it, inserted] = agents_.try_emplace(event.agent_id, AgentState::kOffline);
  const AgentState before = it->second;
  if (before == event.agent_state) return;  // repeated event
  it->second = event.agent_state;
  reported_available_.reset();  // events are the truth from now on
  auto adjust = [this](AgentState s, int d) {
    switch (s) {
      case AgentState::kAvailable:
        stats_.agents_available += d;
        break;
      case AgentState::kBusy:
        stats_.agents_busy += d;
        break;
      case AgentState::kAfterCallWork:
        stats_.agents_after_call_work += d;
        break;
      case AgentState::kOffline:
        break;
    }
  };
  adjust(before, -1);
  adjust(event.agent_state, +1);
  pacer_->on_agent_state(event, before);
  // Agents logging in before the first claim are the start-up burst, not
  // the steady-state reaction the latency figure is about.
  if (event.agent_state == AgentState::kAvailable && first_claim_done_ &&
      unserved_since_.size() < kMaxUnserved) {
    unserved_since_.push_back(options_.real_clock->now());
  }
}

void Engine::on_call_connected(Attempt& attempt, const ContactEvent& event) {
  if (attempt.connected) return;
  attempt.connected = true;
  --stats_.dialing;
  ++stats_.talking;
  ++stats_.connects;
  // The agent is busy from now on, even if their own state event is late
  // (the two arrive on different streams): counting them as available
  // would place a call no one can take.
  if (!event.agent_id.empty()) {
    ContactEvent busy;
    busy.kind = ContactEvent::Kind::kAgentState;
    busy.agent_id = event.agent_id;
    busy.agent_state = AgentState::kBusy;
    on_agent_state(busy);
  }
  attempt.agent_id = event.agent_id;
  attempt.paced.connected_at = event.at;
  if (event.answered_at) attempt.paced.answered_at = event.answered_at;
  pacer_->on_call_connected(attempt.paced, event);
  // The answer must reach the store: after a crash it is what tells a
  // reached customer from one to call again. (An ended attempt stays ended.)
  record({attempt.id, attempt.contact_id, attempt.request.cust_id, event.at, event.agent_id});
}

void Engine::on_call_ended(Attempt& attempt, const ContactEvent& event) {
  if (attempt.connected) {
    --stats_.talking;
  } else {
    --stats_.dialing;
    // The agent this call was for is still free: the next call follows now.
    if (unserved_since_.size() < kMaxUnserved)
      unserved_since_.push_back(options_.real_clock->now());
  }
  if (event.outcome == Outcome::kAbandoned) ++stats_.abandons;
  if (event.answered_at && !attempt.paced.answered_at) attempt.paced.answered_at = event.answered_at;
  pacer_->on_call_ended(attempt.paced, event);
  end_attempt(attempt.id, {event.outcome, event.at, event.disconnect_reason, event.disposition});
}

Engine::Attempt* Engine::find_by_contact(const std::string& contact_id) {
  auto it = by_contact_.find(contact_id);
  if (it == by_contact_.end()) return nullptr;
  auto a = attempts_.find(it->second);
  return a == attempts_.end() ? nullptr : &a->second;
}

// --- dialing -------------------------------------------------------------------

int Engine::idle_agents() const { return snapshot().idle_agents(); }

PacerSnapshot Engine::snapshot() const {
  PacerSnapshot s;
  s.now = loop_.wall_now();
  s.agents_available = agents_.empty() ? reported_available_.value_or(0) : stats_.agents_available;
  s.agents_busy = stats_.agents_busy;
  s.agents_after_call_work = stats_.agents_after_call_work;
  s.dialing = stats_.dialing;
  s.talking = stats_.talking;
  return s;
}

void Engine::schedule_review(std::optional<WallTime> at) {
  if (at && review_at_ && *review_at_ <= *at && review_timer_) return;  // an earlier one is set
  if (review_timer_) {
    loop_.cancel(*review_timer_);
    review_timer_.reset();
    review_at_.reset();
  }
  if (!at || stopping_ || finished_) return;
  const auto delay =
      std::max(Micros{0}, std::chrono::duration_cast<Micros>(*at - loop_.wall_now()));
  review_at_ = at;
  review_timer_ = loop_.schedule_after(delay, [this] {
    review_timer_.reset();
    review_at_.reset();
    account_idle();
    pump();
  });
}

bool Engine::callable_now() const {
  if (!next_callable_known_) return true;
  return next_callable_ && *next_callable_ <= loop_.wall_now();
}

void Engine::account_idle() {
  // Called before every change of state, so the agents and the list were as
  // they are now for the whole interval; only callability may have begun
  // part-way (a retry delay running out).
  const MonoTime now = loop_.now();
  MonoTime from = idle_accounted_at_;
  idle_accounted_at_ = now;
  if (running_ && from < now) {
    const PacerSnapshot s = snapshot();
    stats_.line_seconds += (s.dialing + s.talking) * seconds(now - from);
    stats_.agent_seconds += s.logged_in() * seconds(now - from);
  }
  if (!running_ || stopping_) return;
  if (next_callable_known_) {
    if (!next_callable_) return;
    const auto until_callable =
        std::chrono::duration_cast<Micros>(*next_callable_ - loop_.wall_now());
    from = std::max(from, now + until_callable);
  }
  if (from < now) stats_.dialer_idle_seconds += idle_agents() * seconds(now - from);
}

void Engine::note_next_callable(std::optional<WallTime> next) {
  next_callable_ = next;
  next_callable_known_ = true;
  if (wake_timer_) {
    loop_.cancel(*wake_timer_);
    wake_timer_.reset();
  }
  if (next && *next > loop_.wall_now() && !stopping_) {
    // A retry delay runs out then: look again at that moment, not before.
    const auto delay = std::chrono::duration_cast<Micros>(*next - loop_.wall_now());
    wake_timer_ = loop_.schedule_after(delay, [this] {
      wake_timer_.reset();
      account_idle();
      pump();
    });
  }
}

void Engine::pump() {
  if (!running_ || stopping_ || finished_ || claim_outstanding_) return;
  if (!callable_now()) return;
  const PaceDecision decision = pacer_->decide(snapshot());
  schedule_review(decision.review_at);
  const int want = decision.calls;
  // Read whether or not anything is claimed: a pacer holding back (every
  // agent busy) still learns that the day turned, and of other processes'
  // calls. (The executor keeps order: the reading reaches the pacer before
  // the claim below completes.)
  if (loop_.now() - ledger_read_at_ >= kLedgerRefresh) refresh_ledger();
  if (want <= 0) return;
  claim_outstanding_ = true;
  const CampaignId id = campaign_.id;
  const WallTime now = loop_.wall_now();
  const std::string owner = options_.owner;
  store_.submit([=, this](Store& s) -> StoreExecutor::Completion {
    auto claims = s.claim(id, want, now, owner);
    // A full claim means more may be callable now; only a short one needs
    // to know when the next customer will be.
    std::optional<WallTime> next = now;
    if (claims.ok() && static_cast<int>(claims->size()) < want) {
      auto n = s.next_callable_at(id);
      if (n.ok()) next = *n;
    }
    return [this, claims = std::move(claims), next, want]() mutable {
      on_claimed(std::move(claims), next, want);
    };
  });
}

void Engine::refresh_ledger() {
  ledger_read_at_ = loop_.now();
  const CampaignId id = campaign_.id;
  const WallTime now = loop_.wall_now();
  store_.submit([this, id, now](Store& s) -> StoreExecutor::Completion {
    auto ledger = s.abandon_rates(id, now);
    if (!ledger.ok()) return {};  // read again at the next refresh
    return [this, ledger = *ledger] {
      if (!finished_) pacer_->on_ledger(ledger);
    };
  });
}

void Engine::on_claimed(absl::StatusOr<std::vector<Claim>> claims,
                        std::optional<WallTime> next_callable, int wanted) {
  claim_outstanding_ = false;
  first_claim_done_ = true;
  if (finished_) return;
  account_idle();
  if (!claims.ok()) {
    if (lost_lease(claims.status())) return;
    if (absl::IsUnavailable(claims.status())) {
      // The database is busy (another process writing): try again shortly.
      loop_.schedule_after(std::chrono::milliseconds(100), [this] { pump(); });
      return;
    }
    if (absl::IsFailedPrecondition(claims.status())) {
      // A rule forbids the campaign to dial (its abandon rate reached
      // max-abandon-rate): no new calls, and the calls in flight end and are
      // recorded as usual (they count in the abandon ledger) before it stops
      // with the reason.
      fail(claims.status());
      maybe_finish();
      return;
    }
    finish(claims.status());
    return;
  }
  note_next_callable(next_callable);
  if (static_cast<int>(claims->size()) < wanted) unserved_since_.clear();  // nobody left to call
  if (stopping_) {
    // Stopped while the claim was being recorded: these calls are not placed.
    for (const Claim& c : *claims) release(c.attempt_id);
    return;
  }
  for (Claim& c : *claims) {
    Attempt a;
    a.id = c.attempt_id;
    a.request = {std::move(c.phone), std::move(c.client_token), std::move(c.attributes_json),
                 std::move(c.cust_id)};
    auto [it, inserted] = attempts_.emplace(a.id, std::move(a));
    ++stats_.dialing;
    if (!unserved_since_.empty()) {
      stats_.dial_latency.record(options_.real_clock->now() - unserved_since_.front());
      unserved_since_.pop_front();
    }
    dial(it->second);
  }
  pump();
  maybe_finish();
}

void Engine::dial(Attempt& attempt) {
  attempt.retry_timer.reset();
  const AttemptId id = attempt.id;
  cc_.start_call(attempt.request, [this, id](absl::StatusOr<std::string> contact) {
    on_dialed(id, std::move(contact));
  });
}

void Engine::on_dialed(AttemptId id, absl::StatusOr<std::string> contact) {
  auto it = attempts_.find(id);
  if (it == attempts_.end() || finished_) return;
  account_idle();
  Attempt& a = it->second;
  if (contact.ok()) {
    const bool recovered = a.recovering;
    a.recovering = false;
    if (!recovered) {
      ++stats_.dials;
      a.paced.placed_at = loop_.wall_now();
      pacer_->on_call_placed(a.paced.placed_at);
    }
    a.contact_id = *contact;
    by_contact_[a.contact_id] = id;
    const std::string contact_id = a.contact_id;
    // Without its contact id in the store, a call cannot be taken over after
    // a crash: if it cannot be recorded, the campaign stops rather than dial
    // on blind.
    record({id, contact_id, a.request.cust_id, std::nullopt, ""});
    if (recovered) follow(id, contact_id);
    // Events that beat the API response.
    auto [first, last] = early_events_.equal_range(contact_id);
    std::vector<ContactEvent> early;
    for (auto e = first; e != last; ++e) early.push_back(e->second);
    early_events_.erase(contact_id);
    for (const ContactEvent& e : early) on_event(e);
    return;
  }
  if (absl::IsUnavailable(contact.status()) || absl::IsResourceExhausted(contact.status())) {
    // Throttled (not placed) or unanswered (maybe placed): try again later
    // with the same client token, so a request that did reach the contact
    // centre is not placed twice. Only a certainly unplaced claim is handed
    // back when stopping; a maybe-placed one is retried until it is certain.
    ++stats_.throttled;
    pacer_->on_throttled(loop_.wall_now());
    if (absl::IsUnavailable(contact.status())) a.maybe_placed = true;
    if (stopping_ && !a.maybe_placed) {
      attempts_.erase(it);
      --stats_.dialing;
      release(id);
      return;
    }
    a.backoff = std::min(options_.throttle_backoff_max,
                         a.backoff.count() == 0 ? options_.throttle_backoff : a.backoff * 2);
    const auto half = a.backoff.count() / 2;
    const Micros delay{half +
                       static_cast<int64_t>(splitmix64(rng_) % static_cast<uint64_t>(half + 1))};
    a.retry_timer = loop_.schedule_after(delay, [this, id] {
      auto retry = attempts_.find(id);
      if (retry != attempts_.end()) dial(retry->second);
    });
    return;
  }
  const absl::StatusCode code = contact.status().code();
  const bool refuses_every_call =
      code == absl::StatusCode::kPermissionDenied || code == absl::StatusCode::kUnauthenticated ||
      code == absl::StatusCode::kNotFound || code == absl::StatusCode::kFailedPrecondition;
  if (a.recovering) {
    // A dead run's request, refused now: whether the first one placed the
    // call is not known, so it is neither handed back nor dialled again.
    --(a.connected ? stats_.talking : stats_.dialing);
    end_attempt(id, unobserved_end(a.connected, a.agent_id, loop_.wall_now()));
    if (refuses_every_call) {
      fail(absl::Status(code, cat("the contact centre refused a call, so the campaign stopped: ",
                                  sv(contact.status().message()))));
    }
    return;
  }
  if (refuses_every_call) {
    // The contact centre refuses every call (wrong instance, flow or queue;
    // no permission): the call was not placed, and the next would not be
    // either. Give the customer back and stop the campaign with the reason,
    // rather than burn the list.
    attempts_.erase(it);
    --stats_.dialing;
    release(id);
    if (fatal_.ok()) {
      fatal_ = absl::Status(code, cat("the contact centre refused a call, so the campaign "
                                      "stopped: ",
                                      sv(contact.status().message())));
    }
    request_stop();
    return;
  }
  // Refused for good (bad number, bad request): the attempt ends here.
  --stats_.dialing;
  if (unserved_since_.size() < kMaxUnserved) unserved_since_.push_back(options_.real_clock->now());
  const Outcome outcome =
      absl::IsInvalidArgument(contact.status()) ? Outcome::kInvalidNumber : Outcome::kFailed;
  end_attempt(id, {outcome, loop_.wall_now(), std::string(sv(contact.status().message())), ""});
  pump();
}

void Engine::release(AttemptId id) {
  ++pending_store_ops_;
  store_.submit([this, id](Store& s) -> StoreExecutor::Completion {
    absl::Status released = s.release_claim(id);
    return [this, id, released] {
      --pending_store_ops_;
      if (lost_lease(released)) return;
      if (lost_store(released, cat("cannot give back the unplaced call of attempt ", id))) return;
      // kNotFound: already ended or gone, nothing to give back. Otherwise
      // the claim stays open, and a restart ends it as interrupted.
      if (!released.ok() && !absl::IsNotFound(released)) {
        fail(absl::Status(released.code(), cat("cannot give back the unplaced call of attempt ", id,
                                               ": ", sv(released.message()))));
      }
      maybe_finish();
    };
  });
}

void Engine::record(CallFact fact, int tried) {
  // No pending-op count: the executor keeps order, so the campaign's own
  // last write (finish()) follows this one. A failure reported after the
  // campaign finished has nothing left to stop.
  store_.submit([this, fact = std::move(fact), tried](Store& s) -> StoreExecutor::Completion {
    const absl::Status status =
        fact.answered_at ? s.mark_connected(fact.attempt, *fact.answered_at, fact.agent_id)
                         : s.set_contact_id(fact.attempt, fact.contact_id);
    if (status.ok()) return {};
    // (Copied, not moved: the work may run again if its batch fails.)
    return [this, fact, tried, status] {
      if (finished_ || lost_lease(status)) return;
      if (retry_later(status, tried, [this, fact, tried] { record(fact, tried + 1); })) return;
      const std::string what = fact.answered_at
                                   ? cat("cannot record that the call to customer ", fact.cust_id,
                                         " (contact ", fact.contact_id, ") was answered")
                                   : cat("cannot record contact id ", fact.contact_id,
                                         " of the call to customer ", fact.cust_id);
      if (lost_store(status, what)) return;
      fail(absl::Status(status.code(),
                        cat(what, " (", sv(status.message()),
                            "), so the campaign stopped rather than place calls it could not "
                            "take over after a crash")));
      maybe_finish();
    };
  });
}

bool Engine::retry_later(const absl::Status& status, int tried, std::function<void()> again) {
  if (!absl::IsUnavailable(status) || tried + 1 >= options_.store_write_tries) return false;
  // Busy (another process writing): again shortly, holding the finish.
  ++pending_store_ops_;
  const Micros delay = std::chrono::milliseconds(100) * (int64_t{1} << std::min(tried, 10));
  auto timer = std::make_shared<TimerId>();
  *timer = loop_.schedule_after(delay, [this, timer, again = std::move(again)] {
    store_retry_timers_.erase(*timer);
    --pending_store_ops_;
    again();
  });
  store_retry_timers_.insert(*timer);
  return true;
}

bool Engine::lost_lease(const absl::Status& error) {
  if (!absl::IsAborted(error) || finished_) return false;
  let_go(error);
  return true;
}

bool Engine::lost_store(const absl::Status& error, std::string_view what) {
  if (!absl::IsUnavailable(error) || finished_) return false;
  let_go(absl::UnavailableError(
      cat(what, " (", sv(error.message()),
          "): this dialer let go of the campaign as a crash would; it stays running, its calls "
          "in flight open, and is taken over where it left off once the store answers again "
          "(by a serve node, or the next `powerdialer run`)")));
  return true;
}

void Engine::let_go(absl::Status error) {
  if (fatal_.ok()) fatal_ = std::move(error);
  for (auto& [id, a] : attempts_) {
    if (a.retry_timer) loop_.cancel(*a.retry_timer);
  }
  attempts_.clear();
  for (TimerId t : store_retry_timers_) loop_.cancel(t);
  store_retry_timers_.clear();
  by_contact_.clear();
  early_events_.clear();
  stats_.dialing = stats_.talking = 0;
  handing_over_ = false;
  letting_go_ = true;
  stopping_ = true;
  finish(fatal_);
}

void Engine::fail(absl::Status error) {
  if (fatal_.ok()) fatal_ = std::move(error);
  request_stop();
}

void Engine::end_attempt(AttemptId id, AttemptEnd end, int tried) {
  auto it = attempts_.find(id);
  if (it != attempts_.end()) {
    if (!it->second.contact_id.empty()) by_contact_.erase(it->second.contact_id);
    attempts_.erase(it);
  }
  ++pending_store_ops_;
  const RetryRules rules = config_.retry;
  store_.submit([=, this](Store& s) -> StoreExecutor::Completion {
    absl::StatusOr<Store::Finished> done = s.finish(id, end, rules);
    return [this, done, id, end, tried] {
      --pending_store_ops_;
      if (finished_) return;
      account_idle();
      if (!done.ok()) {
        if (lost_lease(done.status())) return;
        // Ending twice changes nothing, so a retry is safe. If the end cannot
        // be recorded, the attempt stays open and a restart takes it over.
        if (retry_later(done.status(), tried,
                        [this, id, end, tried] { end_attempt(id, end, tried + 1); })) {
          return;
        }
        if (lost_store(done.status(), cat("cannot record the end of attempt ", id))) return;
        fail(absl::Status(done.status().code(),
                          cat("cannot record the end of attempt ", id, " (",
                              sv(done.status().message()), "), so the campaign stopped")));
        maybe_finish();
        return;
      }
      // The customer is callable again at callable_at; everyone else is as
      // the last claim left them, so the earliest callable time is known
      // without asking the store.
      if (done->callable_at &&
          (!next_callable_known_ || !next_callable_ || *done->callable_at < *next_callable_)) {
        note_next_callable(done->callable_at);
      }
      pump();
      maybe_finish();
    };
  });
}

// --- lifecycle -----------------------------------------------------------------

void Engine::heartbeat() {
  heartbeat_timer_.reset();
  if (finished_) return;
  const CampaignId id = campaign_.id;
  const std::string owner = options_.owner;
  const WallTime now = options_.lease_clock();
  const WallTime until = now + std::chrono::duration_cast<Millis>(options_.lease_duration);
  // The pacer's live figures, for `status` in another process (which has no
  // Engine to ask): written with the lease, so they are as fresh as it.
  const std::string pacing = live_pacing_json(live_pacing(pacer_->status(), now)).dump();
  store_.submit([=, this](Store& s) -> StoreExecutor::Completion {
    auto c = s.campaign(id);
    // A campaign stopped elsewhere is no longer ours: while this dialer was
    // paused past its lease it was taken for dead, and a load or stop moved
    // the campaign on and dropped the lease. Renewing it now would dial on.
    const bool ours =
        !c.ok() || c->state == CampaignState::kRunning || c->state == CampaignState::kStopping;
    absl::StatusOr<bool> held = false;
    if (ours) {
      auto token = s.acquire_lease(id, owner, now, until);
      held = token.ok() ? absl::StatusOr<bool>(token->has_value()) : token.status();
    }
    // Only the lease holder speaks for the campaign. A failed write loses
    // one reading of a display figure; the next heartbeat writes another.
    if (held.ok() && *held) (void)s.set_setting(pacing_setting_key(id), pacing);
    return [this, held, c, ours, now, until] {
      if (finished_) return;
      if (held.ok() && *held) lease_until_ = until;
      if (held.ok() && !*held && ours) {
        // Another dialer took the campaign over (this one was paused or cut
        // off past its lease) and with it every call in flight.
        lost_lease(lost_lease_error(campaign_.id, options_.owner, lease_token_));
        return;
      }
      if (held.ok() && !*held) {
        // Stopped elsewhere: dial nothing more.
        request_stop();
      } else if (!held.ok() && now >= lease_until_) {
        // Our lease lapsed: another dialer may take the campaign over.
        if (lost_store(held.status(), "cannot renew the campaign's lease")) return;
        fail(absl::Status(held.status().code(),
                          cat("cannot renew the campaign's lease (", sv(held.status().message()),
                              "), so the campaign stopped before another dialer could take it "
                              "over")));
      } else if (c.ok() && c->state == CampaignState::kStopping) {
        request_stop();
      }
      if (!finished_ && options_.heartbeat) {
        heartbeat_timer_ = loop_.schedule_after(*options_.heartbeat, [this] { heartbeat(); });
      }
    };
  });
}

void Engine::maybe_finish() {
  if (finished_ || !running_ || claim_outstanding_ || pending_store_ops_ > 0 || !attempts_.empty())
    return;
  if (stopping_) {
    finish(fatal_);
  } else if (next_callable_known_ && !next_callable_) {
    finish(absl::OkStatus());
  }
}

void Engine::finish(absl::Status status) {
  if (finished_) return;
  account_idle();
  finished_ = true;
  running_ = false;
  if (wake_timer_) loop_.cancel(*wake_timer_);
  if (heartbeat_timer_) loop_.cancel(*heartbeat_timer_);
  if (review_timer_) loop_.cancel(*review_timer_);
  wake_timer_.reset();
  heartbeat_timer_.reset();
  review_timer_.reset();
  cc_.shutdown();
  // A hand-over leaves the campaign running, for another node; so does
  // letting go of it (let_go), its state being another dialer's business.
  const bool handover = (handing_over_ && status.ok()) || letting_go_;
  const CampaignState final_state = handover ? CampaignState::kRunning
                                    : !status.ok() || stopping_ ? CampaignState::kStopped
                                                                : CampaignState::kDone;
  const CampaignId id = campaign_.id;
  const Campaign campaign = campaign_;
  const std::string owner = options_.owner;
  const bool lease = options_.heartbeat.has_value();
  const std::string output = final_state == CampaignState::kDone
                                 ? results_location(config_, campaign_, loop_.wall_now())
                                 : std::string();
  store_.submit([=, this](Store& s) -> StoreExecutor::Completion {
    absl::Status result = status;
    if (!handover) {
      auto moved = s.transition(id, {}, final_state);
      if (result.ok() && !moved.ok()) result = moved.status();
    }
    if (result.ok() && !output.empty()) {
      ObjectIoOptions io = object_io_options(config_);
      io.files_folder = options_.files_folder;
      auto out = open_output(output, io);
      absl::Status exported = out.status();
      if (out.ok()) {
        auto rows = export_results(s, id, (*out)->stream());
        exported = rows.ok() ? (*out)->commit() : rows.status();
      }
      if (!exported.ok()) result = exported;
    }
    if (lease) (void)s.release_lease(id, owner);
    return [this, result, final_state] {
      campaign_.state = final_state;
      if (on_finished_) on_finished_(result, final_state);
    };
  });
}

}  // namespace pd
