#include "aws/kinesis_consumer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "core/strings.h"

namespace pd::aws {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

absl::Status aws_error(std::string_view api, int http_status, std::string_view code) {
  HttpResponse r;
  r.status = http_status;
  r.body = cat(R"({"__type":")", code, R"(","message":"injected"})");
  return classify_aws_error(api, r);
}

// An in-memory Kinesis with the behaviour the consumer depends on: shards
// with parents, closing, iterators as positions, NextShardIterator absent at
// the end of a closed shard. Faults are injected per shard.
class FakeKinesis final : public KinesisApi {
 public:
  struct Shard {
    std::string parent, adjacent;
    std::vector<std::string> data;  // record i has sequence number i + 1
    bool closed = false;
    int expire_next = 0;    // next N GetRecords: ExpiredIteratorException
    int throttle_next = 0;  // next N GetRecords: ProvisionedThroughputExceeded
  };

  void add_shard(const std::string& id, std::string parent = {}, std::string adjacent = {}) {
    std::lock_guard lock(mu_);
    shards_[id].parent = std::move(parent);
    shards_[id].adjacent = std::move(adjacent);
  }
  void put(const std::string& shard, const std::string& data) {
    std::lock_guard lock(mu_);
    shards_.at(shard).data.push_back(data);
  }
  void close(const std::string& shard) {
    std::lock_guard lock(mu_);
    shards_.at(shard).closed = true;
  }
  void expire_next(const std::string& shard, int n) {
    std::lock_guard lock(mu_);
    shards_.at(shard).expire_next = n;
  }
  void throttle_next(const std::string& shard, int n) {
    std::lock_guard lock(mu_);
    shards_.at(shard).throttle_next = n;
  }
  std::vector<IteratorStart> iterator_requests(const std::string& shard) {
    std::lock_guard lock(mu_);
    return iterator_requests_[shard];
  }
  std::vector<std::chrono::steady_clock::time_point> get_records_times(const std::string& shard) {
    std::lock_guard lock(mu_);
    return get_records_times_[shard];
  }
  int list_calls() {
    std::lock_guard lock(mu_);
    return list_calls_;
  }

  absl::StatusOr<std::vector<KinesisShard>> list_shards(const StreamRef& stream) override {
    std::lock_guard lock(mu_);
    ++list_calls_;
    if (stream.name != "events") return aws_error("ListShards", 400, "ResourceNotFoundException");
    std::vector<KinesisShard> out;
    for (const auto& [id, s] : shards_) {
      KinesisShard k;
      k.shard_id = id;
      k.parent_shard_id = s.parent;
      k.adjacent_parent_shard_id = s.adjacent;
      k.starting_sequence_number.assign(1, '1');  // not = "1": a g++ 12 -Wrestrict false positive
      if (s.closed) k.ending_sequence_number = std::to_string(s.data.size() + 1);
      out.push_back(std::move(k));
    }
    return out;
  }

  absl::StatusOr<std::string> get_shard_iterator(const StreamRef&, const std::string& shard_id,
                                                 const IteratorStart& start) override {
    std::lock_guard lock(mu_);
    iterator_requests_[shard_id].push_back(start);
    const Shard& s = shards_.at(shard_id);
    size_t pos = 0;
    switch (start.type) {
      case IteratorType::kTrimHorizon: pos = 0; break;
      case IteratorType::kLatest: pos = s.data.size(); break;
      case IteratorType::kAfterSequenceNumber: pos = std::stoul(start.sequence_number); break;
      case IteratorType::kAtSequenceNumber: pos = std::stoul(start.sequence_number) - 1; break;
      case IteratorType::kAtTimestamp: pos = 0; break;
    }
    return cat(shard_id, "@", pos);
  }

  absl::StatusOr<GetRecordsResult> get_records(const StreamRef&, const std::string& iterator,
                                               int limit) override {
    std::lock_guard lock(mu_);
    const size_t at = iterator.find('@');
    const std::string shard_id = iterator.substr(0, at);
    size_t pos = std::stoul(iterator.substr(at + 1));
    get_records_times_[shard_id].push_back(std::chrono::steady_clock::now());
    Shard& s = shards_.at(shard_id);
    if (s.expire_next > 0) {
      --s.expire_next;
      return aws_error("GetRecords", 400, "ExpiredIteratorException");
    }
    if (s.throttle_next > 0) {
      --s.throttle_next;
      return aws_error("GetRecords", 400, "ProvisionedThroughputExceededException");
    }
    GetRecordsResult r;
    while (pos < s.data.size() && static_cast<int>(r.records.size()) < limit) {
      r.records.push_back({std::to_string(pos + 1), "pk", s.data[pos], std::nullopt});
      ++pos;
    }
    r.millis_behind_latest = pos < s.data.size() ? 1000 : 0;
    if (!(s.closed && pos >= s.data.size())) r.next_shard_iterator = cat(shard_id, "@", pos);
    return r;
  }

