#include "core/advice.h"

#include <gtest/gtest.h>

#include <string>

#include "core/strings.h"

namespace pd {
namespace {

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(Advice, TheCliNamesACommandAndTheApiARequest) {
  const absl::Status s = with_advice(absl::FailedPreconditionError("campaign 'spring' has no list"),
                                     {Remedy::kLoadList, "spring", ""});
  const std::string cli = message_for(s, Audience::kCli, "/opt/pd/bin/powerdialer");
  EXPECT_EQ(cli,
            "campaign 'spring' has no list; load one with '/opt/pd/bin/powerdialer load FILE'");
  const std::string api = message_for(s, Audience::kApi);
  EXPECT_EQ(api, "campaign 'spring' has no list; upload one with PUT /api/campaigns/spring/list");
}

TEST(Advice, TheApiNeverSeesTheProgramOrACommandLine) {
  for (Remedy step :
       {Remedy::kCreateCampaign, Remedy::kLoadList, Remedy::kStopCampaign, Remedy::kSetConfig}) {
    for (std::string key : {"", "outputfile"}) {
      const absl::Status s =
          with_advice(absl::FailedPreconditionError("no"), {step, "spring", key});
      const std::string api = message_for(s, Audience::kApi, "/secret/build/powerdialer");
      EXPECT_FALSE(has(api, "powerdialer")) << api;
      EXPECT_FALSE(has(api, "/secret")) << api;
      EXPECT_TRUE(has(api, "/api/campaigns")) << api;
      const std::string cli = message_for(s, Audience::kCli, "/secret/build/powerdialer");
      EXPECT_TRUE(has(cli, "/secret/build/powerdialer")) << cli;
      EXPECT_FALSE(has(cli, "/api/")) << cli;
    }
  }
}

TEST(Advice, EachStepSaysWhatToDo) {
  auto api = [](Remedy step, std::string key = "") {
    return message_for(with_advice(absl::NotFoundError("x"), {step, "spring", key}),
                       Audience::kApi);
  };
  EXPECT_EQ(api(Remedy::kCreateCampaign),
            R"(x; create it with POST /api/campaigns {"name": "spring"})");
  EXPECT_EQ(api(Remedy::kStopCampaign),
            "x; stop it first (POST /api/campaigns/spring/stop) or wait for its lease to lapse");
  EXPECT_EQ(api(Remedy::kSetConfig, "queue"),
            R"(x; set it with PATCH /api/campaigns/spring/config {"queue": "VALUE"})");
  auto cli = [](Remedy step, std::string key = "") {
    return message_for(with_advice(absl::NotFoundError("x"), {step, "spring", key}), Audience::kCli,
                       "pd");
  };
  EXPECT_EQ(cli(Remedy::kCreateCampaign), "x; create it with 'pd --campaign spring init'");
  EXPECT_EQ(cli(Remedy::kStopCampaign),
            "x; stop it first ('pd stop') or wait for its lease to lapse");
  EXPECT_EQ(cli(Remedy::kSetConfig, "queue"), "x; set it with 'pd config set queue VALUE'");
  EXPECT_EQ(cli(Remedy::kSetConfig), "x; set each with 'pd config set KEY VALUE'");
}

TEST(Advice, WithoutAdviceTheMessageIsAsIsAndOkStaysOk) {
  EXPECT_EQ(message_for(absl::InternalError("disk on fire"), Audience::kApi), "disk on fire");
  EXPECT_TRUE(with_advice(absl::OkStatus(), {Remedy::kLoadList, "x", ""}).ok());
  EXPECT_FALSE(advice_of(absl::InternalError("x")).has_value());
  auto a =
      advice_of(with_advice(absl::InternalError("x"), {Remedy::kSetConfig, "spring", "queue"}));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->step, Remedy::kSetConfig);
  EXPECT_EQ(a->campaign, "spring");
  EXPECT_EQ(a->key, "queue");
}

TEST(Echo, ShortInputIsQuotedWhole) {
  EXPECT_EQ(echo("spring"), "'spring'");
  EXPECT_EQ(echo(""), "''");
  EXPECT_EQ(echo(std::string(kMaxEcho, 'a')), fmt::format("'{}'", std::string(kMaxEcho, 'a')));
}

TEST(Echo, LongInputIsCutWithItsLength) {
  const std::string shown = echo(std::string(100000, 'a'));
  EXPECT_EQ(shown, fmt::format("'{}\u2026' (100000 characters)", std::string(kMaxEcho, 'a')));
  EXPECT_LT(shown.size(), 100u);
  // Cut between characters, never inside one: 65 two-byte characters.
  std::string accents;
  for (int i = 0; i < 65; ++i) accents += "\xC3\xA9";
  const std::string kept = accents.substr(0, 2 * kMaxEcho);
  EXPECT_EQ(echo(accents), fmt::format("'{}\u2026' (65 characters)", kept));
}

TEST(Echo, ControlCharactersAreEscaped) { EXPECT_EQ(echo("a\x1b[31mb\n"), "'a\\x1b[31mb\\x0a'"); }

}  // namespace
}  // namespace pd
