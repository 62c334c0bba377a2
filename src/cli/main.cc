// powerdialer: wires the command line to the subcommands; no logic here.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <optional>
#include <tuple>

#include "cli/commands.h"
#include "cli/compliance_command.h"
#include "cli/dialer_commands.h"
#include "cli/dnc_commands.h"
#include "cli/serve_command.h"
#include "core/config_keys.h"
#include "core/start_time.h"
#include "core/strings.h"
#include "telephony/amazon_connect/standin.h"

namespace {

// Simulator flags shared by run, simulate, demo, serve and connect-standin.
// Durations are read after parsing (see apply_sim_durations) so they accept
// "90s", "3m", "8h".
struct SimFlags {
  std::string talk_mean = "180s", acw_mean = "30s", ring_timeout = "25s", shift = "0";
  std::string dispositions;
  std::string patience = "2s", amd_delay = "0", login_spread = "0", break_every = "0",
              break_length = "0";
  std::string answer_drift;
  std::string talk_dist = "lognormal", acw_dist = "lognormal", patience_dist = "fixed";
  bool no_two_second_rule = false;
  // To tell a flag given from its default.
  CLI::Option* answer_rate = nullptr;
  CLI::Option* talk_sigma = nullptr;
  CLI::Option* acw_sigma = nullptr;
  CLI::Option* patience_sigma = nullptr;
};

void add_sim_options(CLI::App* app, pd::SimConfig& sim, SimFlags& flags) {
  app->add_option("--agents", sim.agents, "simulated agents")->check(CLI::Range(1, 100000));
  app->add_option("--seed", sim.seed, "random seed (same seed, same campaign)");
  flags.answer_rate =
      app->add_option("--answer-rate", sim.answer_rate, "share of calls a person answers")
          ->check(CLI::Range(0.0, 1.0));
  app->add_option("--answer-drift", flags.answer_drift,
                  "the answer rate through the day instead: TIME=RATE points since the day's "
                  "start, linear between, e.g. 0h=0.25,4h=0.15,8h=0.30");
  app->add_option("--busy-rate", sim.busy_rate, "share of calls that get a busy line")
      ->check(CLI::Range(0.0, 1.0));
  app->add_option("--invalid-rate", sim.invalid_rate, "share of numbers the network rejects")
      ->check(CLI::Range(0.0, 1.0));
  app->add_option("--machine-rate", sim.machine_rate,
                  "share of answers that are answering machines")
      ->check(CLI::Range(0.0, 1.0));
  app->add_option("--amd-delay", flags.amd_delay,
                  "answering-machine detection time: every answer waits this long before a "
                  "person is routed to an agent (machines end then); 0: no AMD");
  app->add_option("--throttle-rate", sim.failure_rate,
                  "share of call requests refused as throttled")
      ->check(CLI::Range(0.0, 1.0));
  const auto distributions = CLI::IsMember({"lognormal", "exponential", "fixed"});
  app->add_option("--talk-mean", flags.talk_mean, "mean talk time (90s, 3m, ...)");
  app->add_option("--talk-dist", flags.talk_dist, "talk time: lognormal, exponential or fixed")
      ->check(distributions);
  flags.talk_sigma =
      app->add_option("--talk-sigma", sim.talk_sigma, "lognormal talk time's log-space sigma")
          ->check(CLI::Range(0.0, 10.0));
  app->add_option("--acw-mean", flags.acw_mean, "mean after-call work");
  app->add_option("--acw-dist", flags.acw_dist, "after-call work: lognormal, exponential or fixed")
      ->check(distributions);
  flags.acw_sigma =
      app->add_option("--acw-sigma", sim.acw_sigma, "lognormal after-call work's log-space sigma")
          ->check(CLI::Range(0.0, 10.0));
  app->add_option("--patience", flags.patience,
                  "mean time an answered person waits for an agent before hanging up");
  app->add_option("--patience-dist", flags.patience_dist,
                  "patience: fixed (default), exponential or lognormal")
      ->check(distributions);
  flags.patience_sigma = app->add_option("--patience-sigma", sim.patience_sigma,
                                         "lognormal patience's log-space sigma")
                             ->check(CLI::Range(0.0, 10.0));
  app->add_flag("--no-two-second-rule", flags.no_two_second_rule,
                "count only hang-ups as abandons, not people put through more than 2 s after "
                "the answer (for comparison; TCPA counts both)");
  app->add_option("--ring-timeout", flags.ring_timeout, "how long an unanswered call rings");
  app->add_option("--shift", flags.shift, "agents log off after this long (0: never)");
  app->add_option("--login-spread", flags.login_spread,
                  "agents log in at random times over this long from the day's start");
  app->add_option("--break-every", flags.break_every,
                  "a break falls due this often in a shift (with --break-length)");
  app->add_option("--break-length", flags.break_length, "how long a break lasts");
  app->add_option("--days", sim.days,
                  "days to simulate: agents log in again 24 h after the previous day's start "
                  "(needs --shift)")
      ->check(CLI::Range(1, 1000));
  app->add_option("--dispositions", flags.dispositions,
                  "wrap-up codes agents give talked calls, with shares: SALE=0.2,CALLBACK=0.1");
}

// Returns an error message naming the flag, or empty.
std::string apply_sim_durations(pd::SimConfig& sim, const SimFlags& flags) {
  const std::pair<const char*, std::pair<const std::string*, pd::Micros*>> items[] = {
      {"--talk-mean", {&flags.talk_mean, &sim.talk_mean}},
      {"--acw-mean", {&flags.acw_mean, &sim.acw_mean}},
      {"--ring-timeout", {&flags.ring_timeout, &sim.ring_timeout}},
      {"--shift", {&flags.shift, &sim.shift}},
      {"--patience", {&flags.patience, &sim.patience}},
      {"--amd-delay", {&flags.amd_delay, &sim.amd_delay}},
      {"--login-spread", {&flags.login_spread, &sim.login_spread}},
      {"--break-every", {&flags.break_every, &sim.break_every}},
      {"--break-length", {&flags.break_length, &sim.break_length}},
  };
  for (const auto& [name, target] : items) {
    auto d = pd::parse_duration(*target.first);
    if (!d)
      return std::string("invalid value '") + *target.first + "' for " + name +
             ": expected a duration such as 90s, 5m or 8h";
    *target.second = std::chrono::duration_cast<pd::Micros>(*d);
  }
  if (!flags.dispositions.empty()) {
    auto shares = pd::parse_disposition_shares(flags.dispositions);
    if (!shares.ok()) return std::string("--dispositions: ") + std::string(shares.status().message());
    sim.dispositions = std::move(*shares);
  }
  if (!flags.answer_drift.empty()) {
    if (flags.answer_rate != nullptr && flags.answer_rate->count() > 0) {
      return "--answer-drift replaces --answer-rate: give one of them";
    }
    auto drift = pd::parse_answer_drift(flags.answer_drift);
    if (!drift.ok()) return std::string("--answer-drift: ") + std::string(drift.status().message());
    sim.answer_drift = std::move(*drift);
  }
  const std::tuple<const char*, const std::string*, pd::Distribution*, const char*, CLI::Option*>
      dists[] = {
          {"--talk-dist", &flags.talk_dist, &sim.talk_dist, "--talk-sigma", flags.talk_sigma},
          {"--acw-dist", &flags.acw_dist, &sim.acw_dist, "--acw-sigma", flags.acw_sigma},
          {"--patience-dist", &flags.patience_dist, &sim.patience_dist, "--patience-sigma",
           flags.patience_sigma},
      };
  for (const auto& [name, text, target, sigma_name, sigma] : dists) {
    auto d = pd::parse_distribution(*text);
    if (!d.ok()) return std::string(name) + ": " + std::string(d.status().message());
    *target = *d;
    if (*d != pd::Distribution::kLognormal && sigma != nullptr && sigma->count() > 0) {
      return std::string(sigma_name) + " applies only to " + name + " lognormal (not " + *text +
             ")";
    }
  }
  sim.two_second_rule = !flags.no_two_second_rule;
  // A short ring timeout shortens how long answered calls ring, too.
  sim.ring_max = std::min(sim.ring_max, sim.ring_timeout);
  sim.ring_min = std::min(sim.ring_min, sim.ring_max);
  if (auto s = sim.validate(); !s.ok()) return std::string(s.message());
  return {};
}

// Runs `command` once the durations parsed; otherwise reports the bad flag.
int with_sim_durations(pd::SimConfig& sim, const SimFlags& flags,
                       const std::function<int()>& command) {
  if (auto e = apply_sim_durations(sim, flags); !e.empty()) {
    std::cerr << "powerdialer: " << pd::escape_controls(e) << "\n";
    return 1;
  }
  return command();
}

// The word that names no command, when argv has one where a command is
// due. CLI11 reports that as "A subcommand is required" (or as an argument
// not expected), which leaves the user guessing.
struct UnknownCommand {
  std::string word;
  const CLI::App* parent = nullptr;
};
std::optional<UnknownCommand> find_unknown_command(const CLI::App& app, int argc, char** argv) {
  const CLI::App* at = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") return std::nullopt;
    if (arg.size() > 1 && arg[0] == '-') {
      // An option: skip its value when it takes one and is not "--x=v".
      if (arg.find('=') != std::string::npos) continue;
      const CLI::Option* opt = nullptr;
      for (const CLI::App* a = at; a != nullptr && opt == nullptr; a = a->get_parent()) {
        opt = a->get_option_no_throw(arg);
      }
      if (opt != nullptr && opt->get_items_expected_max() > 0) ++i;
      continue;
    }
    const CLI::App* sub = nullptr;
    for (const CLI::App* s : at->get_subcommands([](const CLI::App*) { return true; })) {
      if (s->check_name(arg)) sub = s;
    }
    if (sub == nullptr) {
      // A command that takes positionals (e.g. `load FILE`) has no
      // subcommands to miss.
      if (at->get_subcommands([](const CLI::App*) { return true; }).empty()) {
        return std::nullopt;
      }
      return UnknownCommand{arg, at};
    }
    at = sub;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  pd::cli::Context ctx;
  ctx.program = argv[0];
  if (const char* db = std::getenv("POWERDIALER_DB"); db != nullptr && *db != '\0') {
    ctx.db_path = db;
  }
  if (const char* c = std::getenv("POWERDIALER_CAMPAIGN"); c != nullptr && *c != '\0') {
    ctx.campaign = c;
  }

  CLI::App app{
      "powerdialer: a power dialer for Amazon Connect (and a built-in simulated contact centre)"};
  app.set_version_flag("--version", std::string("powerdialer ") + POWERDIALER_VERSION);
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();
  app.add_option("--db", ctx.db_path, "SQLite database file or postgresql:// URL (env POWERDIALER_DB)");
  app.add_option("--campaign", ctx.campaign, "campaign name (env POWERDIALER_CAMPAIGN)");

  std::function<int()> run;

  auto* init = app.add_subcommand("init",
                                  "create or upgrade the database and the campaign with its "
                                  "default configuration; safe to run twice");
  init->callback([&] { run = [&] { return pd::cli::cmd_init(ctx); }; });

  auto* config = app.add_subcommand("config", "read and change the campaign's configuration");
  config->require_subcommand(1);
  std::string key, value;
  bool json = false;
  auto* set = config->add_subcommand("set", "set KEY to VALUE (validated)");
  set->add_option("key", key, "configuration key")->required();
  set->add_option("value", value, "new value")->required();
  set->callback([&] { run = [&] { return pd::cli::cmd_config_set(ctx, key, value); }; });
  auto* unset = config->add_subcommand("unset", "return KEY to its default");
  unset->add_option("key", key, "configuration key")->required();
  unset->callback([&] { run = [&] { return pd::cli::cmd_config_unset(ctx, key); }; });
  auto* get = config->add_subcommand("get", "print KEY's value (its default when not set)");
  get->add_option("key", key, "configuration key")->required();
  get->callback([&] { run = [&] { return pd::cli::cmd_config_get(ctx, key); }; });
  auto* list = config->add_subcommand("list", "every key with its value and meaning");
  list->add_flag("--json", json, "print one JSON object");
  list->callback([&] { run = [&] { return pd::cli::cmd_config_list(ctx, json); }; });

  std::string file;
  bool append = false;
  int workers = 0;
  auto* load = app.add_subcommand("load",
                                  "import a dialing list (CSV with custID and phone columns); "
                                  "replaces the list and resets dialing state unless --append");
  load->add_option("file", file, "CSV file (default: the campaign's inputfile)");
  load->add_flag("--append", append, "add to the current list instead of replacing it");
  load->add_option("--workers", workers, "phone-validation processes (0: one per core)")
      ->check(CLI::Range(0, 64));
  load->callback([&] {
    run = [&] {
      return pd::cli::cmd_load(ctx, file.empty() ? std::nullopt : std::optional(file), append,
                               workers);
    };
  });

  auto* status = app.add_subcommand("status", "campaign state, list size and attempts by outcome");
  status->add_flag("--json", json, "print one JSON object (keys documented in the README)");
  status->callback([&] { run = [&] { return pd::cli::cmd_status(ctx, json); }; });

  std::string output;
  auto* results = app.add_subcommand("results", "one CSV row per dial attempt");
  results->add_option("-o,--output", output, "write to FILE instead of standard output");
  results->callback([&] {
    run = [&] {
      return pd::cli::cmd_results(ctx, output.empty() ? std::nullopt : std::optional(output));
    };
  });

  auto* rejects = app.add_subcommand(
      "rejects", "the rows the last load rejected, with line numbers and reasons");
  rejects->add_flag("--json", json, "print JSON");
  rejects->callback([&] { run = [&] { return pd::cli::cmd_rejects(ctx, json); }; });

  bool all_campaigns = false;
  auto* compliance = app.add_subcommand(
      "compliance",
      "the proof that the calling rules held: per rule the calls checked, held back and "
      "violations (an independent audit of every placed call), and the abandon rates; exits 2 "
      "when there is a violation");
  compliance->add_flag("--json", json, "print one JSON object");
  compliance->add_flag("--all", all_campaigns, "every campaign in the database, with a total");
  compliance->callback(
      [&] { run = [&] { return pd::cli::cmd_compliance(ctx, json, all_campaigns); }; });

  auto* rules = app.add_subcommand(
      "rules", "the region rules (state calling hours and caps) every campaign dials under");
  rules->require_subcommand(1);
  auto* rules_show = rules->add_subcommand("show", "print the rules in force");
  rules_show->callback([&] { run = [&] { return pd::cli::cmd_rules_show(ctx); }; });
  std::string rules_file;
  auto* rules_load = rules->add_subcommand(
      "load", "check FILE and store it as the rules for every campaign (nothing changes on error)");
  rules_load->add_option("file", rules_file, "rules file (format: 'rules show')")->required();
  rules_load->callback([&] { run = [&] { return pd::cli::cmd_rules_load(ctx, rules_file); }; });

  auto* campaigns = app.add_subcommand("campaigns", "list the campaigns in the database");
  campaigns->add_flag("--json", json, "print JSON");
  campaigns->callback([&] { run = [&] { return pd::cli::cmd_campaigns(ctx, json); }; });

  pd::cli::RunOptions run_options;
  SimFlags run_flags;
  auto* run_cmd =
      app.add_subcommand("run", "dial the campaign until the list is done or it is stopped");
  run_cmd
      ->add_option("--backend", run_options.backend,
                   "contact centre: sim (built-in simulator) or connect (Amazon Connect)")
      ->check(CLI::IsMember({"sim", "connect"}));
  run_cmd->add_option("--speed", run_options.speed,
                      "simulator only: run X times faster than real time");
  run_cmd->add_option("--start", run_options.start,
                      "the dialer's clock starts here instead of now: \"2026-03-08 06:00 "
                      "America/New_York\" or an RFC 3339 time (simulator, or a Connect stand-in "
                      "given the same --start)");
  add_sim_options(run_cmd, run_options.sim, run_flags);
  run_cmd->callback([&] {
    run = [&] {
      return with_sim_durations(run_options.sim, run_flags,
                                [&] { return pd::cli::cmd_run(ctx, run_options); });
    };
  });

  auto* stop = app.add_subcommand(
      "stop", "make the running dialer stop gracefully (from any process sharing the database)");
  stop->callback([&] { run = [&] { return pd::cli::cmd_stop(ctx); }; });

  pd::cli::SimulateOptions sim_options;
  SimFlags sim_flags;
  auto* simulate =
      app.add_subcommand("simulate",
                         "a whole campaign on a virtual clock, through the real engine and store, "
                         "as fast as the machine allows; prints JSON");
  auto* customers_opt =
      simulate->add_option("--customers", sim_options.customers, "generated customers");
  simulate->add_option("--list", sim_options.list, "dial this CSV list instead")
      ->excludes(customers_opt);
  simulate->add_option("--results", sim_options.results, "also write the results CSV here");
  simulate->add_option("--max-attempts", sim_options.max_attempts, "attempts per phone");
  simulate->add_option("--retry-delay", sim_options.retry_delay,
                       "wait before calling a phone again");
  simulate->add_option("--start", sim_options.start,
                       "the virtual clock starts here: \"2026-03-08 06:00 America/New_York\" "
                       "(date, time, IANA zone) or an RFC 3339 time (default: "
                       "2026-01-06T14:00:00Z, a Tuesday 09:00 in New York)");
  simulate->add_option("--store", sim_options.store,
                       "keep the simulation's store in this new file (campaign 'simulate'), "
                       "for status, results and compliance with --db");
  simulate->add_option("--config", sim_options.config,
                       "KEY=VALUE campaign configuration, as `config set` (repeatable)")
      ->allow_extra_args(false);
  simulate->add_option("--pacing", sim_options.pacing,
                       "pacing mode: power (default), progressive, predictive or vicidial-adapt "
                       "(the `pacing` key)");
  simulate->add_option("--lines-per-agent", sim_options.lines_per_agent,
                       "progressive: calls per free agent, e.g. 1.5 (the `lines-per-agent` key)");
  simulate->add_option("--target-abandon-rate", sim_options.target_abandon_rate,
                       "the abandon rate predictive steers to and vicidial-adapt's drop limit, "
                       "e.g. 2.5% (the `target-abandon-rate` key)");
  add_sim_options(simulate, sim_options.sim, sim_flags);
  simulate->callback([&] {
    run = [&] {
      return with_sim_durations(sim_options.sim, sim_flags,
                                [&] { return pd::cli::cmd_simulate(ctx, sim_options); });
    };
  });

  pd::cli::DemoOptions demo_options;
  demo_options.sim.agents = 20;
  SimFlags demo_flags;
  auto* demo = app.add_subcommand(
      "demo",
      "a first campaign for a newcomer: bundled list, simulator, fresh store; about a minute");
  demo->add_option("--dir", demo_options.dir, "folder for the demo's store, list and results");
  demo->add_option("--speed", demo_options.speed, "run X times faster than real time");
  add_sim_options(demo, demo_options.sim, demo_flags);
  demo->callback([&] {
    run = [&] {
      return with_sim_durations(demo_options.sim, demo_flags,
                                [&] { return pd::cli::cmd_demo(ctx, demo_options); });
    };
  });

  pd::cli::ServeOptions serve_options;
  SimFlags serve_flags;
  auto* serve = app.add_subcommand(
      "serve",
      "HTTP API, live feed, /metrics and dashboard; dials every campaign started through it");
  serve->add_option("--listen", serve_options.listen,
                    "HOST:PORT to listen on (a non-loopback address needs an API token)");
  serve
      ->add_option("--backend", serve_options.backend.backend,
                   "contact centre: sim (built-in simulator) or connect (Amazon Connect)")
      ->check(CLI::IsMember({"sim", "connect"}));
  serve->add_option("--speed", serve_options.speed,
                    "simulator only: run X times faster than real time");
  serve->add_option("--start", serve_options.start,
                    "simulator only: the clock starts here instead of now (as run --start)");
  serve->add_option("--max-clients", serve_options.max_clients,
                    "open connections in all; when full, the oldest one still sending its "
                    "request head is closed to make room");
  serve
      ->add_option("--max-clients-per-address", serve_options.max_clients_per_address,
                   "open connections from one client address (same rule)")
      ->check(CLI::Range(1, 20000));
  serve
      ->add_option("--header-timeout", serve_options.header_timeout_seconds,
                   "seconds a request's head (request line and headers) may take to arrive")
      ->check(CLI::Range(1, 3600));
  serve
      ->add_option("--allowed-host", serve_options.allowed_hosts,
                   "a host name requests may name in Host besides IP addresses and localhost "
                   "(repeatable; e.g. the proxy's public name)")
      ->allow_extra_args(false);
  serve->add_option("--tls-cert", serve_options.tls_cert,
                    "serve HTTPS with this PEM certificate chain (with --tls-key)");
  serve->add_option("--tls-key", serve_options.tls_key, "the PEM private key of --tls-cert");
  serve->add_flag("--insecure-http", serve_options.insecure_http,
                  "allow plain HTTP on a non-loopback --listen (behind a TLS-terminating proxy)");
  serve
      ->add_option("--max-list-bytes", serve_options.max_list_bytes,
                   "largest dialing list accepted by PUT .../list")
      ->check(CLI::Range(int64_t{1024}, int64_t{1} << 40));
  serve
      ->add_option("--max-body-bytes", serve_options.max_body_bytes,
                   "largest body of any other request")
      ->check(CLI::Range(int64_t{1024}, int64_t{1} << 30));
  serve
      ->add_option("--io-timeout", serve_options.io_timeout_seconds,
                   "seconds one write may take, or a request body may pause")
      ->check(CLI::Range(1, 3600));
  serve
      ->add_option("--body-timeout", serve_options.body_timeout_seconds,
                   "seconds a whole request body may take to arrive")
      ->check(CLI::Range(1, 86400));
  serve->add_option("--files-dir", serve_options.files_dir,
                    "the only folder where API clients' local inputfile/outputfile may be "
                    "(default: DB-files beside the --db file; powerdialer-files in the current "
                    "folder for a postgresql:// store)");
  serve->add_option("--node-id", serve_options.node_id,
                    "this server's name among the dialer nodes sharing the store (default: "
                    "HOST:PID:RANDOM, new at every start)");
  serve
      ->add_option("--lease", serve_options.lease_seconds,
                   "seconds a campaign's lease (and a node's heartbeat) lasts: another node "
                   "takes a dead node's campaigns over within this plus a third of it")
      ->check(CLI::Range(1.0, 3600.0));
  add_sim_options(serve, serve_options.backend.sim, serve_flags);
  serve->callback([&] {
    run = [&] {
      return with_sim_durations(serve_options.backend.sim, serve_flags,
                                [&] { return pd::cli::cmd_serve(ctx, serve_options); });
    };
  });

  std::string migrate_from, migrate_to;
  auto* migrate = app.add_subcommand(
      "migrate",
      "copy a whole store (every campaign, list, attempt, token, checkpoint and do-not-call "
      "entry) into a new, empty one: an SQLite file or a postgresql:// URL, either way");
  migrate->add_option("--from", migrate_from, "the store to copy (file or postgresql:// URL)")
      ->required();
  migrate->add_option("--to", migrate_to, "the new store (created; must be empty)")->required();
  migrate->callback(
      [&] { run = [&] { return pd::cli::cmd_migrate(ctx, migrate_from, migrate_to); }; });

  auto* token = app.add_subcommand("token", "bearer tokens for the HTTP API (`serve`)");
  token->require_subcommand(1);
  std::string token_name;
  auto* token_create = token->add_subcommand(
      "create", "make a new token and print it once (only its SHA-256 is stored)");
  auto* token_name_opt =
      token_create->add_option("--name", token_name,
                               "a name to revoke it by: 1-64 letters, digits, '-', '_' or '.' "
                               "(default: default, default-2, ...)");
  token_create->callback([&] {
    run = [&] {
      // `--name ''` is a name given, and refused as such, not "no name".
      return pd::cli::cmd_token_create(
          ctx, token_name_opt->count() > 0 ? std::optional(token_name) : std::nullopt);
    };
  });
  auto* token_list =
      token->add_subcommand("list", "the tokens' names, creation times and last 4 characters");
  token_list->add_flag("--json", json, "print JSON");
  token_list->callback([&] { run = [&] { return pd::cli::cmd_token_list(ctx, json); }; });
  auto* token_revoke = token->add_subcommand("revoke", "delete token NAME");
  token_revoke->add_option("name", token_name, "token name")->required();
  token_revoke->callback([&] { run = [&] { return pd::cli::cmd_token_revoke(ctx, token_name); }; });

  // The do-not-call list is the store's, shared by every campaign: --db
  // only, no --campaign.
  auto* dnc = app.add_subcommand(
      "dnc", "the do-not-call list, shared by every campaign in the database: numbers on it are "
             "never dialled (their attempts end 'suppressed')");
  dnc->require_subcommand(1);
  pd::cli::DncOptions dnc_options;
  std::vector<std::string> dnc_numbers;
  std::string dnc_file;
  auto region_option = [&](CLI::App* cmd) {
    cmd->add_option("--region", dnc_options.region,
                    "region of numbers written without '+' (ISO 3166 code)");
  };
  auto* dnc_load = dnc->add_subcommand(
      "load",
      "add the numbers of FILE (local or s3://): one number per line, or a CSV with a phone, "
      "number, phone_number or e164 column and optional expires and source columns");
  dnc_load->add_option("file", dnc_file, "the file")->required();
  dnc_load->add_option("--source", dnc_options.source,
                       "label for the numbers (default: the file's name)");
  dnc_load->add_option("--expires", dnc_options.expires,
                       "the numbers leave the list after this date (YYYY-MM-DD, UTC) or time "
                       "(RFC 3339)");
  dnc_load->add_flag("--replace-source", dnc_options.replace_source,
                     "drop the source's earlier entries first: the file is its whole list");
  dnc_load->add_option("--workers", dnc_options.workers, "phone-validation processes (0: one per core)")
      ->check(CLI::Range(0, 64));
  region_option(dnc_load);
  dnc_load->callback([&] { run = [&] { return pd::cli::cmd_dnc_load(ctx, dnc_file, dnc_options); }; });
  auto* dnc_add = dnc->add_subcommand("add", "put NUMBER... on the list");
  dnc_add->add_option("numbers", dnc_numbers, "phone numbers")->required();
  dnc_add->add_option("--source", dnc_options.source, "label (default: manual)");
  dnc_add->add_option("--expires", dnc_options.expires, "as for load");
  region_option(dnc_add);
  dnc_add->callback([&] { run = [&] { return pd::cli::cmd_dnc_add(ctx, dnc_numbers, dnc_options); }; });
  auto* dnc_remove = dnc->add_subcommand("remove", "take NUMBER... off the list");
  dnc_remove->add_option("numbers", dnc_numbers, "phone numbers")->required();
  region_option(dnc_remove);
  dnc_remove->callback(
      [&] { run = [&] { return pd::cli::cmd_dnc_remove(ctx, dnc_numbers, dnc_options); }; });
  auto* dnc_list = dnc->add_subcommand(
      "list", "every entry as CSV (number,source,added_at,expires; 'dnc load' reads it back)");
  dnc_list->add_option("--source", dnc_options.source, "only this source's entries");
  dnc_list->add_flag("--json", dnc_options.json, "print a JSON array");
  dnc_list->callback([&] { run = [&] { return pd::cli::cmd_dnc_list(ctx, dnc_options); }; });
  auto* dnc_check = dnc->add_subcommand("check", "is NUMBER on the list? (source, added, expires)");
  dnc_check->add_option("number", dnc_file, "phone number")->required();
  dnc_check->add_flag("--json", dnc_options.json, "print JSON");
  region_option(dnc_check);
  dnc_check->callback([&] { run = [&] { return pd::cli::cmd_dnc_check(ctx, dnc_file, dnc_options); }; });

  pd::connect::StandinOptions standin;
  SimFlags standin_flags{"60s", "10s", "25s", "0"};
  std::string standin_listen = "127.0.0.1:0";
  double heartbeat_seconds = 120, latency_ms = 0;
  auto* standin_cmd = app.add_subcommand(
      "connect-standin",
      "a local stand-in for Amazon Connect (tests, trying --backend connect without AWS): "
      "Connect's API with SigV4, events into Kinesis, driven by the simulator");
  standin_cmd->add_option("--listen", standin_listen, "HOST:PORT (port 0: any free port)");
  standin_cmd->add_option("--region", standin.region, "region it signs for");
  standin_cmd->add_option("--access-key-id", standin.access_key_id, "the key it accepts");
  standin_cmd->add_option("--secret-access-key", standin.secret_access_key, "its secret");
  standin_cmd->add_option("--instance-id", standin.instance_id, "the Connect instance id it is");
  standin_cmd->add_option("--queue-id", standin.queue_id, "its one queue");
  standin_cmd->add_option("--agent-stream", standin.agent_stream,
                          "Kinesis stream for agent events (created when missing)");
  standin_cmd->add_option("--ctr-stream", standin.ctr_stream,
                          "Kinesis stream for contact trace records (created when missing)");
  standin_cmd->add_option("--kinesis-endpoint", standin.kinesis_endpoint,
                          "Kinesis endpoint (default: AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL)");
  standin_cmd->add_option("--heartbeat", heartbeat_seconds, "seconds between agent HEART_BEATs")
      ->check(CLI::Range(0.1, 3600.0));
  standin_cmd
      ->add_option("--throttle", standin.throttle_rate,
                   "share of StartOutboundVoiceContact answered 429 TooManyRequests")
      ->check(CLI::Range(0.0, 1.0));
  standin_cmd->add_option("--errors", standin.error_rate, "share of API calls answered 500")
      ->check(CLI::Range(0.0, 1.0));
  standin_cmd->add_option("--latency-ms", latency_ms, "delay before every API answer")
      ->check(CLI::Range(0.0, 60000.0));
  standin_cmd
      ->add_option("--duplicate", standin.duplicate_rate, "share of stream records written twice")
      ->check(CLI::Range(0.0, 1.0));
  standin_cmd
      ->add_option("--reorder", standin.reorder_rate,
                   "share of stream records written after later ones")
      ->check(CLI::Range(0.0, 1.0));
  std::string standin_start;
  standin_cmd->add_option("--start", standin_start,
                          "its clock starts here instead of now (as the dialer's `run --start`)");
  standin_cmd->add_option("--ledger", standin.ledger,
                          "append a JSON line per ended contact to this file");
  standin_cmd->add_flag("--no-status-type", standin.omit_status_type,
                        "write agent events as Connect's documented example does: AgentStatus "
                        "without Type (ARN, Name and StartTimestamp only)");
  add_sim_options(standin_cmd, standin.sim, standin_flags);
  standin_cmd->callback([&] {
    run = [&] {
      return with_sim_durations(standin.sim, standin_flags, [&] {
        const size_t colon = standin_listen.rfind(':');
        if (colon == std::string::npos) {
          std::cerr << "powerdialer: --listen must be HOST:PORT\n";
          return 1;
        }
        standin.host = standin_listen.substr(0, colon);
        standin.port = std::atoi(standin_listen.c_str() + colon + 1);
        standin.seed = standin.sim.seed;
        if (!standin_start.empty()) {
          auto start = pd::parse_start_time(standin_start, "--start");
          if (!start.ok()) {
            std::cerr << "powerdialer: connect-standin: "
                      << pd::escape_controls(pd::sv(start.status().message())) << "\n";
            return 1;
          }
          standin.start = *start;
        }
        standin.heartbeat =
            std::chrono::milliseconds(static_cast<int64_t>(heartbeat_seconds * 1000));
        standin.latency = std::chrono::milliseconds(static_cast<int64_t>(latency_ms));
        absl::Status s = pd::connect::run_standin(standin);
        if (!s.ok()) {
          std::cerr << "powerdialer: connect-standin: " << pd::escape_controls(pd::sv(s.message()))
                    << "\n";
          return 1;
        }
        return 0;
      });
    };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) {
      if (auto unknown = find_unknown_command(app, argc, argv)) {
        std::string names;
        for (const CLI::App* s :
             unknown->parent->get_subcommands([](const CLI::App*) { return true; })) {
          names += pd::cat(names.empty() ? "" : ", ", s->get_name());
        }
        const std::string where =
            unknown->parent == &app ? std::string() : pd::cat(unknown->parent->get_name(), " ");
        std::cerr << "powerdialer: unknown command '" << pd::escape_controls(unknown->word)
                  << "'; the " << where << "commands are: " << names << " (see '" << argv[0] << " "
                  << where << "--help')\n";
        return 1;
      }
      // CLI11's messages echo what was typed.
      std::cerr << "powerdialer: " << pd::escape_controls(e.what()) << "\nRun with --help for "
                << "more information.\n";
      return e.get_exit_code();
    }
    return app.exit(e);
  }
  return run ? run() : 1;
}
