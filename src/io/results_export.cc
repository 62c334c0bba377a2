#include "io/results_export.h"

#include "core/strings.h"
#include "core/time_format.h"
#include "io/csv_writer.h"

namespace pd {

absl::StatusOr<int64_t> export_results(Store& store, CampaignId campaign, std::ostream& out) {
  out << kResultsHeader << "\r\n";
  CsvWriter w(out);
  int64_t rows = 0;
  auto time = [](const std::optional<WallTime>& t) {
    return t ? format_iso8601(*t) : std::string();
  };
  absl::Status status = store.for_each_attempt(campaign, [&](const AttemptRecord& a) {
    // Our own values (E.164 phones, times, outcomes) cannot hold formulas;
    // everything that came from outside is neutralised.
    w.cell(a.campaign)
        .cell(a.cust_id)
        .cell(a.phone, /*neutralise=*/false)
        .cell(cat(a.attempt_on_phone), false)
        .cell(format_iso8601(a.started_at), false)
        .cell(time(a.answered_at), false)
        .cell(time(a.ended_at), false)
        .cell(a.outcome ? to_string(*a.outcome) : to_string(a.state), false)
        .cell(a.disconnect_reason)
        .cell(a.contact_id)
        .cell(a.agent_id)
        .cell(a.disposition)
        .cell(a.callee_timezone, false)
        .cell(a.rule);
    w.end_row();
    ++rows;
  });
  if (!status.ok()) return status;
  out.flush();
  if (!out) return absl::DataLossError("results: write failed");
  return rows;
}

}  // namespace pd