 private:
  std::mutex mu_;
  std::map<std::string, Shard> shards_;
  std::map<std::string, std::vector<IteratorStart>> iterator_requests_;
  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> get_records_times_;
  int list_calls_ = 0;
};

// What the owner sees, and the checkpoints it persists after each batch.
class Recorder {
 public:
  void on_records(const std::string& stream, const std::string& shard,
                  const std::vector<KinesisRecord>& records, const std::string& last) {
    std::lock_guard lock(mu_);
    for (const KinesisRecord& r : records) {
      delivered_.push_back(r.data);
      by_shard_[shard].push_back(r.data);
    }
    checkpoints_[{stream, shard}] = last;
    cv_.notify_all();
  }
  std::optional<std::string> checkpoint(const std::string& stream, const std::string& shard) {
    std::lock_guard lock(mu_);
    auto it = checkpoints_.find({stream, shard});
    if (it == checkpoints_.end()) return std::nullopt;
    return it->second;
  }
  // Waits (bounded) until `n` records have been delivered in all.
  bool wait_for(size_t n, milliseconds timeout = milliseconds(10000)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return delivered_.size() >= n; });
  }
  std::vector<std::string> delivered() {
    std::lock_guard lock(mu_);
    return delivered_;
  }
  std::vector<std::string> shard(const std::string& id) {
    std::lock_guard lock(mu_);
    return by_shard_[id];
  }
  void forget_records() {
    std::lock_guard lock(mu_);
    delivered_.clear();
    by_shard_.clear();
  }

  KinesisConsumerOptions options(std::vector<std::string> streams) {
    KinesisConsumerOptions o;
    o.streams = std::move(streams);
    o.start = IteratorStart{IteratorType::kTrimHorizon, {}, {}};
    o.load_checkpoint = [this](const std::string& s, const std::string& sh) {
      return checkpoint(s, sh);
    };
    o.on_records = [this](const std::string& s, const std::string& sh,
                          const std::vector<KinesisRecord>& r, const std::string& last) {
      on_records(s, sh, r, last);
    };
    // Fast, but in the same proportions as the real limits.
    o.poll_interval = milliseconds(10);
    o.idle_interval = milliseconds(20);
    o.max_backoff = milliseconds(80);
    o.relist_interval = milliseconds(5000);
    return o;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> delivered_;
  std::map<std::string, std::vector<std::string>> by_shard_;
  std::map<std::pair<std::string, std::string>, std::string> checkpoints_;
};

size_t index_of(const std::vector<std::string>& v, const std::string& x) {
  return static_cast<size_t>(std::find(v.begin(), v.end(), x) - v.begin());
}

TEST(KinesisConsumerTest, ReadsEveryShardInOrder) {
  auto kinesis = std::make_shared<FakeKinesis>();
  kinesis->add_shard("shard-0");
  kinesis->add_shard("shard-1");
  for (int i = 0; i < 5; ++i) {
    kinesis->put("shard-0", cat("a", i));
    kinesis->put("shard-1", cat("b", i));
  }
  Recorder rec;
  KinesisConsumer consumer(kinesis, rec.options({"events"}));
  ASSERT_TRUE(consumer.start().ok());
  ASSERT_TRUE(rec.wait_for(10));
  kinesis->put("shard-1", "b5");
  ASSERT_TRUE(rec.wait_for(11));
  consumer.stop();
  EXPECT_THAT(rec.shard("shard-0"), ElementsAre("a0", "a1", "a2", "a3", "a4"));
  EXPECT_THAT(rec.shard("shard-1"), ElementsAre("b0", "b1", "b2", "b3", "b4", "b5"));
  EXPECT_EQ(rec.checkpoint("events", "shard-1"), "6");
  EXPECT_EQ(consumer.stats().records.load(), 11);
}

