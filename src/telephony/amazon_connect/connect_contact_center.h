// The Amazon Connect backend: a ContactCenter that places calls with
// StartOutboundVoiceContact, counts available agents with
// GetCurrentMetricData and then from the agent event stream, and learns how
// calls ended from the contact trace record (CTR) stream, with DescribeContact
// as the fallback for a call whose record never arrives.
//
// Records can be duplicated, late and out of order. So:
//  - an agent event older than the last one applied for that agent is
//    dropped (EventTimestamp order), and a repeated state changes nothing;
//  - a contact's end is applied once; later copies are dropped;
//  - events for a contact id not yet returned by StartOutboundVoiceContact
//    (the stream can beat the API answer) are held, while a request is
//    unanswered, and replayed when the id arrives; records of other contacts
//    (inbound calls, other campaigns) are dropped or age out unseen;
//  - a call with no end after `reconcile_after` is asked about with
//    DescribeContact, then every `reconcile_every` until it ends.
// Stream checkpoints are handed to `save_checkpoint` on the loop after the
// batch's events were delivered, so the engine's store work for them is
// queued before the checkpoint (the StoreExecutor keeps order): a crash
// replays, never skips.
//
// Threading: the ContactCenter methods and every callback run on the loop.
// AWS calls run on a few worker threads of this object; the Kinesis consumer
// runs on its own thread; both post() results to the loop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "aws/aws_client.h"
#include "aws/kinesis_consumer.h"
#include "core/event_loop.h"
#include "telephony/amazon_connect/connect_events.h"
#include "telephony/contact_center.h"

namespace pd::connect {

struct ConnectOptions {
  std::string instance_id;
  std::string contact_flow_id;
  std::string queue_id;
  std::string source_phone;                 // empty: not sent
  std::string traffic_type;                 // empty: not sent
  std::string answering_machine_detection;  // off, on, on-await-prompt
  std::optional<std::chrono::seconds> ring_timeout;
  // The contact attribute the agent's wrap-up code is read from (CTRs).
  std::string disposition_attribute = "disposition";

  // Streams to read (agent events and CTRs; one stream may carry both).
  std::vector<std::string> streams;
  aws::IteratorStart start;  // for shards without a checkpoint
  // Consumer thread: where (stream, shard) was left.
  std::function<std::optional<std::string>(const std::string&, const std::string&)>
      load_checkpoint;
  // Loop thread: persist (stream, shard, sequence number).
  std::function<void(const std::string&, const std::string&, const std::string&)> save_checkpoint;
  // Optional, any thread: problems worth a log line.
  std::function<void(const absl::Status&)> on_error;

  Micros reconcile_after{std::chrono::seconds(90)};
  Micros reconcile_every{std::chrono::seconds(60)};
  Micros early_event_ttl{std::chrono::minutes(5)};
  // Agents are reconciled this often: one whose events stopped (Connect
  // sends a HEART_BEAT every 120 s) for `agent_silence` is taken as gone,
  // and GetCurrentMetricData's count is compared with the stream's.
  Micros agent_check_every{std::chrono::seconds(60)};
  std::chrono::milliseconds agent_silence{std::chrono::seconds(300)};
  int workers = 4;
};

// Counters for metrics and tests (loop thread).
struct ConnectStats {
  int64_t records = 0;
  int64_t agent_events = 0;
  int64_t contact_records = 0;
  int64_t stale_agent_events = 0;    // older than the agent's last event
  int64_t duplicate_ends = 0;        // a contact's end seen again
  int64_t unknown_contacts = 0;      // records of contacts that were not ours
  int64_t bad_records = 0;           // unparseable
  int64_t reconciled = 0;            // ends learned from DescribeContact
  int64_t dial_throttled = 0;
  int64_t silent_agents = 0;         // taken as gone after their events stopped
  int64_t agent_count_mismatches = 0;  // the metric and the stream disagreed twice running
  int agents_reported_available = -1;  // GetCurrentMetricData's last count (-1: none yet)
};

class ConnectContactCenter final : public ContactCenter {
 public:
  // `connect` is an AwsClient for service "connect" with the token buckets
  // set; `kinesis` reads the streams.
  ConnectContactCenter(EventLoop& loop, ConnectOptions options,
                       std::shared_ptr<aws::AwsClient> connect,
                       std::shared_ptr<aws::KinesisApi> kinesis);
  ~ConnectContactCenter() override;

