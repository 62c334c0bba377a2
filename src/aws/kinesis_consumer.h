// Reads Amazon Connect's Kinesis streams (agent events, contact trace
// records) on one thread of its own, shard by shard, and hands each batch of
// records to the owner.
//
// What it does for the owner:
//  - every shard of every stream is read in order; a stream named twice (the
//    agent event stream and the CTR stream may be one stream, by name or by
//    ARN) is read once, under the name it was first given;
//  - within Kinesis' per-shard read limit (5 GetRecords a second): a shard is
//    polled at most every `poll_interval` (200 ms), and every
//    `idle_interval` (1 s) while it has nothing new; throttling and
//    transient errors back the shard off exponentially (with jitter) up to
//    `max_backoff`, without stalling the other shards;
//  - resharding: a child shard is read only once its parent(s) have been
//    read to the end, so records of one key stay in order; the shard list is
//    refreshed every `relist_interval` and at once when a shard closes;
//  - an expired iterator is replaced from the last sequence number handed
//    over, so nothing is skipped or repeated.
//
// Checkpoints: the consumer never writes them. It asks load_checkpoint()
// where a shard was left (resuming AFTER that sequence number; no checkpoint:
// `start`), and passes the last sequence number of each batch to
// on_records(). The owner persists that number only after it has handled
// the batch (e.g. in the same store transaction). A crash then loses nothing:
// the records after the last persisted checkpoint are read again, and the
// owner's handlers are idempotent, so the replay is harmless.
//
// Thread-safety: start() and stop() are for the owning thread; stats() may be
// read from any thread. The callbacks run on the consumer's thread, one at a
// time; a slow callback delays reading (which is the back-pressure wanted).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "aws/kinesis.h"

namespace pd::aws {

struct KinesisConsumerOptions {
  // Stream names or ARNs. Duplicates (same stream name) are read once.
  std::vector<std::string> streams;
  // Where a shard without a checkpoint starts: kAtTimestamp (e.g. the
  // campaign's start, so a fresh dialer does not replay yesterday) or
  // kTrimHorizon. kLatest is allowed but can miss records put between the
  // listing and the first read; prefer a timestamp.
  IteratorStart start;

  // Where (stream, shard) was left: the last sequence number the owner has
  // handled, or nullopt. Called once per shard, when reading it begins.
  std::function<std::optional<std::string>(const std::string& stream, const std::string& shard)>
      load_checkpoint;
  // A batch of records, in shard order, never empty. `last_sequence_number`
  // is the checkpoint to persist once the batch is handled.
  std::function<void(const std::string& stream, const std::string& shard,
                     const std::vector<KinesisRecord>& records,
                     const std::string& last_sequence_number)>
      on_records;
  // Optional: errors worth a log line (stream not found, access denied,
  // repeated failures). The consumer keeps retrying; throttling is only
  // counted (stats().throttles), not reported.
  std::function<void(const absl::Status&)> on_error;

  std::chrono::milliseconds poll_interval{200};
  std::chrono::milliseconds idle_interval{1000};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds relist_interval{30000};
  int max_records_per_call = 10000;
};

// Counters for /metrics and tests.
struct KinesisConsumerStats {
  std::atomic<int64_t> records{0};               // handed to on_records
  std::atomic<int64_t> get_records_calls{0};     // successful ones
  std::atomic<int64_t> millis_behind_latest{0};  // the largest over the shards being read
  std::atomic<int64_t> throttles{0};             // throttled calls (after AwsClient's retries)
  std::atomic<int64_t> errors{0};                // other failed calls
  std::atomic<int64_t> expired_iterators{0};
  std::atomic<int64_t> shards_reading{0};
  std::atomic<int64_t> shards_finished{0};  // closed shards read to the end
  std::atomic<int64_t> listings{0};         // successful shard listings
};

class KinesisConsumer {
 public:
  KinesisConsumer(std::shared_ptr<KinesisApi> api, KinesisConsumerOptions options);
  ~KinesisConsumer();  // stop()s
  KinesisConsumer(const KinesisConsumer&) = delete;
  KinesisConsumer& operator=(const KinesisConsumer&) = delete;

  // Checks the options, lists each stream's shards once (so a missing stream
  // or missing permission fails here, where the operator sees it), then
  // starts the reading thread. A transient listing failure (kUnavailable)
  // does not fail start(): the thread keeps trying.
  // REQUIRES: not started.
  absl::Status start();
  // Stops and joins the thread: promptly, at the latest when an AWS call in
  // progress returns. No callback runs after stop() returns. Idempotent.
  void stop();

  const KinesisConsumerStats& stats() const { return stats_; }

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  enum class Phase { kWaitingForParents, kReading, kFinished };
  struct ShardState {
    KinesisShard meta;
    Phase phase = Phase::kWaitingForParents;
    bool checkpoint_loaded = false;
    std::optional<std::string> iterator;
    std::string last_sequence;  // last handed over (or the checkpoint)
    SteadyTime next_poll{};
    std::chrono::milliseconds backoff{0};
    int64_t millis_behind = 0;
  };
  struct StreamState {
    std::string id;  // as the owner named it: the callbacks' `stream`
    StreamRef ref;
    std::map<std::string, ShardState> shards;
    std::set<std::string> finished;  // closed shards read to the end
    SteadyTime next_list{};
    std::chrono::milliseconds list_backoff{0};
  };

  void run();
  absl::Status relist(StreamState& stream, SteadyTime now);
  void promote_ready_shards(StreamState& stream, SteadyTime now);
  void poll(StreamState& stream, ShardState& shard, SteadyTime now);
  void back_off(ShardState& shard, const absl::Status& status, SteadyTime now);
  std::chrono::milliseconds jittered(std::chrono::milliseconds d);
  void report(const absl::Status& status);
  void update_gauges();
  bool stopping();

  std::shared_ptr<KinesisApi> api_;
  KinesisConsumerOptions options_;
  std::vector<StreamState> streams_;  // owned by the reading thread once started
  std::mt19937_64 rng_{std::random_device{}()};
  KinesisConsumerStats stats_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace pd::aws
