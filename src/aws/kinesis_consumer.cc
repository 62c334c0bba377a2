#include "aws/kinesis_consumer.h"

#include <algorithm>

#include "core/strings.h"

namespace pd::aws {
namespace {

using std::chrono::milliseconds;

bool is_throttling(const absl::Status& status) {
  return is_throttling_code(aws_error_code(status));
}

// Errors that retrying cannot fix without someone changing something: worth
// failing start() for, and worth reporting every time.
bool is_configuration_error(const absl::Status& status) {
  return absl::IsNotFound(status) || absl::IsPermissionDenied(status) ||
         absl::IsUnauthenticated(status) || absl::IsInvalidArgument(status);
}

}  // namespace

KinesisConsumer::KinesisConsumer(std::shared_ptr<KinesisApi> api, KinesisConsumerOptions options)
    : api_(std::move(api)), options_(std::move(options)) {}

KinesisConsumer::~KinesisConsumer() { stop(); }

absl::Status KinesisConsumer::start() {
  if (thread_.joinable()) return absl::FailedPreconditionError("Kinesis consumer already started");
  if (!options_.on_records) return absl::InvalidArgumentError("Kinesis consumer needs on_records");
  if (options_.streams.empty()) return absl::InvalidArgumentError("no Kinesis stream to read");
  if (options_.poll_interval.count() <= 0 || options_.idle_interval < options_.poll_interval ||
      options_.max_backoff < options_.idle_interval || options_.max_records_per_call <= 0) {
    return absl::InvalidArgumentError(
        "Kinesis consumer: need 0 < poll_interval <= idle_interval <= max_backoff and a positive "
        "max_records_per_call");
  }
  streams_.clear();
  for (const std::string& s : options_.streams) {
    auto ref = parse_stream(s);
    if (!ref.ok()) return ref.status();
    const bool seen = std::any_of(streams_.begin(), streams_.end(),
                                  [&](const StreamState& st) { return st.ref.name == ref->name; });
    if (seen) continue;
    StreamState state;
    state.id = s;
    state.ref = *std::move(ref);
    streams_.push_back(std::move(state));
  }
  const auto now = std::chrono::steady_clock::now();
  for (StreamState& stream : streams_) {
    absl::Status listed = relist(stream, now);
    if (!listed.ok() && is_configuration_error(listed)) {
      return absl::Status(listed.code(), cat("Kinesis stream ", stream.ref.display(), ": ",
                                             sv(listed.message())));
    }
  }
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { run(); });
  return absl::OkStatus();
}

void KinesisConsumer::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool KinesisConsumer::stopping() {
  std::lock_guard lock(mu_);
  return stop_;
}

void KinesisConsumer::run() {
  for (;;) {
    if (stopping()) return;
    auto now = std::chrono::steady_clock::now();
    for (StreamState& stream : streams_) {
      if (now >= stream.next_list) (void)relist(stream, now);
    }
    for (StreamState& stream : streams_) {
      for (auto& [id, shard] : stream.shards) {
        if (shard.phase != Phase::kReading) continue;
        now = std::chrono::steady_clock::now();
        if (now < shard.next_poll) continue;
        if (stopping()) return;
        poll(stream, shard, now);
      }
      // A shard that finished lets its children start in the same pass.
      promote_ready_shards(stream, std::chrono::steady_clock::now());
    }
    update_gauges();

    SteadyTime wake = SteadyTime::max();
    for (const StreamState& stream : streams_) {
      wake = std::min(wake, stream.next_list);
      for (const auto& [id, shard] : stream.shards) {
        if (shard.phase == Phase::kReading) wake = std::min(wake, shard.next_poll);
      }
    }
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, wake, [this] { return stop_; });
    if (stop_) return;
  }
}

