#include "app/cli.hpp"

#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "app/check.hpp"
#include "app/control.hpp"
#include "app/dmarc.hpp"
#include "base/strings.hpp"
#include "app/server.hpp"
#include "api/admin.hpp"
#include "auth/password.hpp"
#include "auth/token.hpp"
#include "base/log.hpp"
#include "config/config.hpp"
#include "mailauth/keys.hpp"
#include "mailauth/spf.hpp"
#include "spool/admin.hpp"
#include "spool/lost_found.hpp"
#include "spool/quarantine.hpp"
#include "spool/spool.hpp"
#include "store/directory.hpp"
#include "store/files.hpp"
#include "spam/bayes.hpp"
#include "store/mailstore.hpp"

namespace tern::app {
namespace {

namespace json = boost::json;

struct Options {
  std::string config = "tern.toml";
  bool json = false;
  std::string name, folder = "INBOX";
  std::vector<std::string> targets;
  bool repair = false;
  bool force = false;
  bool purge = false;
  bool check = false;
  bool spam = false, ham = false;
  bool admin = false, off = false;
  std::int64_t token_id = 0;
  std::string day;
  std::string ip;
  std::string sender;
  std::string helo;
  std::string token_name;
  std::string quota;
};

int fail(const std::string& msg) {
  std::cerr << "tern: " << msg << "\n";
  return 1;
}

struct Context {
  config::Config cfg;
  std::unique_ptr<store::Directory> dir;
};

// Loads the configuration and opens the directory; prints the error and returns nullopt on failure.
std::optional<Context> open_context(const Options& o) {
  auto cfg = config::load(o.config);
  if (!cfg) {
    fail(cfg.error().message);
    return std::nullopt;
  }
  // Never creates the directory database (only `tern init` does): see directory_refusal.
  auto dir = store::Directory::open(cfg->data_dir / "tern.db");
  if (!dir) {
    fail(directory_refusal(*cfg, dir.error(), o.config));
    return std::nullopt;
  }
  return Context{std::move(*cfg), std::move(*dir)};
}

int done(const Status& s, const std::string& what) {
  if (!s) return fail(s.error().message);
  std::cout << what << "\n";
  return 0;
}

void print_list(const std::vector<std::string>& items, bool as_json) {
  if (as_json) {
    json::array a;
    for (auto& i : items) a.emplace_back(i);
    std::cout << json::serialize(a) << "\n";
    return;
  }
  for (auto& i : items) std::cout << i << "\n";
}

// Reads one line from the terminal with echo off (restored however the read ends). Echo goes off before
// the prompt appears, so nothing typed after the prompt is ever shown or thrown away (as getpass(3)).
std::optional<std::string> read_hidden_line(const char* prompt) {
  termios old {};
  bool restore = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::cerr << prompt << std::flush;
  std::string line;
  bool got = static_cast<bool>(std::getline(std::cin, line));
  if (restore) ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << "\n";
  if (!got) return std::nullopt;
  return line;
}

// The password: one line on stdin (scripts), or typed twice without echo at a terminal (as passwd(1)).
// An error message is printed for a mismatch or an empty password; nullopt then.
std::optional<std::string> read_password() {
  if (!isatty(STDIN_FILENO)) {
    std::string line;
    if (!std::getline(std::cin, line)) line.clear();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      fail("no password given (one line on stdin)");
      return std::nullopt;
    }
    return line;
  }
  auto first = read_hidden_line("password: ");
  if (!first || first->empty()) {
    fail("no password given");
    return std::nullopt;
  }
  auto second = read_hidden_line("password again: ");
  if (!second || *second != *first) {
    fail("the passwords did not match; nothing changed");
    return std::nullopt;
  }
  return first;
}

int admin_request(const Options& o, const std::string& line);
int user_change(const Options& o, const api::UserChange& change, const std::string& what);

int user_add(const Options& o) {
  auto ctx = open_context(o);
  if (!ctx) return 1;
  auto pw = read_password();
  if (!pw) return 1;
  auto hash = auth::hash_password(*pw);
  if (!hash) return fail(hash.error().message);
  return admin_request(o, fmt::format("user-add {} {}{}", o.name, *hash, o.admin ? " admin" : ""));
}

int user_passwd(const Options& o) {
  auto ctx = open_context(o);
  if (!ctx) return 1;
  auto pw = read_password();
  if (!pw) return 1;
  api::UserChange change;
  change.password = *pw;
  return user_change(o, change, "password changed for ");
}

// `tern user passwd|quota|enable|disable|admin`: the same change_user as PATCH /api/v1/users/{address}.
int user_change(const Options& o, const api::UserChange& change, const std::string& what) {
  auto ctx = open_context(o);
  if (!ctx) return 1;
  auto after = api::change_user(*ctx->dir, o.name, change);
  if (!after) return fail(after.error().message);
  std::cout << what << after->address << "\n";
  return 0;
}

int user_show(const Options& o) {
  auto ctx = open_context(o);
  if (!ctx) return 1;
  auto slot = ctx->dir->find_mailslot(o.name);
  if (!slot || slot->kind != store::SlotKind::mailbox) return fail("no user " + store::normalize_address(o.name));
  auto u = api::user_json(*slot, ctx->cfg.limits.mailbox_quota);
  if (o.json) {
    std::cout << json::serialize(u) << "\n";
    return 0;
  }
  std::cout << fmt::format("{}\n  administrator: {}\n  login: {}\n  quota: {}{}\n", slot->address,
                           slot->admin ? "yes" : "no", slot->enabled ? "enabled" : "disabled",
                           u["quota"].as_uint64() ? fmt::format("{} octets", u["quota"].as_uint64()) : "none",
                           slot->quota ? "" : " ([limits] mailbox_quota)");
  return 0;
}

// OCTETS, or "default" for [limits] mailbox_quota.
int user_quota(const Options& o) {
  api::UserChange change;
  if (o.quota == "default") {
    change.quota = std::optional<std::uint64_t>();
  } else {
    auto n = parse_u64(o.quota);
    if (!n) return fail("the quota must be a number of octets (0: none) or 'default'");
    change.quota = std::optional<std::uint64_t>(*n);
  }
  return user_change(o, change, "quota set for ");
}

int slot_list(const Options& o, store::SlotKind kind) {
  auto ctx = open_context(o);
  if (!ctx) return 1;
  std::vector<std::string> names;
  for (auto& s : ctx->dir->mailslots(kind)) names.push_back(s.address);
  print_list(names, o.json);
  return 0;
}

int alias_list(const Options& o) {
  auto ctx = open_context(o);
  if (!ctx) return 1;
  auto all = ctx->dir->aliases();
  if (o.json) {
    json::array a;
    for (auto& [k, v] : all) a.push_back(api::alias_json(k, v));
    std::cout << json::serialize(a) << "\n";
    return 0;
  }
  for (auto& [k, v] : all) {
    std::cout << k << ":";
    for (auto& x : v) std::cout << " " << x;
    std::cout << "\n";
  }
  return 0;
}

int message_list(const Options& o) {
  auto ctx = open_context(o);
  if (!ctx) return 1;
  auto slot = ctx->dir->find_mailslot(o.name);
  if (!slot) return fail(fmt::format("no mailbox or archive {}", store::normalize_address(o.name)));
  store::Mailstore ms(ctx->cfg.data_dir / "mail" / "boxes", false);
  // INBOX always exists (made at the first delivery); any other folder must.
  if (o.folder != "INBOX")
    if (auto f = ms.folder(slot->address, o.folder); !f)
      return fail(f.error().kind == Error::Kind::not_found ? fmt::format("{} has no folder {}", slot->address, o.folder)
                                                           : f.error().message);
  auto list = ms.list(slot->address, o.folder);
  if (!list) return fail(list.error().message);
  if (o.json) {
    json::array a;
    for (auto& m : *list) {
      json::array flags;
      for (auto f : split(m.flags, ' '))
        if (!f.empty()) flags.emplace_back(std::string(f));
      a.push_back(json::object{{"uid", m.uid}, {"size", m.size}, {"from", m.from}, {"subject", m.subject}, {"flags", flags}});
    }
    std::cout << json::serialize(a) << "\n";
    return 0;
  }
  std::cout << fmt::format("{:>6}  {:>8}  {:<32}  {}\n", "UID", "SIZE", "FROM", "SUBJECT");
  for (auto& m : *list) std::cout << fmt::format("{:>6}  {:>8}  {:<32}  {}\n", m.uid, m.size, m.from, m.subject);
  return 0;
}

// `tern spam train ADDRESS --spam|--ham FOLDER`: every message of the folder learnt for the user (and in
// the shared classifier), as moving them into or out of Junk would.
int spam_train(const Options& o) {
  if (o.spam == o.ham) return fail("say --spam or --ham");
  auto ctx = open_context(o);
  if (!ctx) return 1;
  store::Mailstore ms(ctx->cfg.data_dir / "mail" / "boxes", false);
  auto learner = spam::make_learner(ctx->cfg.data_dir, ms);
  auto done = api::train_folder(*ctx->dir, ms, learner, o.name, o.folder, o.spam);
  if (!done) return fail(done.error().message);
  std::cout << fmt::format("learnt {} message(s) of {} {} as {} ({} already were)\n", done->learnt,
                           store::normalize_address(o.name), o.folder, o.spam ? "spam" : "ham", done->already);
  return 0;
}

// `tern spam stats USER`: what the user's classifier and the shared one have learnt.
int spam_stats(const Options& o) {
  auto ctx = open_context(o);
  if (!ctx) return 1;
  store::Mailstore ms(ctx->cfg.data_dir / "mail" / "boxes", false);
  auto learner = spam::make_learner(ctx->cfg.data_dir, ms);
  auto min = ctx->cfg.spam.classifier_min_samples;
  auto stats = api::spam_stats(*ctx->dir, learner, o.name, min);
  if (!stats) return fail(stats.error().message);
  if (o.json) {
    stats->erase("address");
    std::cout << json::serialize(*stats) << "\n";
    return 0;
  }
  auto line = [&](const char* who, const json::object& c) {
    auto n = [&](const char* k) { return c.at(k).as_int64(); };
    std::cout << fmt::format("{:<7} {:>6} spam {:>6} ham {:>8} tokens{}\n", who, n("spam"), n("ham"), n("tokens"),
                             n("spam") >= min && n("ham") >= min ? "" : fmt::format("  (votes from {} of each)", min));
  };
  line("user", stats->at("user").as_object());
  line("shared", stats->at("shared").as_object());
  return 0;
}

std::string format_time(std::int64_t t);

// `tern token add ADDRESS [--name N]`: a new API token of an administrator, printed once (only its hash
// is kept).
int token_add(const Options& o) {
  auto ctx = open_context(o);
  if (!ctx) return 1;
  auto token = auth::make_api_token();
  auto id = ctx->dir->add_api_token(o.name, o.token_name, "admin", auth::api_token_hash(token));
  if (!id) return fail(id.error().message);
  if (o.json) {
    std::cout << json::serialize(json::object{{"id", *id}, {"token", token}}) << "\n";
    return 0;
  }
  std::cout << token << "\n";
  std::cerr << fmt::format("API token {} for {}: shown once; use it as 'Authorization: Bearer TOKEN'\n", *id,
                           store::normalize_address(o.name));
  return 0;
}

int token_list(const Options& o) {
  auto ctx = open_context(o);
  if (!ctx) return 1;
  auto tokens = ctx->dir->api_tokens();
  if (o.json) {
    json::array a;
    for (auto& t : tokens)
      a.push_back(json::object{{"id", t.id}, {"address", t.address}, {"name", t.name}, {"scope", t.scope},
                               {"created", t.created}, {"revoked", t.revoked}});
    std::cout << json::serialize(a) << "\n";
    return 0;
  }
  for (auto& t : tokens)
    std::cout << fmt::format("{:>4}  {:<32}  {:<6}  {:<20}  created {}{}\n", t.id, t.address, t.scope, t.name,
                             format_time(t.created), t.revoked ? "  REVOKED " + format_time(t.revoked) : "");
  return 0;
}

// Writes the configuration when missing, then creates the data directory and its directory database
// (the only command that may). The configured hostname becomes the first local domain when init wrote
// the configuration itself (a first `make run`).
int init(const Options& o) {
  bool wrote_config = false;
  if (std::filesystem::exists(o.config)) {
    std::cout << o.config << " exists already; left as it is\n";
  } else {
    wrote_config = true;
    try {
      auto tmp = o.config + ".tmp";
      store::write_file_synced(tmp, o.config, config::default_config_text());
    } catch (const std::exception& e) {
      return fail(e.what());
    }
    std::cout << "wrote " << o.config << "\n";
  }
  auto cfg = config::load(o.config);
  if (!cfg) return fail(cfg.error().message);
  auto db_file = cfg->data_dir / "tern.db";
  auto health = store::inspect_directory(db_file);
  if (health.state != store::DirectoryHealth::State::missing && health.state != store::DirectoryHealth::State::healthy) {
    // An empty, foreign or damaged file is never overwritten: it may be all that is left.
    return fail(fmt::format("{}: {}; {}", db_file.string(), health.describe(),
                            store::inspect_directory(store::backup_path(db_file)).usable()
                                ? "restore it from tern.db.bak with: tern check --repair"
                                : "move it away first if a new, empty directory is really wanted"));
  }
  if (!health.usable() && mail_held(cfg->data_dir).any() && !o.force)
    return fail(directory_refusal(*cfg, Error{db_file.string() + ": no directory database", Error::Kind::not_found},
                                  o.config) +
                " (or, to start with an empty directory anyway: tern init --force)");
  try {
    store::ensure_dir(cfg->data_dir);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  auto dir = store::Directory::create(db_file);
  if (!dir) return fail(dir.error().message);
  if (!health.usable()) std::cout << "created " << db_file.string() << "\n";
  if (wrote_config && (*dir)->domains().empty()) {
    auto d = to_lower(cfg->hostname);
    if (auto s = (*dir)->add_domain(d); !s) return fail(s.error().message);
    std::cout << "added local domain " << d << "\n";
  }
  // What a new user needs next (issue 11): where the data is, where Tern will listen, what to run.
  std::cout << "data directory: " << cfg->data_dir.string() << "\n";
  std::cout << "tern serve will listen on:";
  for (auto& [service, endpoints] : cfg->listen)
    for (auto& ep : endpoints) std::cout << " " << service << "=" << ep.str();
  std::cout << "\n";
  auto domains = (*dir)->domains();
  auto user = "you@" + (domains.empty() ? to_lower(cfg->hostname) : domains.front());
  std::cout << fmt::format("next steps:\n"
                           "  tern user add {} --config {}   # asks for the password\n"
                           "  tern serve --config {}\n",
                           user, o.config, o.config);
  return 0;
}

// Every command with its arguments, one line each: the end of --help, and through help2man the
// COMMANDS of tern(8), so the manual never disagrees with the program.
void collect_commands(CLI::App& app, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& out) {
  auto all = [](CLI::App*) { return true; };
  for (CLI::App* sub : app.get_subcommands(all)) {
    auto name = prefix + " " + sub->get_name();
    if (!sub->get_subcommands(all).empty()) {
      collect_commands(*sub, name, out);
      continue;
    }
    for (const CLI::Option* opt : sub->get_options()) {
      auto n = opt->get_name();
      if (n == "--help" || n == "--config" || n == "--json") continue;
      auto many = opt->get_items_expected_max() > 1 ? "..." : "";
      if (opt->get_positional())
        name += opt->get_required() ? " " + n + many : " [" + n + many + "]";
      else
        name += " [" + n + (opt->get_type_name().empty() ? "" : " " + opt->get_type_name()) + "]";
    }
    out.emplace_back(std::move(name), sub->get_description());
  }
}

std::string command_list(CLI::App& app, const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> commands;
  collect_commands(app, prefix, commands);
  std::size_t width = 0;
  for (auto& c : commands) width = std::max(width, c.first.size());
  std::string out;
  for (auto& [usage, what] : commands) out += fmt::format("  {:<{}}  {}\n", usage, width, what);
  return out;
}

std::string format_time(std::int64_t t) {
  if (t <= 0) return "now";
  return rfc5322_date(std::chrono::system_clock::from_time_t(t));
}

int queue_list(const Options& o) {
  auto cfg = config::load(o.config);
  if (!cfg) return fail(cfg.error().message);
  auto items = spool::list_queue(spool::Paths(cfg->data_dir));
  if (o.json) {
    json::array a;
    for (auto& q : items) a.push_back(api::queue_json(q));
    std::cout << json::serialize(a) << "\n";
    return 0;
  }
  for (auto& q : items) {
    if (!q.problem.empty()) {
      std::cout << fmt::format("{}  UNREADABLE: {}\n", q.id, q.problem);
      continue;
    }
    std::cout << fmt::format("{}  {} octets  from <{}>  arrived {}{}\n", q.id, q.size, q.from, format_time(q.arrived),
                             q.held ? "  HELD" : "");
    for (auto& r : q.recipients) {
      std::cout << fmt::format("    {:<9} <{}>", r.state, r.address);
      if (r.state == "queued" || r.state == "held")
        std::cout << fmt::format("  attempts {}  next {}", r.attempts, format_time(r.next_attempt));
      if (!r.last_error.empty()) std::cout << "  last: " << r.last_error;
      std::cout << "\n";
    }
  }
  std::cout << fmt::format("{} message(s) queued\n", items.size());
  return 0;
}

int queue_show(const Options& o) {
  auto cfg = config::load(o.config);
  if (!cfg) return fail(cfg.error().message);
  auto text = spool::show_queue_file(spool::Paths(cfg->data_dir), o.name);
  if (!text) return fail(text.error().message);
  std::cout << *text;
  return 0;
}

// `tern quarantine list|show|release|delete`: the server's quarantine (spool/quarantine). Plain file
// operations, safe beside a running server: it only adds files, and takes released ones from pending/.
int quarantine_command(const Options& o, const std::string& verb) {
  auto cfg = config::load(o.config);
  if (!cfg) return fail(cfg.error().message);
  spool::Quarantine quarantine(cfg->data_dir);
  if (verb == "list") {
    auto held = quarantine.list();
    if (!held) return fail(held.error().message);
    if (o.json) {
      json::array a;
      for (const auto& h : *held) a.emplace_back(api::held_json(h));
      std::cout << json::serialize(a) << "\n";
      return 0;
    }
    for (const auto& h : *held) {
      if (!h.problem.empty()) {
        std::cout << fmt::format("{}  cannot be read: {}\n", h.id, h.problem);
        continue;
      }
      std::cout << fmt::format("{}  {} octets  from <{}>  held {}  {}\n  to {}\n", h.id, h.size, h.from,
                               format_time(h.held_at), h.why, fmt::join(h.recipients, ", "));
    }
    if (held->empty()) std::cout << "the quarantine is empty\n";
    return 0;
  }
  if (verb == "show") {
    auto shown = quarantine.show(o.name);
    if (!shown) return fail(shown.error().message);
    std::cout << shown->second;
    return 0;
  }
  if (verb == "release")
    return done(quarantine.release(o.name), "released " + o.name + ": the outbox delivers it without the filters");
  return done(quarantine.remove(o.name), "deleted " + o.name);
}

// `tern lost-found list|show|requeue|delete` (spool/lost_found). Requeue goes through the running
// server's control socket (its queue must learn of the message), or is done here when none runs.
int lost_found_command(const Options& o, const std::string& verb) {
  auto cfg = config::load(o.config);
  if (!cfg) return fail(cfg.error().message);
  spool::LostFound lost(cfg->data_dir);
  if (verb == "list") {
    auto files = lost.list();
    if (!files) return fail(files.error().message);
    if (o.json) {
      json::array a;
      for (const auto& f : *files) a.emplace_back(api::lost_json(f));
      std::cout << json::serialize(a) << "\n";
      return 0;
    }
    for (const auto& f : *files)
      std::cout << fmt::format("{}  {} octets  set aside {}\n  {}\n", f.name, f.size, format_time(f.time), f.why);
    if (files->empty()) std::cout << "lost+found is empty\n";
    return 0;
  }
  if (verb == "show") {
    auto shown = lost.show(o.name);
    if (!shown) return fail(shown.error().message);
    std::cout << shown->second;
    return 0;
  }
  if (verb == "requeue") return admin_request(o, "lost-requeue " + o.name);
  return done(lost.remove(o.name), "deleted " + o.name);
}

// retry/hold/release/delete/bounce: through the running server's control socket, or directly on the
// files when no server runs on this data directory.
int queue_admin(const Options& o, const std::string& verb) {
  std::string line = verb;
  for (auto& id : o.targets) line += " " + id;
  return admin_request(o, line);
}

// One administration request, through the running server's control socket, or directly on the files
// when no server runs on this data directory (the same execute_control either way).
int admin_request(const Options& o, const std::string& line) {
  auto ctx = open_context(o);
  if (!ctx) return 1;
  // Without a server, hold its lock for the whole operation, so that no server starts meanwhile.
  int lock = lock_data_dir(ctx->cfg.data_dir);
  struct Unlock {
    int fd;
    ~Unlock() {
      if (fd >= 0) ::close(fd);
    }
  } unlock{lock};
  if (lock < 0) {
    auto r = control_request(ctx->cfg.data_dir, line);
    if (!r) return fail("tern serve runs on this data directory but its control socket does not answer");
    if (!*r) return fail(r->error().message);
    std::cout << **r << "\n";
    return 0;
  }
  boost::asio::io_context io;
  boost::asio::thread_pool pool(1);
  store::Mailstore ms(ctx->cfg.data_dir / "mail" / "boxes", false);
  auto cfg = std::make_shared<const config::Config>(ctx->cfg);
  spool::Spool sp(spool::Paths(ctx->cfg.data_dir), cfg, *ctx->dir, ms, pool, io);
  sp.load(false);
  Admin admin{sp, *ctx->dir, ms};
  auto r = execute_control(admin, line);
  pool.join();
  if (!r) return fail(r.error().message);
  std::cout << *r << "\n";
  return 0;
}


// --- DKIM keys and the records to publish -------------------------------------------------------

using api::zone_txt;

std::string dkim_record_line(const mailauth::DkimKeyInfo& k) {
  return zone_txt(k.selector + "._domainkey." + k.domain, k.public_record);
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int dkim_made(const Options& o, const Result<std::vector<mailauth::DkimKeyInfo>>& made, const std::string& verb) {
  if (!made) return fail(made.error().message);
  if (o.json) {
    json::array a;
    for (const auto& k : *made) a.push_back(api::dkim_json(k));
    std::cout << json::serialize(a) << "\n";
    return 0;
  }
  std::cout << verb << " " << made->size() << " key(s) for " << made->front().domain
            << "; publish these records (tern domain dns " << made->front().domain << " prints them all):\n";
  for (const auto& k : *made) std::cout << dkim_record_line(k) << "\n";
  return 0;
}

int dkim_list(const Options& o) {
  auto cfg = config::load(o.config);
  if (!cfg) return fail(cfg.error().message);
  mailauth::DkimKeys keys(cfg->data_dir / "dkim");
  auto list = keys.list(o.name);
  if (!list) return fail(list.error().message);
  if (o.json) {
    json::array a;
    for (const auto& k : *list) a.push_back(api::dkim_json(k));
    std::cout << json::serialize(a) << "\n";
    return 0;
  }
  auto now = unix_now();
  for (const auto& k : *list) {
    std::string state = k.signing() ? "signing"
                        : k.published(now)
                            ? "retired, publish until " + format_time(*k.retired + mailauth::publish_retired.count())
                            : "retired, may be removed from DNS";
    std::cout << fmt::format("{}  {:<12} {:<15} {:>4} bits  created {}  {}\n", k.domain, k.selector,
                             mailauth::dkim::algorithm_name(k.algorithm), k.bits, format_time(k.created), state);
  }
  if (list->empty()) std::cout << "no DKIM keys" << (o.name.empty() ? "" : " for " + o.name) << "\n";
  return 0;
}

// One record a domain publishes: its zone-file line, and what `--check` compares.
using Published = api::PublishedRecord;

std::string strip_spaces(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ' && c != '\t') out += c;
  return out;
}

// What the resolver says of each record: "ok", "missing", "differs (found ...)", "not checked ...".
boost::asio::awaitable<std::vector<std::string>> check_published(dns::Resolver* resolver, const std::vector<Published>* records) {
  std::vector<std::string> out;
  for (const auto& r : *records) {
    if (r.kind == Published::Kind::srv) {
      dns::SrvAnswer srv = co_await resolver->srv(r.name);
      if (srv.status == dns::SrvAnswer::temp_failure) {
        out.push_back("lookup failed: " + srv.error);
        continue;
      }
      std::string found;
      bool ok = false;
      for (const auto& x : srv.records) {
        std::string seen = fmt::format("{} {}", x.port, x.target);
        ok = ok || iequals(seen, r.text);
        found += (found.empty() ? "" : ", ") + seen;
      }
      out.push_back(ok ? "ok" : found.empty() ? "missing" : "differs (found SRV " + found + ")");
      continue;
    }
    if (r.kind == Published::Kind::mx) {
      dns::MxAnswer mx = co_await resolver->mx(r.name);
      if (mx.status == dns::MxAnswer::temp_failure) {
        out.push_back("lookup failed: " + mx.error);
        continue;
      }
      std::string found;
      bool ok = false;
      for (const auto& h : mx.hosts) {
        ok = ok || iequals(h.name, r.text);
        found += (found.empty() ? "" : ", ") + h.name;
      }
      out.push_back(ok ? "ok" : found.empty() ? "missing" : "differs (found MX " + found + ")");
      continue;
    }
    dns::TxtAnswer txt = co_await resolver->txt(r.name);
    if (txt.status == dns::TxtAnswer::temp_failure) {
      out.push_back("lookup failed: " + txt.error);
      continue;
    }
    // The same kind of record: the same first tag (v=spf1, v=DKIM1, v=DMARC1).
    std::string kind = r.text.substr(0, r.text.find(';') == std::string::npos ? r.text.find(' ') : r.text.find(';'));
    std::string same, other;
    for (const auto& t : txt.records) {
      if (strip_spaces(t) == strip_spaces(r.text)) same = t;
      else if (istarts_with(t, kind)) other = t;
    }
    out.push_back(!same.empty() ? "ok" : !other.empty() ? "differs (found \"" + other + "\")" : "missing");
  }
  co_return out;
}

// Every record a domain publishes, in zone-file form: MX, SPF, DKIM (each published key), DMARC, and the
// client configuration SRV records (RFC 6186, RFC 8314 for the implicit-TLS ones). `--check` looks each
// up through [dns] servers and says which are missing or differ (exit 1 then).
int domain_dns(const Options& o) {
  auto c = open_context(o);
  if (!c) return 1;
  auto published = api::dns_records(*c->dir, c->cfg.data_dir, c->cfg.hostname, o.name);
  if (!published) return fail(published.error().message);
  const auto& records = *published;
  const bool no_dkim = std::none_of(records.begin(), records.end(), [](const Published& r) { return r.name.find("._domainkey.") != std::string::npos; });
  const std::string& domain = records.front().name;  // the MX record's owner: the domain
  std::vector<std::string> states;
  if (o.check) {
    boost::asio::io_context io;
    dns::Resolver resolver(io.get_executor(), c->cfg.dns_servers);
    auto f = boost::asio::co_spawn(io, check_published(&resolver, &records), boost::asio::use_future);
    io.run();
    states = f.get();
  }
  bool trouble = std::any_of(states.begin(), states.end(), [](const std::string& s) { return s != "ok" && !s.starts_with("not checked"); });
  if (o.json) {
    json::array a;
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (o.check) a.push_back(json::object{{"record", records[i].line}, {"state", states[i]}});
      else a.push_back(json::string(records[i].line));
    }
    std::cout << json::serialize(a) << "\n";
    return trouble ? 1 : 0;
  }
  if (no_dkim) std::cout << "; no DKIM keys yet: tern dkim generate " << domain << "\n";
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (o.check) std::cout << "; " << states[i] << "\n";
    std::cout << records[i].line << "\n";
  }
  return trouble ? 1 : 0;
}

// `tern spf check`: check_host() as the SMTP server runs it, through [dns] servers (like spfquery).
int spf_check(const Options& o) {
  auto cfg = config::load(o.config);
  if (!cfg) return fail(cfg.error().message);
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(o.ip, ec);
  if (ec) return fail("'" + o.ip + "' is not an IP address");
  boost::asio::io_context io;
  dns::Resolver resolver(io.get_executor(), cfg->dns_servers);
  mailauth::spf::Request req{ip, o.sender, o.helo, cfg->hostname};
  auto f = boost::asio::co_spawn(io, mailauth::spf::check_mail_from(resolver, req), boost::asio::use_future);
  io.run();
  auto out = f.get();
  if (o.json) {
    std::cout << json::serialize(json::object{{"result", std::string(mailauth::spf::result_name(out.result))},
                                              {"domain", out.domain},
                                              {"mechanism", out.mechanism},
                                              {"explanation", out.explanation},
                                              {"problem", out.problem}})
              << "\n";
  } else {
    std::cout << mailauth::spf::result_name(out.result) << "  " << out.domain;
    if (!out.mechanism.empty()) std::cout << "  matched " << out.mechanism;
    if (!out.explanation.empty()) std::cout << "  explanation: " << out.explanation;
    if (!out.problem.empty()) std::cout << "  (" << out.problem << ")";
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  // Everything Tern writes in the data directory is private to its user (tern.db holds password
  // hashes, mailboxes hold mail): files 0600, folders 0700, whatever the caller's umask.
  ::umask(077);
  // Log lines (an index rebuilt on open, say) go to stderr, never into --json output on stdout.
  log::init("warn");
  CLI::App app{"Tern: a complete email server"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("tern ") + TERN_VERSION);
  Options o;
  app.add_option("--config", o.config, "configuration file")->capture_default_str();
  app.add_flag("--json", o.json, "machine-readable output");
  int rc = 0;
  auto on = [&rc](CLI::App* sub, std::function<int()> fn) { sub->callback([&rc, fn] { rc = fn(); }); };
  auto global = [&o](CLI::App* sub) {
    sub->add_option("--config", o.config, "configuration file");
    sub->add_flag("--json", o.json, "machine-readable output");
    return sub;
  };

  on(global(app.add_subcommand("serve", "run all services in the foreground")), [&] { return serve(o.config); });
  auto* in = global(app.add_subcommand("init", "write a default configuration and data directory if missing"));
  in->add_flag("--force", o.force, "create an empty directory database even though the data directory holds mail");
  on(in, [&] { return init(o); });

  auto* domain = app.add_subcommand("domain", "local domains")->require_subcommand(1);
  auto* da = global(domain->add_subcommand("add", "add a local domain"));
  da->add_option("NAME", o.name)->required();
  on(da, [&] {
    auto c = open_context(o);
    return c ? done(c->dir->add_domain(o.name), "added domain " + to_lower(o.name)) : 1;
  });
  auto* dd = global(domain->add_subcommand("del", "delete a local domain (it must have no mailslots)"));
  dd->add_option("NAME", o.name)->required();
  on(dd, [&] {
    auto c = open_context(o);
    return c ? done(c->dir->del_domain(o.name), "deleted domain " + to_lower(o.name)) : 1;
  });
  on(global(domain->add_subcommand("list", "list local domains")), [&] {
    auto c = open_context(o);
    if (!c) return 1;
    print_list(c->dir->domains(), o.json);
    return 0;
  });

  auto* dns = global(domain->add_subcommand("dns", "print the DNS records to publish for a local domain (MX, SPF, DKIM, DMARC, SRV)"));
  dns->add_option("NAME", o.name)->required();
  dns->add_flag("--check", o.check, "look each record up through [dns] servers; say which are missing or differ (exit 1)");
  on(dns, [&] { return domain_dns(o); });

  auto* dkim = app.add_subcommand("dkim", "DKIM signing keys (data_dir/dkim)")->require_subcommand(1);
  auto* dg = global(dkim->add_subcommand("generate", "make a domain's Ed25519 and RSA-2048 keys; prints the records to publish"));
  dg->add_option("DOMAIN", o.name)->required();
  on(dg, [&] {
    auto cfg = config::load(o.config);
    if (!cfg) return fail(cfg.error().message);
    mailauth::DkimKeys keys(cfg->data_dir / "dkim");
    return dkim_made(o, keys.generate(o.name), "generated");
  });
  auto* dr = global(dkim->add_subcommand("rotate", "make new keys that sign from now on; the old ones are published 7 more days"));
  dr->add_option("DOMAIN", o.name)->required();
  on(dr, [&] {
    auto cfg = config::load(o.config);
    if (!cfg) return fail(cfg.error().message);
    mailauth::DkimKeys keys(cfg->data_dir / "dkim");
    return dkim_made(o, keys.rotate(o.name), "made");
  });
  auto* dl = global(dkim->add_subcommand("list", "list DKIM keys, signing and retired"));
  dl->add_option("DOMAIN", o.name);
  on(dl, [&] { return dkim_list(o); });

  auto* spf = app.add_subcommand("spf", "Sender Policy Framework")->require_subcommand(1);
  auto* sc = global(spf->add_subcommand("check", "evaluate SPF for a client address and sender (the null sender: HELO's)"));
  sc->add_option("IP", o.ip, "the client's address")->required();
  sc->add_option("SENDER", o.sender, "MAIL FROM's address (\"\" for the null sender)")->required();
  sc->add_option("--helo", o.helo, "the HELO name");
  on(sc, [&] { return spf_check(o); });

  auto* dmarc = app.add_subcommand("dmarc", "DMARC aggregate reports")->require_subcommand(1);
  auto* dr_report = global(dmarc->add_subcommand("report", "send the reports of finished days now (the server does it hourly)"));
  dr_report->add_option("--day", o.day, "only this day (YYYY-MM-DD, UTC; may be today)");
  on(dr_report, [&] {
    auto cfg = config::load(o.config);
    if (!cfg) return fail(cfg.error().message);
    auto r = send_dmarc_reports(*cfg, o.day);
    if (!r) return fail(r.error().message);
    std::cout << (r->empty() ? std::string("no reports to send\n") : *r);
    return 0;
  });

  auto* spamc = app.add_subcommand("spam", "the spam classifier (docs/spam.md)")->require_subcommand(1);
  auto* st = global(spamc->add_subcommand("train", "learn every message of a user's folder as spam or as ham"));
  st->add_option("ADDRESS", o.name)->required();
  st->add_option("FOLDER", o.folder)->required();
  st->add_flag("--spam", o.spam, "the folder holds spam");
  st->add_flag("--ham", o.ham, "the folder holds wanted mail");
  on(st, [&] { return spam_train(o); });
  auto* ss = global(spamc->add_subcommand("stats", "what a user's classifier and the shared one have learnt"));
  ss->add_option("ADDRESS", o.name)->required();
  on(ss, [&] { return spam_stats(o); });

  auto* user = app.add_subcommand("user", "users (mailboxes that can log in)")->require_subcommand(1);
  auto* ua = global(user->add_subcommand("add", "add a user; the password is asked twice on a terminal, else one line on stdin"));
  ua->add_option("ADDRESS", o.name)->required();
  ua->add_flag("--admin", o.admin, "an administrator: may use the web console and the admin API");
  on(ua, [&] { return user_add(o); });
  auto* uadm = global(user->add_subcommand("admin", "make a user an administrator (--off: no longer)"));
  uadm->add_option("ADDRESS", o.name)->required();
  uadm->add_flag("--off", o.off, "take the administrator role away");
  on(uadm, [&] {
    api::UserChange change;
    change.admin = !o.off;
    return user_change(o, change, o.off ? "no longer an administrator: " : "administrator: ");
  });
  auto* ush = global(user->add_subcommand("show", "a user's role, login and quota"));
  ush->add_option("ADDRESS", o.name)->required();
  on(ush, [&] { return user_show(o); });
  auto* uq = global(user->add_subcommand("quota", "set a user's quota: OCTETS (0: none) or default ([limits] mailbox_quota)"));
  uq->add_option("ADDRESS", o.name)->required();
  uq->add_option("OCTETS", o.quota)->required();
  on(uq, [&] { return user_quota(o); });
  for (auto [verb, help] : {std::pair{"disable", "refuse the user's logins (IMAP, POP3, SMTP AUTH, HTTP); mail is still delivered"},
                            {"enable", "allow the user's logins again"}}) {
    auto* sub = global(user->add_subcommand(verb, help));
    sub->add_option("ADDRESS", o.name)->required();
    bool enable = std::string_view(verb) == "enable";
    on(sub, [&o, enable] {
      api::UserChange change;
      change.enabled = enable;
      return user_change(o, change, enable ? "enabled " : "disabled ");
    });
  }
  auto* up = global(user->add_subcommand("passwd", "set a user's password (asked like user add)"));
  up->add_option("ADDRESS", o.name)->required();
  on(up, [&] { return user_passwd(o); });
  auto* ud = global(user->add_subcommand(
      "del", "delete a user; its mail is moved to data_dir/mail/deleted/ (removed with --purge)"));
  ud->add_option("ADDRESS", o.name)->required();
  ud->add_flag("--purge", o.purge, "remove the user's mail for good instead of keeping it under mail/deleted/");
  on(ud, [&] { return admin_request(o, fmt::format("user-del {} {}", o.name, o.purge ? "purge" : "keep")); });
  on(global(user->add_subcommand("list", "list users")), [&] { return slot_list(o, store::SlotKind::mailbox); });

  auto* token = app.add_subcommand("token", "API tokens of administrators (docs/api.md)")->require_subcommand(1);
  auto* ta = global(token->add_subcommand("add", "make an API token for an administrator; printed once"));
  ta->add_option("ADDRESS", o.name)->required();
  ta->add_option("--name", o.token_name, "a note saying what the token is for")->type_name("NAME");
  on(ta, [&] { return token_add(o); });
  on(global(token->add_subcommand("list", "list API tokens (never the tokens themselves)")), [&] { return token_list(o); });
  auto* tr = global(token->add_subcommand("revoke", "revoke an API token at once"));
  tr->add_option("ID", o.token_id)->required();
  on(tr, [&] {
    auto c = open_context(o);
    return c ? done(c->dir->revoke_api_token(o.token_id), fmt::format("revoked API token {}", o.token_id)) : 1;
  });

  auto* alias = app.add_subcommand("alias", "aliases")->require_subcommand(1);
  auto* aa = global(alias->add_subcommand("add", "add an alias with one or more targets (local or remote)"));
  aa->add_option("ADDRESS", o.name)->required();
  aa->add_option("TARGET", o.targets)->required();
  on(aa, [&] {
    auto c = open_context(o);
    return c ? done(c->dir->add_alias(o.name, o.targets), "added alias " + store::normalize_address(o.name)) : 1;
  });
  auto* as = global(alias->add_subcommand("set", "replace an alias's targets"));
  as->add_option("ADDRESS", o.name)->required();
  as->add_option("TARGET", o.targets)->required();
  on(as, [&] {
    auto c = open_context(o);
    return c ? done(c->dir->set_alias(o.name, o.targets), "changed alias " + store::normalize_address(o.name)) : 1;
  });
  auto* ad = global(alias->add_subcommand("del", "delete an alias"));
  ad->add_option("ADDRESS", o.name)->required();
  on(ad, [&] {
    auto c = open_context(o);
    return c ? done(c->dir->del_alias(o.name), "deleted alias " + store::normalize_address(o.name)) : 1;
  });
  on(global(alias->add_subcommand("list", "list aliases")), [&] { return alias_list(o); });

  auto* archive = app.add_subcommand("archive", "archive mailslots (receive mail, no login)")->require_subcommand(1);
  auto* ara = global(archive->add_subcommand("add", "add an archive"));
  ara->add_option("ADDRESS", o.name)->required();
  on(ara, [&] { return admin_request(o, "archive-add " + o.name); });
  auto* ard = global(archive->add_subcommand(
      "del", "delete an archive; its mail is moved to data_dir/mail/deleted/ (removed with --purge)"));
  ard->add_option("ADDRESS", o.name)->required();
  ard->add_flag("--purge", o.purge, "remove the archive's mail for good");
  on(ard, [&] { return admin_request(o, fmt::format("archive-del {} {}", o.name, o.purge ? "purge" : "keep")); });
  on(global(archive->add_subcommand("list", "list archives")), [&] { return slot_list(o, store::SlotKind::archive); });

  auto* message = app.add_subcommand("message", "stored messages")->require_subcommand(1);
  auto* ml = global(message->add_subcommand("list", "list the messages of a mailslot folder"));
  ml->add_option("ADDRESS", o.name)->required();
  ml->add_option("--folder", o.folder, "folder name")->capture_default_str()->type_name("FOLDER");
  on(ml, [&] { return message_list(o); });

  auto* queue = app.add_subcommand("queue", "the outbox")->require_subcommand(1);
  on(global(queue->add_subcommand("list", "queued messages with per-recipient state")), [&] { return queue_list(o); });
  auto* qs = global(queue->add_subcommand("show", "print a queue file"));
  qs->add_option("ID", o.name)->required();
  on(qs, [&] { return queue_show(o); });
  auto* qr = global(queue->add_subcommand("retry", "Clear Host Assignments: route again and attempt now"));
  qr->add_option("ID", o.targets);
  on(qr, [&] { return queue_admin(o, "retry"); });
  for (auto [verb, help] : {std::pair{"hold", "keep a message from delivery"}, {"release", "deliver a held message"},
                            {"delete", "remove a message from the queue (no DSN)"},
                            {"bounce", "return a message to its sender with a failure DSN"}}) {
    auto* sub = global(queue->add_subcommand(verb, help));
    sub->add_option("ID", o.targets)->required()->expected(1);
    std::string v = verb;
    on(sub, [&o, v] { return queue_admin(o, v); });
  }

  auto* quarantine = app.add_subcommand("quarantine", "messages the filters held (data_dir/mail/quarantine)")
                         ->require_subcommand(1);
  on(global(quarantine->add_subcommand("list", "held messages, oldest first")), [&] { return quarantine_command(o, "list"); });
  for (auto [verb, help] : {std::pair{"show", "print a held message with its envelope"},
                            {"release", "deliver a held message, without the filters"},
                            {"delete", "remove a held message for good"}}) {
    auto* sub = global(quarantine->add_subcommand(verb, help));
    sub->add_option("ID", o.name)->required();
    std::string v = verb;
    on(sub, [&o, v] { return quarantine_command(o, v); });
  }

  auto* lost = app.add_subcommand("lost-found", "files Tern could not read (data_dir/mail/lost+found)")->require_subcommand(1);
  on(global(lost->add_subcommand("list", "files with why they were set aside, oldest first")), [&] { return lost_found_command(o, "list"); });
  for (auto [verb, help] : {std::pair{"show", "print a file"},
                            {"requeue", "put a (corrected) file back into the queue"},
                            {"delete", "remove a file and its note for good"}}) {
    auto* sub = global(lost->add_subcommand(verb, help));
    sub->add_option("NAME", o.name)->required();
    std::string v = verb;
    on(sub, [&o, v] { return lost_found_command(o, v); });
  }

  auto* check = global(app.add_subcommand("check", "verify the data directory; exit 0 when healthy"));
  check->add_flag("--repair", o.repair, "rebuild indexes and quarantine damaged files");
  on(check, [&] {
    auto cfg = config::load(o.config);
    if (!cfg) return fail(cfg.error().message);
    return run_check(*cfg, o.repair, o.json);
  });

  app.footer("Commands:\n" + command_list(app, "tern") +
             "\nEvery command takes --config FILE and --json, and works whether or not the server runs.\n"
             "Documentation: README.md and docs/ (operations, configuration, formats, outbox, rfc, hacking).");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  return rc;
}

}  // namespace tern::app
