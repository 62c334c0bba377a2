// powerdialer: wires the command line to the subcommands; no logic here.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <functional>

#include "cli/commands.h"

int main(int argc, char** argv) {
  pd::cli::Context ctx;
  if (const char* db = std::getenv("POWERDIALER_DB"); db != nullptr && *db != '\0') {
    ctx.db_path = db;
  }
  if (const char* c = std::getenv("POWERDIALER_CAMPAIGN"); c != nullptr && *c != '\0') {
    ctx.campaign = c;
  }

  CLI::App app{"powerdialer: a power dialer for Amazon Connect (and a built-in simulated contact centre)"};
  app.set_version_flag("--version", std::string("powerdialer ") + POWERDIALER_VERSION);
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();
  app.add_option("--db", ctx.db_path, "SQLite database file (env POWERDIALER_DB)");
  app.add_option("--campaign", ctx.campaign, "campaign name (env POWERDIALER_CAMPAIGN)");

  std::function<int()> run;

  auto* init = app.add_subcommand("init", "create or upgrade the database and the campaign with its default configuration; safe to run twice");
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
  auto* load = app.add_subcommand("load", "import a dialing list (CSV with custID and phone columns); replaces the list and resets dialing state unless --append");
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

  auto* campaigns = app.add_subcommand("campaigns", "list the campaigns in the database");
  campaigns->add_flag("--json", json, "print JSON");
  campaigns->callback([&] { run = [&] { return pd::cli::cmd_campaigns(ctx, json); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return run ? run() : 1;
}
