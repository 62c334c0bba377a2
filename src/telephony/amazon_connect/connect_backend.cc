#include "telephony/amazon_connect/connect_backend.h"

#include <vector>

#include "aws/credentials.h"
#include "aws/kinesis.h"
#include "core/advice.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "store/store.h"

namespace pd::connect {

absl::Status check_connect_config(const CampaignConfig& config, std::string_view campaign) {
  std::vector<std::string_view> missing;
  if (config.connect_instance_id.empty()) missing.push_back("connectid");
  if (config.contact_flow_id.empty()) missing.push_back("contactflow");
  if (config.queue_id.empty()) missing.push_back("queue");
  if (config.agent_stream.empty()) missing.push_back("agent-stream");
  if (config.ctr_stream.empty()) missing.push_back("ctr-stream");
  if (missing.empty()) return absl::OkStatus();
  std::string names;
  for (std::string_view m : missing) names += cat(names.empty() ? "" : ", ", m);
  return with_advice(
      absl::FailedPreconditionError(cat("the Amazon Connect backend needs config ", names,
                                        " (see 'Running against Amazon Connect' in the README)")),
      {Remedy::kSetConfig, std::string(campaign), ""});
}

absl::StatusOr<std::unique_ptr<ConnectContactCenter>> make_connect_contact_center(
    EventLoop& loop, const CampaignConfig& config, const ConnectBackendContext& context) {
  PD_RETURN_IF_ERROR(check_connect_config(config, context.campaign));
  PD_ASSIGN_OR_RETURN(std::string region, aws::resolve_region(config.aws_region));
  PD_ASSIGN_OR_RETURN(std::string endpoint,
                      aws::resolve_endpoint("connect", region, config.connect_endpoint));
  auto http = std::make_shared<aws::HttpClient>();
  std::shared_ptr<aws::CredentialsProvider> credentials = aws::default_credentials_chain(http);
  // Fail now, with the chain's explanation, rather than on the first call.
  PD_RETURN_IF_ERROR(credentials->credentials().status());

  // The account's quotas: never exceeded, so Connect rarely has to refuse.
  std::map<std::string, aws::RateLimit> limits{
      {"StartOutboundVoiceContact",
       {static_cast<double>(config.dial_rate), static_cast<double>(config.dial_burst)}},
      {"GetCurrentMetricData",
       {static_cast<double>(config.metric_rate), static_cast<double>(config.metric_burst)}},
      {"DescribeContact", {5, 8}},
  };
  // Few retries inside the client: a throttled dial goes back to the engine,
  // which retries it with the same ClientToken and its own backoff.
  aws::RetryOptions retry;
  retry.max_attempts = 3;
  auto connect = std::make_shared<aws::AwsClient>(
      aws::ServiceConfig{"connect", region, endpoint}, credentials, http, retry, limits);
  PD_ASSIGN_OR_RETURN(std::shared_ptr<aws::KinesisClient> kinesis,
                      aws::make_kinesis_client(region, config.kinesis_endpoint, credentials));

  ConnectOptions o;
  o.instance_id = config.connect_instance_id;
  o.contact_flow_id = config.contact_flow_id;
  o.queue_id = config.queue_id;
  o.source_phone = config.source_phone;
  o.traffic_type = config.traffic_type;
  o.answering_machine_detection = config.answering_machine_detection;
  o.ring_timeout = config.ring_timeout;
  o.disposition_attribute = config.disposition_attribute;
  o.streams = {config.agent_stream};
  if (config.ctr_stream != config.agent_stream) o.streams.push_back(config.ctr_stream);
  // Without a checkpoint, start a little in the past: every logged-in agent
  // sends a HEART_BEAT each 120 s, so the last 130 s tell every agent's state.
  o.start.type = aws::IteratorType::kAtTimestamp;
  // The streams' clock is the real one, whatever the loop's (`run --start`
  // moves only the dialer's clock).
  o.start.timestamp = system_clock().wall_now() - std::chrono::seconds(130);
  const std::string prefix = cat(context.campaign, "/");
  const std::string db_path = context.db_path;
  o.load_checkpoint = [prefix, db_path](const std::string& stream,
                                        const std::string& shard) -> std::optional<std::string> {
    auto store = open_store(db_path, /*create=*/false);
    if (!store.ok()) return std::nullopt;
    auto cp = (*store)->checkpoint(prefix + stream, shard);
    return cp.ok() ? *cp : std::nullopt;
  };
  StoreExecutor* executor = context.executor;
  o.save_checkpoint = [prefix, executor](const std::string& stream, const std::string& shard,
                                         const std::string& sequence) {
    executor->submit([key = prefix + stream, shard, sequence](Store& s) -> StoreExecutor::Completion {
      (void)s.set_checkpoint(key, shard, sequence);  // a lost checkpoint only means a replay
      return {};
    });
  };
  o.on_error = context.log;
  if (config.ring_timeout) {
    o.reconcile_after = std::chrono::duration_cast<Micros>(*config.ring_timeout + std::chrono::seconds(60));
  }
  auto cc = std::make_unique<ConnectContactCenter>(loop, std::move(o), connect, kinesis);
  PD_RETURN_IF_ERROR(cc->open());
  return cc;
}

}  // namespace pd::connect