TEST(KinesisConsumerTest, SameStreamNamedTwiceIsReadOnce) {
  auto kinesis = std::make_shared<FakeKinesis>();
  kinesis->add_shard("shard-0");
  kinesis->put("shard-0", "x");
  Recorder rec;
  KinesisConsumer consumer(
      kinesis, rec.options({"events", "arn:aws:kinesis:us-east-1:123456789012:stream/events"}));
  ASSERT_TRUE(consumer.start().ok());
  ASSERT_TRUE(rec.wait_for(1));
  kinesis->put("shard-0", "y");
  ASSERT_TRUE(rec.wait_for(2));
  consumer.stop();
  EXPECT_THAT(rec.delivered(), ElementsAre("x", "y"));
}

TEST(KinesisConsumerTest, MissingStreamFailsStart) {
  auto kinesis = std::make_shared<FakeKinesis>();
  Recorder rec;
  KinesisConsumer consumer(kinesis, rec.options({"nope"}));
  absl::Status s = consumer.start();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_THAT(std::string(sv(s.message())), ::testing::HasSubstr("nope"));
}

TEST(KinesisConsumerTest, ResumesAfterCheckpointWithoutRepeatsOrLoss) {
  auto kinesis = std::make_shared<FakeKinesis>();
  kinesis->add_shard("shard-0");
  for (int i = 0; i < 3; ++i) kinesis->put("shard-0", cat("r", i));
  Recorder rec;
  {
    KinesisConsumer first(kinesis, rec.options({"events"}));
    ASSERT_TRUE(first.start().ok());
    ASSERT_TRUE(rec.wait_for(3));
  }  // destroyed: stopped
  for (int i = 3; i < 6; ++i) kinesis->put("shard-0", cat("r", i));
  KinesisConsumer second(kinesis, rec.options({"events"}));
  ASSERT_TRUE(second.start().ok());
  ASSERT_TRUE(rec.wait_for(6));
  second.stop();
  EXPECT_THAT(rec.delivered(), ElementsAre("r0", "r1", "r2", "r3", "r4", "r5"));
  const auto starts = kinesis->iterator_requests("shard-0");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[1].type, IteratorType::kAfterSequenceNumber);
  EXPECT_EQ(starts[1].sequence_number, "3");
}

TEST(KinesisConsumerTest, ExpiredIteratorResumesAfterLastRecordHandedOver) {
  auto kinesis = std::make_shared<FakeKinesis>();
  kinesis->add_shard("shard-0");
  kinesis->put("shard-0", "r0");
  kinesis->put("shard-0", "r1");
  Recorder rec;
  KinesisConsumer consumer(kinesis, rec.options({"events"}));
  ASSERT_TRUE(consumer.start().ok());
  ASSERT_TRUE(rec.wait_for(2));
  kinesis->expire_next("shard-0", 1);
  kinesis->put("shard-0", "r2");
  ASSERT_TRUE(rec.wait_for(3));
  consumer.stop();
  EXPECT_THAT(rec.delivered(), ElementsAre("r0", "r1", "r2"));
  EXPECT_EQ(consumer.stats().expired_iterators.load(), 1);
  const auto starts = kinesis->iterator_requests("shard-0");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[1].type, IteratorType::kAfterSequenceNumber);
  EXPECT_EQ(starts[1].sequence_number, "2");
}

TEST(KinesisConsumerTest, ThrottlingBacksOffAndLosesNothing) {
  auto kinesis = std::make_shared<FakeKinesis>();
  kinesis->add_shard("shard-0");
  kinesis->put("shard-0", "r0");
  kinesis->throttle_next("shard-0", 3);
  Recorder rec;
  auto options = rec.options({"events"});
  KinesisConsumer consumer(kinesis, options);
  ASSERT_TRUE(consumer.start().ok());
  ASSERT_TRUE(rec.wait_for(1));
  consumer.stop();
  EXPECT_THAT(rec.delivered(), ElementsAre("r0"));
  EXPECT_EQ(consumer.stats().throttles.load(), 3);
  // Backed off: each retry waited at least half of an idle interval
  // (equal jitter), growing from there. The consumer measures its wait from
  // just before the previous call, the fake from inside it: allow 1 ms.
  const auto times = kinesis->get_records_times("shard-0");
  ASSERT_GE(times.size(), 4u);
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_GE(times[i] - times[i - 1] + std::chrono::milliseconds(1), options.idle_interval / 2);
  }
}

