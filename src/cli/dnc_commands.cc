#include "cli/dnc_commands.h"

#include <algorithm>

#include "core/clock.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "io/dnc_file.h"
#include "io/object_io.h"
#include "io/phone.h"
#include "store/store.h"

namespace pd::cli {
namespace {

// Rejected rows printed before the rest are only counted.
constexpr int64_t kRejectsShown = 100;

std::string reasons_text(const std::map<std::string, int64_t>& by_reason) {
  std::string out;
  for (const auto& [reason, rows] : by_reason) {
    std::string words = reason;
    std::replace(words.begin(), words.end(), '_', ' ');
    out += cat(out.empty() ? "" : ", ", rows, " ", words);
  }
  return out;
}

absl::StatusOr<std::optional<WallTime>> expires_option(const std::string& text) {
  if (text.empty()) return std::optional<WallTime>();
  auto t = parse_dnc_expires(text);
  if (!t.ok()) return absl::InvalidArgumentError(cat("--expires: ", t.status().message()));
  return std::optional<WallTime>(*t);
}

absl::StatusOr<std::vector<std::string>> normalized(const std::vector<std::string>& numbers,
                                                    const std::string& region) {
  if (!is_supported_region(to_upper(region))) {
    return absl::InvalidArgumentError(cat("--region: unknown region \"", escape_controls(region),
                                          "\" (expected an ISO 3166 two-letter code such as US)"));
  }
  std::vector<std::string> out;
  for (const std::string& raw : numbers) {
    auto n = normalize_dnc_number(raw, region);
    if (!n.ok()) return n.status();
    out.push_back(*n);
  }
  return out;
}

}  // namespace

int cmd_dnc_load(const Context& ctx, const std::string& file, const DncOptions& options) {
  DncImportOptions import;
  import.default_region = options.region;
  import.source = options.source.empty() ? dnc_source_for_file(file) : options.source;
  import.workers = options.workers;
  auto expires = expires_option(options.expires);
  if (!expires.ok()) return fail(ctx, expires.status());
  import.expires_at = *expires;
  if (auto s = check_dnc_source(import.source); !s.ok()) {
    return fail(ctx, absl::InvalidArgumentError(cat("--source: ", s.message())));
  }
  auto store = open_store(ctx.db_path, /*create=*/false);
  if (!store.ok()) return fail(ctx, store.status());
  auto in = open_input(file, ObjectIoOptions{});
  if (!in.ok()) return fail(ctx, in.status());

  const std::string shown_file = escape_controls(file);
  import.on_reject = [&, printed = int64_t{0}](int64_t line, std::string_view reason) mutable {
    if (printed++ < kRejectsShown) {
      *ctx.err << shown_file << ": line " << line << ": " << escape_controls(reason) << "\n";
    }
  };
  DncLoadOptions load{system_clock().wall_now(),
                      options.replace_source ? import.source : std::string()};
  Store& s = **store;
  auto summary = import_dnc(
      **in, file, [&] { return s.begin_dnc(load); }, import);
  if (!summary.ok()) return fail(ctx, summary.status());
  if (summary->rejected > kRejectsShown) {
    *ctx.err << shown_file << ": " << summary->rejected - kRejectsShown
             << " more rejected row(s) not listed; all " << summary->rejected
             << " by reason: " << reasons_text(summary->rejected_by_reason) << "\n";
  }
  *ctx.out << "loaded " << summary->load.written << " number(s) from " << shown_file
           << " (source '" << import.source << "'): " << summary->rejected << " row(s) rejected";
  if (options.replace_source) {
    *ctx.out << ", " << summary->load.replaced << " earlier entr"
             << (summary->load.replaced == 1 ? "y" : "ies") << " of '" << import.source
             << "' replaced";
  }
  *ctx.out << "; the do-not-call list now has " << summary->load.total << " number(s)\n";
  return kOk;
}

int cmd_dnc_add(const Context& ctx, const std::vector<std::string>& numbers,
                const DncOptions& options) {
  const std::string source = options.source.empty() ? "manual" : options.source;
  if (auto s = check_dnc_source(source); !s.ok()) {
    return fail(ctx, absl::InvalidArgumentError(cat("--source: ", s.message())));
  }
  auto expires = expires_option(options.expires);
  if (!expires.ok()) return fail(ctx, expires.status());
  auto e164 = normalized(numbers, options.region);
  if (!e164.ok()) return fail(ctx, e164.status());
  auto store = open_store(ctx.db_path, /*create=*/false);
  if (!store.ok()) return fail(ctx, store.status());
  auto writer = (*store)->begin_dnc({system_clock().wall_now(), ""});
  if (!writer.ok()) return fail(ctx, writer.status());
  for (const std::string& n : *e164) {
    if (auto s = (*writer)->add(n, source, *expires); !s.ok()) return fail(ctx, s);
  }
  auto done = (*writer)->commit();
  if (!done.ok()) return fail(ctx, done.status());
  for (const std::string& n : *e164) *ctx.out << "added " << n << " (source '" << source << "')\n";
  *ctx.out << "the do-not-call list now has " << done->total << " number(s)\n";
  return kOk;
}

int cmd_dnc_remove(const Context& ctx, const std::vector<std::string>& numbers,
                   const DncOptions& options) {
  auto e164 = normalized(numbers, options.region);
  if (!e164.ok()) return fail(ctx, e164.status());
  auto store = open_store(ctx.db_path, /*create=*/false);
  if (!store.ok()) return fail(ctx, store.status());
  auto removed = (*store)->remove_dnc(*e164);
  if (!removed.ok()) return fail(ctx, removed.status());
  *ctx.out << "removed " << *removed << " of " << e164->size() << " number(s)";
  if (*removed < static_cast<int64_t>(e164->size())) *ctx.out << " (the others were not listed)";
  *ctx.out << "\n";
  return kOk;
}

int cmd_dnc_list(const Context& ctx, const DncOptions& options) {
  if (!options.source.empty()) {
    if (auto s = check_dnc_source(options.source); !s.ok()) {
      return fail(ctx, absl::InvalidArgumentError(cat("--source: ", s.message())));
    }
  }
  auto store = open_store(ctx.db_path, /*create=*/false);
  if (!store.ok()) return fail(ctx, store.status());
  DncQuery query{options.source, "", 0};
  absl::Status s;
  if (options.json) {
    DncJsonWriter w(*ctx.out, system_clock().wall_now());
    s = (*store)->for_each_dnc(query, [&](const DncEntry& e) { w.add(e); });
    if (s.ok()) w.finish();
  } else {
    DncCsvWriter w(*ctx.out);
    s = (*store)->for_each_dnc(query, [&](const DncEntry& e) { w.add(e); });
  }
  if (!s.ok()) return fail(ctx, s);
  return kOk;
}

int cmd_dnc_check(const Context& ctx, const std::string& number, const DncOptions& options) {
  auto e164 = normalized({number}, options.region);
  if (!e164.ok()) return fail(ctx, e164.status());
  const std::string& n = e164->front();
  auto store = open_store(ctx.db_path, /*create=*/false);
  if (!store.ok()) return fail(ctx, store.status());
  auto entry = (*store)->find_dnc(n);
  if (!entry.ok()) return fail(ctx, entry.status());
  const WallTime now = system_clock().wall_now();
  if (options.json) {
    *ctx.out << dnc_check_json(n, *entry, now).dump(2) << "\n";
    return kOk;
  }
  if (!entry->has_value()) {
    *ctx.out << n << " is not on the do-not-call list\n";
    return kOk;
  }
  const DncEntry& e = **entry;
  const std::string expiry =
      e.expires_at ? cat("expires ", format_iso8601(*e.expires_at)) : std::string("never expires");
  if (e.active_at(now)) {
    *ctx.out << n << " is on the do-not-call list (source '" << e.source << "', added "
             << format_iso8601(e.added_at) << ", " << expiry << ")\n";
  } else {
    *ctx.out << n << " is not on the do-not-call list: its entry (source '" << e.source
             << "', added " << format_iso8601(e.added_at) << ") expired "
             << format_iso8601(*e.expires_at) << "\n";
  }
  return kOk;
}

}  // namespace pd::cli
