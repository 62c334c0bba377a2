// Amazon Kinesis Data Streams: the few calls the dialer needs to read Amazon
// Connect's agent event and contact record streams (ListShards,
// GetShardIterator, GetRecords), plus PutRecords and stream management for
// the Connect stand-in and the tests. JSON 1.1 RPC over AwsClient.
//
// KinesisApi is the seam the consumer reads through, so tests can drive the
// consumer with a scripted fake; KinesisClient is the real one.
// Thread-safety: KinesisClient is thread-safe (AwsClient is); calls block.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "aws/aws_client.h"
#include "core/types.h"

namespace pd::aws {

// A stream named by its name or by its ARN
// (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME). Requests carry StreamARN when
// given one (so cross-account reads work) and StreamName otherwise.
struct StreamRef {
  std::string name;  // always set
  std::string arn;   // empty when given a name
  // The name or ARN as the caller gave it.
  const std::string& display() const { return arn.empty() ? name : arn; }
};
absl::StatusOr<StreamRef> parse_stream(std::string_view name_or_arn);

struct KinesisShard {
  std::string shard_id;
  std::string parent_shard_id;           // empty when none
  std::string adjacent_parent_shard_id;  // empty when none (set by a merge)
  std::string starting_sequence_number;
  std::string ending_sequence_number;  // empty while the shard is open
  std::string starting_hash_key;
  std::string ending_hash_key;
  bool closed() const { return !ending_sequence_number.empty(); }
};

enum class IteratorType {
  kTrimHorizon,          // the oldest record kept
  kLatest,               // only records put after the call
  kAtTimestamp,          // the first record at or after `timestamp`
  kAtSequenceNumber,     // the record `sequence_number`
  kAfterSequenceNumber,  // the record after `sequence_number` (resume)
};
std::string_view to_string(IteratorType t);

struct IteratorStart {
  IteratorType type = IteratorType::kTrimHorizon;
  std::string sequence_number;  // kAt/kAfterSequenceNumber
  WallTime timestamp{};         // kAtTimestamp
};

struct KinesisRecord {
  std::string sequence_number;
  std::string partition_key;
  std::string data;  // decoded bytes (Connect: one JSON document)
  std::optional<WallTime> approximate_arrival;
};

struct ChildShard {
  std::string shard_id;
  std::vector<std::string> parent_shards;
};

struct GetRecordsResult {
  std::vector<KinesisRecord> records;
  // Absent when the shard is closed and everything in it has been read.
  std::optional<std::string> next_shard_iterator;
  int64_t millis_behind_latest = 0;
  std::vector<ChildShard> child_shards;  // only at the end of a closed shard
};

struct PutRecordsEntry {
  std::string partition_key;
  std::string data;               // raw bytes
  std::string explicit_hash_key;  // optional
};

struct PutRecordsResultEntry {
  std::string sequence_number;
  std::string shard_id;
  std::string error_code;  // empty on success
  std::string error_message;
};

struct PutRecordsResult {
  int failed_record_count = 0;
  std::vector<PutRecordsResultEntry> records;  // in request order
};

// The reading side, as the consumer sees it. Errors are AwsClient's (see
// aws_client.h): aws_error_code() tells ExpiredIteratorException,
// ProvisionedThroughputExceededException and ResourceNotFoundException apart.
class KinesisApi {
 public:
  virtual ~KinesisApi() = default;
  // Every shard of the stream, open and closed, following NextToken.
  virtual absl::StatusOr<std::vector<KinesisShard>> list_shards(const StreamRef& stream) = 0;
  virtual absl::StatusOr<std::string> get_shard_iterator(const StreamRef& stream,
                                                         const std::string& shard_id,
                                                         const IteratorStart& start) = 0;
  virtual absl::StatusOr<GetRecordsResult> get_records(const StreamRef& stream,
                                                       const std::string& shard_iterator,
                                                       int limit = 10000) = 0;
};

class KinesisClient final : public KinesisApi {
 public:
  // `client` is configured for service "kinesis".
  explicit KinesisClient(std::shared_ptr<AwsClient> client) : client_(std::move(client)) {}

  absl::StatusOr<std::vector<KinesisShard>> list_shards(const StreamRef& stream) override;
  absl::StatusOr<std::string> get_shard_iterator(const StreamRef& stream,
                                                 const std::string& shard_id,
                                                 const IteratorStart& start) override;
  absl::StatusOr<GetRecordsResult> get_records(const StreamRef& stream,
                                               const std::string& shard_iterator,
                                               int limit = 10000) override;

  // At most 500 records a call. A partial failure is not an error: check
  // failed_record_count and retry the entries that carry an error_code.
  absl::StatusOr<PutRecordsResult> put_records(const StreamRef& stream,
                                               const std::vector<PutRecordsEntry>& records);
  // Provisioned mode with `shard_count` shards. The stream is CREATING for a
  // moment; wait_until_active() waits (polling DescribeStreamSummary).
  absl::Status create_stream(const std::string& name, int shard_count);
  absl::Status delete_stream(const StreamRef& stream);
  // StreamStatus: CREATING, ACTIVE, UPDATING, DELETING.
  absl::StatusOr<std::string> stream_status(const StreamRef& stream);
  absl::Status wait_until_active(const StreamRef& stream, int attempts = 50);
  // Resharding (UNIFORM_SCALING).
  absl::Status update_shard_count(const StreamRef& stream, int target_shard_count);

  AwsClient& aws() { return *client_; }

 private:
  absl::StatusOr<nlohmann::json> rpc(std::string_view api, const nlohmann::json& body);
  std::shared_ptr<AwsClient> client_;
};

// The Kinesis endpoint and client for `region` (empty: resolve_region()) and
// `endpoint_override` (empty: resolve_endpoint's environment rules), with
// RetryOptions that suit a poller: few retries, because the consumer backs
// off per shard itself and must not stall its other shards.
absl::StatusOr<std::shared_ptr<KinesisClient>> make_kinesis_client(
    std::string_view region, std::string_view endpoint_override,
    std::shared_ptr<CredentialsProvider> credentials, std::shared_ptr<HttpClient> http = nullptr);

}  // namespace pd::aws