TEST(KinesisConsumerTest, PollsAShardNoMoreOftenThanThePollInterval) {
  auto kinesis = std::make_shared<FakeKinesis>();
  kinesis->add_shard("shard-0");
  Recorder rec;
  auto options = rec.options({"events"});
  KinesisConsumer consumer(kinesis, options);
  ASSERT_TRUE(consumer.start().ok());
  for (int i = 0; i < 20; ++i) {
    kinesis->put("shard-0", cat("r", i));
    ASSERT_TRUE(rec.wait_for(static_cast<size_t>(i + 1)));
  }
  consumer.stop();
  // The fake stamps each call from inside it, a few microseconds after the
  // consumer's own clock reading: allow 1 ms.
  const auto times = kinesis->get_records_times("shard-0");
  for (size_t i = 1; i < times.size(); ++i) {
    EXPECT_GE(times[i] - times[i - 1] + std::chrono::milliseconds(1), options.poll_interval)
        << "call " << i;
  }
}

// Resharding: a split (parent -> two children) and then a merge (two
// children -> one). Children are read only after their parents are read to
// the end, so each partition key's records arrive in order.
TEST(KinesisConsumerTest, ChildShardsAreReadAfterTheirParents) {
  auto kinesis = std::make_shared<FakeKinesis>();
  kinesis->add_shard("shard-0");
  kinesis->put("shard-0", "p0");
  Recorder rec;
  KinesisConsumer consumer(kinesis, rec.options({"events"}));
  ASSERT_TRUE(consumer.start().ok());
  ASSERT_TRUE(rec.wait_for(1));

  // Split while the consumer is reading: the parent gets a last record
  // after the children exist, and the children get records at once.
  kinesis->add_shard("shard-1", "shard-0");
  kinesis->add_shard("shard-2", "shard-0");
  kinesis->put("shard-1", "c1-0");
  kinesis->put("shard-2", "c2-0");
  kinesis->put("shard-0", "p1");
  kinesis->close("shard-0");
  // Merge the two children into one.
  kinesis->put("shard-1", "c1-1");
  kinesis->add_shard("shard-3", "shard-1", "shard-2");
  kinesis->put("shard-3", "m0");
  kinesis->close("shard-1");
  kinesis->close("shard-2");
  ASSERT_TRUE(rec.wait_for(6));
  consumer.stop();

  const auto all = rec.delivered();
  ASSERT_EQ(all.size(), 6u);
  EXPECT_LT(index_of(all, "p1"), index_of(all, "c1-0"));
  EXPECT_LT(index_of(all, "p1"), index_of(all, "c2-0"));
  EXPECT_LT(index_of(all, "c1-1"), index_of(all, "m0"));
  EXPECT_LT(index_of(all, "c2-0"), index_of(all, "m0"));
  EXPECT_EQ(consumer.stats().shards_finished.load(), 3);
  EXPECT_THAT(rec.shard("shard-1"), ElementsAre("c1-0", "c1-1"));
}

TEST(KinesisConsumerTest, ChildOfATrimmedParentIsReadAtOnce) {
  auto kinesis = std::make_shared<FakeKinesis>();
  kinesis->add_shard("shard-5", "shard-4");  // shard-4 aged out of retention
  kinesis->put("shard-5", "x");
  Recorder rec;
  KinesisConsumer consumer(kinesis, rec.options({"events"}));
  ASSERT_TRUE(consumer.start().ok());
  ASSERT_TRUE(rec.wait_for(1));
}

TEST(KinesisConsumerTest, StopIsPromptWhileIdle) {
  auto kinesis = std::make_shared<FakeKinesis>();
  kinesis->add_shard("shard-0");
  Recorder rec;
  auto options = rec.options({"events"});
  options.idle_interval = milliseconds(60000);
  options.max_backoff = milliseconds(60000);
  KinesisConsumer consumer(kinesis, options);
  ASSERT_TRUE(consumer.start().ok());
  const auto before = std::chrono::steady_clock::now();
  consumer.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, milliseconds(5000));
}

TEST(KinesisStreamTest, ParsesNamesAndArns) {
  auto by_name = parse_stream("agent-events");
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->name, "agent-events");
  EXPECT_EQ(by_name->arn, "");
  auto by_arn = parse_stream("arn:aws:kinesis:eu-west-2:123456789012:stream/ctr.stream");
  ASSERT_TRUE(by_arn.ok());
  EXPECT_EQ(by_arn->name, "ctr.stream");
  EXPECT_EQ(by_arn->display(), "arn:aws:kinesis:eu-west-2:123456789012:stream/ctr.stream");
  EXPECT_FALSE(parse_stream("arn:aws:s3:::bucket").ok());
  EXPECT_FALSE(parse_stream("has space").ok());
  EXPECT_FALSE(parse_stream("").ok());
}

}  // namespace
}  // namespace pd::aws
