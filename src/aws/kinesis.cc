#include "aws/kinesis.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "absl/strings/escaping.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/time_format.h"

namespace pd::aws {
namespace {

constexpr std::string_view kTargetPrefix = "Kinesis_20131202";

using nlohmann::json;

// Names a stream the way the API wants it: StreamARN when we have one.
void put_stream(json& body, const StreamRef& stream) {
  if (!stream.arn.empty()) {
    body["StreamARN"] = stream.arn;
  } else {
    body["StreamName"] = stream.name;
  }
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Kinesis' JSON protocol sends timestamps as epoch seconds (a number with a
// fraction); accept ISO 8601 text too, as some emulators send it.
std::optional<WallTime> timestamp(const json& j) {
  if (j.is_number()) {
    return WallTime{std::chrono::milliseconds{std::llround(j.get<double>() * 1000.0)}};
  }
  if (j.is_string()) return parse_iso8601(j.get<std::string>());
  return std::nullopt;
}

absl::Status malformed(std::string_view api, std::string_view why) {
  return absl::UnavailableError(cat(api, ": malformed response: ", why));
}

}  // namespace

absl::StatusOr<StreamRef> parse_stream(std::string_view name_or_arn) {
  const std::string_view s = trim(name_or_arn);
  if (s.empty()) return absl::InvalidArgumentError("empty Kinesis stream name");
  if (s.substr(0, 4) == "arn:") {
    // arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME
    const auto slash = s.find(":stream/");
    if (s.find(":kinesis:") == std::string_view::npos || slash == std::string_view::npos ||
        slash + 8 >= s.size()) {
      return absl::InvalidArgumentError(
          cat("'", s, "' is not a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)"));
    }
    return StreamRef{std::string(s.substr(slash + 8)), std::string(s)};
  }
  for (char c : s) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    if (!ok) {
      return absl::InvalidArgumentError(
          cat("'", s, "' is not a Kinesis stream name (letters, digits, '_', '-', '.')"));
    }
  }
  return StreamRef{std::string(s), {}};
}

std::string_view to_string(IteratorType t) {
  switch (t) {
    case IteratorType::kTrimHorizon: return "TRIM_HORIZON";
    case IteratorType::kLatest: return "LATEST";
    case IteratorType::kAtTimestamp: return "AT_TIMESTAMP";
    case IteratorType::kAtSequenceNumber: return "AT_SEQUENCE_NUMBER";
    case IteratorType::kAfterSequenceNumber: return "AFTER_SEQUENCE_NUMBER";
  }
  return "TRIM_HORIZON";
}

absl::StatusOr<json> KinesisClient::rpc(std::string_view api, const json& body) {
  return client_->json_rpc(kTargetPrefix, api, body);
}

absl::StatusOr<std::vector<KinesisShard>> KinesisClient::list_shards(const StreamRef& stream) {
  std::vector<KinesisShard> shards;
  std::string next_token;
  for (;;) {
    json body = json::object();
    // NextToken identifies the stream; sending the name with it is an error.
    if (next_token.empty()) {
      put_stream(body, stream);
    } else {
      body["NextToken"] = next_token;
    }
    PD_ASSIGN_OR_RETURN(json out, rpc("ListShards", body));
    auto list = out.find("Shards");
    if (list == out.end() || !list->is_array()) return malformed("ListShards", "no Shards");
    for (const json& s : *list) {
      KinesisShard shard;
      shard.shard_id = str(s, "ShardId");
      if (shard.shard_id.empty()) return malformed("ListShards", "a shard without ShardId");
      shard.parent_shard_id = str(s, "ParentShardId");
      shard.adjacent_parent_shard_id = str(s, "AdjacentParentShardId");
      if (auto r = s.find("SequenceNumberRange"); r != s.end() && r->is_object()) {
        shard.starting_sequence_number = str(*r, "StartingSequenceNumber");
        shard.ending_sequence_number = str(*r, "EndingSequenceNumber");
      }
      if (auto r = s.find("HashKeyRange"); r != s.end() && r->is_object()) {
        shard.starting_hash_key = str(*r, "StartingHashKey");
        shard.ending_hash_key = str(*r, "EndingHashKey");
      }
      shards.push_back(std::move(shard));
    }
    next_token = str(out, "NextToken");
    if (next_token.empty()) break;
  }
  return shards;
}

absl::StatusOr<std::string> KinesisClient::get_shard_iterator(const StreamRef& stream,
                                                              const std::string& shard_id,
                                                              const IteratorStart& start) {
  json body = json::object();
  put_stream(body, stream);
  body["ShardId"] = shard_id;
  body["ShardIteratorType"] = std::string(to_string(start.type));
  switch (start.type) {
    case IteratorType::kAtSequenceNumber:
    case IteratorType::kAfterSequenceNumber:
      body["StartingSequenceNumber"] = start.sequence_number;
      break;
    case IteratorType::kAtTimestamp:
      body["Timestamp"] =
          static_cast<double>(start.timestamp.time_since_epoch().count()) / 1000.0;
      break;
    default:
      break;
  }
  PD_ASSIGN_OR_RETURN(json out, rpc("GetShardIterator", body));
  std::string it = str(out, "ShardIterator");
  if (it.empty()) return malformed("GetShardIterator", "no ShardIterator");
  return it;
}

absl::StatusOr<GetRecordsResult> KinesisClient::get_records(const StreamRef& stream,
                                                            const std::string& shard_iterator,
                                                            int limit) {
  json body = json::object();
  body["ShardIterator"] = shard_iterator;
  body["Limit"] = limit;
  if (!stream.arn.empty()) body["StreamARN"] = stream.arn;
  PD_ASSIGN_OR_RETURN(json out, rpc("GetRecords", body));
  GetRecordsResult result;
  if (auto next = out.find("NextShardIterator"); next != out.end() && next->is_string()) {
    result.next_shard_iterator = next->get<std::string>();
  }
  if (auto m = out.find("MillisBehindLatest"); m != out.end() && m->is_number()) {
    result.millis_behind_latest = m->get<int64_t>();
  }
  if (auto records = out.find("Records"); records != out.end() && records->is_array()) {
    result.records.reserve(records->size());
    for (const json& r : *records) {
      KinesisRecord rec;
      rec.sequence_number = str(r, "SequenceNumber");
      rec.partition_key = str(r, "PartitionKey");
      const std::string data = str(r, "Data");
      if (!absl::Base64Unescape(absl::string_view(data.data(), data.size()), &rec.data)) {
        return malformed("GetRecords", cat("record ", rec.sequence_number, ": Data is not base64"));
      }
      if (auto t = r.find("ApproximateArrivalTimestamp"); t != r.end()) {
        rec.approximate_arrival = timestamp(*t);
      }
      if (rec.sequence_number.empty()) return malformed("GetRecords", "a record without SequenceNumber");
      result.records.push_back(std::move(rec));
    }
  }
  if (auto children = out.find("ChildShards"); children != out.end() && children->is_array()) {
    for (const json& c : *children) {
      ChildShard child;
      child.shard_id = str(c, "ShardId");
      if (auto p = c.find("ParentShards"); p != c.end() && p->is_array()) {
        for (const json& id : *p) {
          if (id.is_string()) child.parent_shards.push_back(id.get<std::string>());
        }
      }
      result.child_shards.push_back(std::move(child));
    }
  }
  return result;
}

absl::StatusOr<PutRecordsResult> KinesisClient::put_records(
    const StreamRef& stream, const std::vector<PutRecordsEntry>& records) {
  json body = json::object();
  put_stream(body, stream);
  json list = json::array();
  for (const PutRecordsEntry& e : records) {
    json r = {{"PartitionKey", e.partition_key},
              {"Data", absl::Base64Escape(absl::string_view(e.data.data(), e.data.size()))}};
    if (!e.explicit_hash_key.empty()) r["ExplicitHashKey"] = e.explicit_hash_key;
    list.push_back(std::move(r));
  }
  body["Records"] = std::move(list);
  PD_ASSIGN_OR_RETURN(json out, rpc("PutRecords", body));
  PutRecordsResult result;
  if (auto f = out.find("FailedRecordCount"); f != out.end() && f->is_number()) {
    result.failed_record_count = f->get<int>();
  }
  if (auto list_out = out.find("Records"); list_out != out.end() && list_out->is_array()) {
    for (const json& r : *list_out) {
      result.records.push_back({str(r, "SequenceNumber"), str(r, "ShardId"), str(r, "ErrorCode"),
                                str(r, "ErrorMessage")});
    }
  }
  if (result.records.size() != records.size()) {
    return malformed("PutRecords", cat(result.records.size(), " results for ", records.size(),
                                       " records"));
  }
  return result;
}

absl::Status KinesisClient::create_stream(const std::string& name, int shard_count) {
  json body = {{"StreamName", name},
               {"ShardCount", shard_count},
               {"StreamModeDetails", {{"StreamMode", "PROVISIONED"}}}};
  return rpc("CreateStream", body).status();
}

absl::Status KinesisClient::delete_stream(const StreamRef& stream) {
  json body = json::object();
  put_stream(body, stream);
  body["EnforceConsumerDeletion"] = true;
  return rpc("DeleteStream", body).status();
}

absl::StatusOr<std::string> KinesisClient::stream_status(const StreamRef& stream) {
  json body = json::object();
  put_stream(body, stream);
  PD_ASSIGN_OR_RETURN(json out, rpc("DescribeStreamSummary", body));
  auto summary = out.find("StreamDescriptionSummary");
  if (summary == out.end() || !summary->is_object()) {
    return malformed("DescribeStreamSummary", "no StreamDescriptionSummary");
  }
  return str(*summary, "StreamStatus");
}

absl::Status KinesisClient::wait_until_active(const StreamRef& stream, int attempts) {
  std::string status;
  for (int i = 0; i < attempts; ++i) {
    PD_ASSIGN_OR_RETURN(status, stream_status(stream));
    if (status == "ACTIVE") return absl::OkStatus();
    // Test and setup helper only (never on the dialer's event path): AWS
    // documents no event to wait on, so this polls as the SDK waiters do.
    std::this_thread::sleep_for(std::chrono::milliseconds(100 * std::min(i + 1, 10)));
  }
  return absl::DeadlineExceededError(
      cat("Kinesis stream ", stream.display(), " is still ", status, " after ", attempts, " checks"));
}

absl::Status KinesisClient::update_shard_count(const StreamRef& stream, int target_shard_count) {
  json body = json::object();
  put_stream(body, stream);
  body["TargetShardCount"] = target_shard_count;
  body["ScalingType"] = "UNIFORM_SCALING";
  return rpc("UpdateShardCount", body).status();
}

absl::StatusOr<std::shared_ptr<KinesisClient>> make_kinesis_client(
    std::string_view region, std::string_view endpoint_override,
    std::shared_ptr<CredentialsProvider> credentials, std::shared_ptr<HttpClient> http) {
  PD_ASSIGN_OR_RETURN(std::string resolved_region, resolve_region(region));
  PD_ASSIGN_OR_RETURN(std::string endpoint,
                      resolve_endpoint("kinesis", resolved_region, endpoint_override));
  if (!http) http = std::make_shared<HttpClient>();
  if (!credentials) credentials = default_credentials_chain(http);
  RetryOptions retry;
  retry.max_attempts = 3;
  retry.max_delay = std::chrono::milliseconds(1000);
  auto aws = std::make_shared<AwsClient>(
      ServiceConfig{"kinesis", std::move(resolved_region), std::move(endpoint)},
      std::move(credentials), std::move(http), retry);
  return std::make_shared<KinesisClient>(std::move(aws));
}

}  // namespace pd::aws
