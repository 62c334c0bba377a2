#include "core/retry_policy.h"

#include <algorithm>
#include <cctype>

#include "core/config_keys.h"
#include "core/strings.h"

namespace pd {
namespace {

constexpr std::chrono::seconds kMaxDispositionDelay{30 * 24 * 3600};

}  // namespace

bool is_disposition_code(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

std::string_view to_string(DispositionAction a) {
  switch (a) {
    case DispositionAction::kDone:
      return "done";
    case DispositionAction::kCallback:
      return "callback";
    case DispositionAction::kRetry:
      return "retry";
    case DispositionAction::kDnc:
      return "dnc";
  }
  return "done";
}

absl::StatusOr<DispositionRules> parse_dispositions(std::string_view text) {
  DispositionRules out;
  std::string_view rest = trim(text);
  int index = 0;
  while (!rest.empty()) {
    ++index;
    const size_t comma = rest.find(',');
    const std::string_view entry = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          cat("entry ", index, " (", echo(entry), "): ", why,
              "; expected CODE=ACTION entries separated by commas, ACTION one of done, dnc, "
              "callback:DELAY, retry:DELAY (e.g. SALE=done,CALLBACK=callback:2h)"));
    };
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) return bad("no '='");
    const std::string code = to_upper(trim(entry.substr(0, eq)));
    if (!is_disposition_code(code)) {
      return bad("the code must be 1-64 letters, digits, '_', '-' or '.'");
    }
    if (out.count(code) > 0) return bad(cat("code ", code, " appears twice"));
    std::string_view action = trim(entry.substr(eq + 1));
    std::string_view delay;
    if (const size_t colon = action.find(':'); colon != std::string_view::npos) {
      delay = trim(action.substr(colon + 1));
      action = trim(action.substr(0, colon));
    }
    DispositionRule rule;
    const std::string name = to_lower(action);
    if (name == "done") {
      rule.action = DispositionAction::kDone;
    } else if (name == "dnc") {
      rule.action = DispositionAction::kDnc;
    } else if (name == "callback") {
      rule.action = DispositionAction::kCallback;
    } else if (name == "retry") {
      rule.action = DispositionAction::kRetry;
    } else {
      return bad(cat("unknown action ", echo(action)));
    }
    const bool timed =
        rule.action == DispositionAction::kCallback || rule.action == DispositionAction::kRetry;
    if (timed) {
      auto d = parse_duration(delay);
      if (delay.empty()) return bad(cat(name, " needs a delay, as in ", name, ":2h"));
      if (!d || *d < std::chrono::seconds(1) || *d > kMaxDispositionDelay)
        return bad(cat("bad delay ", echo(delay), ": expected 1s to 30d, such as 90s, 30m, 2h"));
      rule.delay = *d;
    } else if (!delay.empty()) {
      return bad(cat(name, " takes no delay"));
    }
    out.emplace(code, rule);
  }
  return out;
}

std::string format_dispositions(const DispositionRules& rules) {
  std::string out;
  for (const auto& [code, rule] : rules) {
    if (!out.empty()) out += ',';
    out += cat(code, "=", to_string(rule.action));
    if (rule.action == DispositionAction::kCallback || rule.action == DispositionAction::kRetry)
      out += cat(":", format_duration(rule.delay));
  }
  return out;
}

const DispositionRule* find_disposition(const DispositionRules& rules, std::string_view code) {
  auto it = rules.find(to_upper(trim(code)));
  return it == rules.end() ? nullptr : &it->second;
}

NextStep decide_next_step(Outcome outcome, const PhoneProgress& progress, const RetryRules& rules) {
  if (is_reached(outcome)) return {CustomerState::kReached, progress.phone_seq, {}};
  if (is_retryable(outcome) && progress.attempts_on_phone < rules.max_attempts_per_phone) {
    return {CustomerState::kPending, progress.phone_seq, rules.retry_delay};
  }
  // This phone is finished (invalid, or out of attempts): the next phone is
  // tried at once, since it is a different line.
  if (progress.phone_seq + 1 < progress.phone_count) {
    return {CustomerState::kPending, progress.phone_seq + 1, {}};
  }
  return {CustomerState::kExhausted, progress.phone_seq, {}};
}

NextStep decide_next_step(Outcome outcome, const PhoneProgress& progress, const RetryRules& rules,
                          const DispositionRule* rule) {
  if (rule == nullptr) return decide_next_step(outcome, progress, rules);
  switch (rule->action) {
    case DispositionAction::kDone:
    case DispositionAction::kDnc:
      return {is_reached(outcome) ? CustomerState::kReached : CustomerState::kExhausted,
              progress.phone_seq,
              {}};
    case DispositionAction::kCallback:
    case DispositionAction::kRetry:
      return {CustomerState::kPending, progress.phone_seq, rule->delay};
  }
  return decide_next_step(outcome, progress, rules);
}

}  // namespace pd