  // Starts reading the streams (events are held until start()). Fails when a
  // stream is missing or unreadable, so `run` can refuse before dialling.
  absl::Status open();

  void start(EventHandler handler) override;
  void shutdown() override;
  void available_agents(std::function<void(absl::StatusOr<int>)> done) override;
  void start_call(const CallRequest& request,
                  std::function<void(absl::StatusOr<std::string>)> done) override;
  bool can_describe_calls() const override { return true; }
  void describe_call(const std::string& contact_id,
                     std::function<void(absl::StatusOr<std::vector<ContactEvent>>)> done) override;

  const ConnectStats& stats() const { return stats_; }
  const aws::KinesisConsumerStats* consumer_stats() const;

  // The StartOutboundVoiceContact body for `request` (for tests and docs).
  nlohmann::json start_body(const CallRequest& request) const;

 private:
  struct Contact {
    WallTime placed_at{};
    bool connected = false;
    std::optional<TimerId> reconcile_timer;
  };
  struct HeldEvent {
    MonoTime until;
    ContactFacts facts;        // a CTR, when is_record
    std::string agent_id;      // a CONNECTED contact on this agent otherwise
    WallTime at{};
    bool is_record = false;
  };

  void run_async(std::function<std::function<void()>()> work);
  // DescribeContact (worker thread).
  absl::StatusOr<ContactFacts> describe(const std::string& contact_id);
  void worker_loop();
  void deliver(const ContactEvent& e);
  void on_batch(const std::string& stream, const std::string& shard,
                std::vector<std::string> records, const std::string& last_sequence);
  void on_record(const std::string& data);
  void on_agent_event(const AgentEvent& e);
  void on_contact_connected(const std::string& contact_id, const std::string& agent_id,
                            WallTime at);
  void on_contact_facts(const ContactFacts& facts);
  std::vector<ContactEvent> end_events(const ContactFacts& facts, Contact& contact);
  void track(const std::string& contact_id, WallTime placed_at, bool connected);
  void schedule_reconcile(const std::string& contact_id, Micros after);
  void reconcile(const std::string& contact_id);
  void hold(const std::string& contact_id, HeldEvent e);
  void prune_held();
  void remember_ended(const std::string& contact_id);
  void check_agents();

  EventLoop& loop_;
  ConnectOptions options_;
  std::shared_ptr<aws::AwsClient> connect_;
  std::shared_ptr<aws::KinesisApi> kinesis_;
  std::unique_ptr<aws::KinesisConsumer> consumer_;
  EventHandler handler_;
  std::vector<ContactEvent> pending_;  // before start()
  bool shut_down_ = false;
  // Guards the object's lifetime for work posted from other threads.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  std::unordered_map<std::string, WallTime> agent_seen_;  // agent -> last EventTimestamp
  std::unordered_map<std::string, AgentState> agent_state_;  // as last delivered
  int mismatches_in_a_row_ = 0;
  std::optional<TimerId> agent_timer_;
  std::unordered_map<std::string, Contact> contacts_;     // ours, not ended
  std::unordered_set<std::string> ended_;
  std::deque<std::string> ended_order_;  // bounds ended_
  std::unordered_multimap<std::string, HeldEvent> held_;
  // StartOutboundVoiceContact and describe_call() requests not yet answered:
  // only then can a record of an unknown contact be one of ours.
  int lookups_in_flight_ = 0;
  ConnectStats stats_;

  // Worker threads for AWS calls.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<std::function<void()>()>> queue_;  // guarded by mu_
  bool stop_workers_ = false;                                  // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace pd::connect