absl::Status KinesisConsumer::relist(StreamState& stream, SteadyTime now) {
  auto listed = api_->list_shards(stream.ref);
  if (!listed.ok()) {
    if (is_throttling(listed.status())) {
      stats_.throttles.fetch_add(1, std::memory_order_relaxed);
    } else {
      stats_.errors.fetch_add(1, std::memory_order_relaxed);
      report(absl::Status(listed.status().code(),
                          cat("Kinesis stream ", stream.ref.display(), ": listing shards: ",
                              sv(listed.status().message()))));
    }
    stream.list_backoff = std::min(
        options_.max_backoff, std::max(options_.idle_interval, 2 * stream.list_backoff));
    stream.next_list = now + jittered(stream.list_backoff);
    return listed.status();
  }
  stats_.listings.fetch_add(1, std::memory_order_relaxed);
  stream.list_backoff = milliseconds{0};
  stream.next_list = now + options_.relist_interval;

  std::set<std::string> present;
  for (KinesisShard& s : *listed) {
    present.insert(s.shard_id);
    const std::string id = s.shard_id;
    stream.shards[id].meta = std::move(s);
  }
  // Shards gone from the listing have aged out of the stream's retention.
  for (auto it = stream.shards.begin(); it != stream.shards.end();) {
    if (present.count(it->first) == 0) {
      it = stream.shards.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = stream.finished.begin(); it != stream.finished.end();) {
    it = present.count(*it) == 0 ? stream.finished.erase(it) : std::next(it);
  }
  promote_ready_shards(stream, now);
  return absl::OkStatus();
}

void KinesisConsumer::promote_ready_shards(StreamState& stream, SteadyTime now) {
  // A parent is done when we have read it to its end, or when it is no longer
  // listed (trimmed: nothing left to read in it).
  auto parent_done = [&](const std::string& parent) {
    return parent.empty() || stream.finished.count(parent) > 0 ||
           stream.shards.count(parent) == 0;
  };
  for (auto& [id, shard] : stream.shards) {
    if (shard.phase != Phase::kWaitingForParents) continue;
    if (parent_done(shard.meta.parent_shard_id) &&
        parent_done(shard.meta.adjacent_parent_shard_id)) {
      shard.phase = Phase::kReading;
      shard.next_poll = now;
    }
  }
}

void KinesisConsumer::poll(StreamState& stream, ShardState& shard, SteadyTime now) {
  const std::string& shard_id = shard.meta.shard_id;
  if (!shard.iterator) {
    if (!shard.checkpoint_loaded) {
      if (options_.load_checkpoint) {
        if (auto cp = options_.load_checkpoint(stream.id, shard_id); cp && !cp->empty()) {
          shard.last_sequence = *cp;
        }
      }
      shard.checkpoint_loaded = true;
    }
    IteratorStart start = options_.start;
    if (!shard.last_sequence.empty()) {
      start = IteratorStart{IteratorType::kAfterSequenceNumber, shard.last_sequence, {}};
    }
    auto it = api_->get_shard_iterator(stream.ref, shard_id, start);
    if (!it.ok() && absl::IsInvalidArgument(it.status()) && !shard.last_sequence.empty()) {
      // The checkpoint does not belong to this shard (a stream deleted and
      // re-created under the same name): re-read the shard from its start,
      // which the owner's idempotent handlers absorb, rather than skip.
      report(absl::InvalidArgumentError(
          cat("Kinesis stream ", stream.ref.display(), " shard ", shard_id, ": checkpoint ",
              shard.last_sequence, " refused (", sv(it.status().message()),
              "); reading the shard from TRIM_HORIZON")));
      shard.last_sequence.clear();
      it = api_->get_shard_iterator(stream.ref, shard_id, IteratorStart{});
    }
    if (!it.ok()) {
      back_off(shard, it.status(), now);
      if (absl::IsNotFound(it.status())) stream.next_list = now;
      if (!is_throttling(it.status())) {
        report(absl::Status(it.status().code(), cat("Kinesis stream ", stream.ref.display(),
                                                    " shard ", shard_id, ": ",
                                                    sv(it.status().message()))));
      }
      return;
    }
    shard.iterator = *std::move(it);
  }

  // Intervals count from when the call was made, not from the top of the
  // loop: that is what Kinesis' per-shard read limit counts.
  now = std::chrono::steady_clock::now();
  auto got = api_->get_records(stream.ref, *shard.iterator, options_.max_records_per_call);
  if (!got.ok()) {
    if (aws_error_code(got.status()) == "ExpiredIteratorException") {
      // Iterators live 5 minutes; a long back-off can outlast one. A new
      // iterator AFTER the last sequence number handed over resumes exactly.
      // (GetShardIterator has a per-shard limit too: wait one poll interval.)
      stats_.expired_iterators.fetch_add(1, std::memory_order_relaxed);
      shard.iterator.reset();
      shard.next_poll = now + options_.poll_interval;
      return;
    }
    back_off(shard, got.status(), now);
    if (absl::IsNotFound(got.status())) {
      shard.iterator.reset();
      stream.next_list = now;
    }
    if (!is_throttling(got.status())) {
      report(absl::Status(got.status().code(), cat("Kinesis stream ", stream.ref.display(),
                                                   " shard ", shard_id, ": ",
                                                   sv(got.status().message()))));
    }
    return;
  }
  stats_.get_records_calls.fetch_add(1, std::memory_order_relaxed);
  shard.backoff = milliseconds{0};
  shard.millis_behind = got->millis_behind_latest;
  if (!got->records.empty()) {
    shard.last_sequence = got->records.back().sequence_number;
    stats_.records.fetch_add(static_cast<int64_t>(got->records.size()), std::memory_order_relaxed);
    options_.on_records(stream.id, shard_id, got->records, shard.last_sequence);
  }
  if (!got->next_shard_iterator) {
    // Closed and read to the end: its children may start, and the listing
    // is refreshed now in case they are not known yet.
    shard.phase = Phase::kFinished;
    shard.iterator.reset();
    shard.millis_behind = 0;
    stream.finished.insert(shard_id);
    stream.next_list = now;
    stats_.shards_finished.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  shard.iterator = std::move(got->next_shard_iterator);
  // Behind: keep reading at the per-shard limit. Caught up: idle rate.
  const bool more = !got->records.empty() || got->millis_behind_latest > 0;
  shard.next_poll = now + (more ? options_.poll_interval : options_.idle_interval);
}

void KinesisConsumer::back_off(ShardState& shard, const absl::Status& status, SteadyTime now) {
  if (is_throttling(status)) {
    stats_.throttles.fetch_add(1, std::memory_order_relaxed);
  } else {
    stats_.errors.fetch_add(1, std::memory_order_relaxed);
  }
  shard.backoff =
      std::min(options_.max_backoff, std::max(options_.idle_interval, 2 * shard.backoff));
  shard.next_poll = now + jittered(shard.backoff);
}

// Between half and all of `d` ("equal jitter"): consumers throttled together
// do not come back together, and the wait never drops below half.
milliseconds KinesisConsumer::jittered(milliseconds d) {
  if (d.count() <= 1) return d;
  std::uniform_int_distribution<int64_t> dist(d.count() / 2, d.count());
  return milliseconds{dist(rng_)};
}

void KinesisConsumer::report(const absl::Status& status) {
  if (options_.on_error) options_.on_error(status);
}

void KinesisConsumer::update_gauges() {
  int64_t reading = 0;
  int64_t behind = 0;
  for (const StreamState& stream : streams_) {
    for (const auto& [id, shard] : stream.shards) {
      if (shard.phase != Phase::kReading) continue;
      ++reading;
      behind = std::max(behind, shard.millis_behind);
    }
  }
  stats_.shards_reading.store(reading, std::memory_order_relaxed);
  stats_.millis_behind_latest.store(behind, std::memory_order_relaxed);
}

}  // namespace pd::aws
