#include "core/advice.h"

#include <charconv>

#include "absl/strings/cord.h"
#include "core/strings.h"

namespace pd {
namespace {

constexpr absl::string_view kAdviceUrl = "powerdialer/advice";
constexpr char kSep = '\x1f';  // never in a campaign name or config key

// A campaign name too long to be valid is not repeated (see echo()).
std::string_view campaign_or(const Advice& a, std::string_view placeholder) {
  return a.campaign.empty() || a.campaign.size() > kMaxEcho ? placeholder : a.campaign;
}

std::string cli_advice(const Advice& a, std::string_view program) {
  switch (a.step) {
    case Remedy::kCreateCampaign:
      return cat("create it with '", program, " --campaign ", campaign_or(a, "NAME"), " init'");
    case Remedy::kLoadList:
      return cat("load one with '", program, " load FILE'");
    case Remedy::kStopCampaign:
      return cat("stop it first ('", program, " stop') or wait for its lease to lapse");
    case Remedy::kSetConfig:
      return a.key.empty() ? cat("set each with '", program, " config set KEY VALUE'")
                           : cat("set it with '", program, " config set ", a.key, " VALUE'");
  }
  return {};
}

std::string api_advice(const Advice& a) {
  const std::string campaign = cat("/api/campaigns/", campaign_or(a, "NAME"));
  switch (a.step) {
    case Remedy::kCreateCampaign:
      return cat("create it with POST /api/campaigns {\"name\": \"", campaign_or(a, "NAME"), "\"}");
    case Remedy::kLoadList:
      return cat("upload one with PUT ", campaign, "/list");
    case Remedy::kStopCampaign:
      return cat("stop it first (POST ", campaign, "/stop) or wait for its lease to lapse");
    case Remedy::kSetConfig:
      return a.key.empty()
                 ? cat("set each with PATCH ", campaign, "/config {\"KEY\": \"VALUE\"}")
                 : cat("set it with PATCH ", campaign, "/config {\"", a.key, "\": \"VALUE\"}");
  }
  return {};
}

}  // namespace

absl::Status with_advice(absl::Status status, const Advice& advice) {
  if (status.ok()) return status;
  status.SetPayload(kAdviceUrl, absl::Cord(cat(static_cast<int>(advice.step), kSep, advice.campaign,
                                               kSep, advice.key)));
  return status;
}

std::optional<Advice> advice_of(const absl::Status& status) {
  auto payload = status.GetPayload(kAdviceUrl);
  if (!payload) return std::nullopt;
  const std::string text(*payload);
  const size_t a = text.find(kSep);
  const size_t b = a == std::string::npos ? a : text.find(kSep, a + 1);
  if (b == std::string::npos) return std::nullopt;
  int step = 0;
  std::from_chars(text.data(), text.data() + a, step);
  Advice advice;
  advice.step = static_cast<Remedy>(step);
  advice.campaign = text.substr(a + 1, b - a - 1);
  advice.key = text.substr(b + 1);
  return advice;
}

std::string message_for(const absl::Status& status, Audience who, std::string_view program) {
  std::string message(sv(status.message()));
  if (auto advice = advice_of(status)) {
    message += "; ";
    message += who == Audience::kCli ? cli_advice(*advice, program) : api_advice(*advice);
  }
  return message;
}

}  // namespace pd
