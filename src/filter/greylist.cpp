#include "filter/greylist.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include <fmt/format.h>

#include "base/fault.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "filter/connection.hpp"
#include "filter/spam.hpp"
#include "smtp/proto/codes.hpp"
#include "store/db.hpp"
#include "store/files.hpp"

namespace tern::filter {

namespace greylist {

Settings Settings::from(const config::Config& cfg) {
  const auto& g = cfg.greylist;
  return {g.delay.count(), g.expire.count(), g.retention.count(), g.auto_allow};
}

Decision decide(const std::optional<Entry>& kept, std::int64_t now, const Settings& s) {
  Decision d;
  const bool fresh = !kept || (!kept->passed && now - kept->first_seen >= s.expire) ||
                     (kept->passed && now - kept->last_seen >= s.retention) || now < kept->first_seen;
  if (fresh) {  // first seen, or forgotten: the wait starts now
    d.entry = {now, now, false};
    d.wait = s.delay;
    d.write = true;
    return d;
  }
  d.entry = *kept;
  d.entry.last_seen = now;
  if (kept->passed) {
    d.pass = true;
    d.write = now - kept->last_seen >= 3600;  // retention counts in days: an hourly refresh is enough
    return d;
  }
  if (now - kept->first_seen >= s.delay) {  // the retry came after the delay
    d.pass = true;
    d.entry.passed = true;
    d.write = true;
    d.confirmed = true;
    return d;
  }
  d.wait = s.delay - (now - kept->first_seen);  // too early: the wait goes on from the first try
  d.entry = *kept;                              // and nothing is written
  return d;
}

std::string normalize_sender(std::string_view sender) {
  if (sender.empty()) return "<>";
  std::string s = to_lower(sender);
  auto at = s.rfind('@');
  std::string local = at == std::string::npos ? s : s.substr(0, at);
  std::string domain = at == std::string::npos ? std::string() : s.substr(at);
  // BATV (draft-levine-smtp-batv): prvs=TAG=user
  if (local.starts_with("prvs=")) {
    if (auto eq = local.find('=', 5); eq != std::string::npos) local = local.substr(eq + 1);
  }
  if (auto plus = local.find('+'); plus != std::string::npos && plus > 0) local.resize(plus);
  std::string out;
  for (std::size_t i = 0; i < local.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(local[i]))) {
      if (out.empty() || out.back() != '#') out += '#';
    } else {
      out += local[i];
    }
  }
  return out + domain;
}

std::string triplet_key(std::string_view network, std::string_view sender, std::string_view recipient) {
  return fmt::format("{}/{}/{}", network, normalize_sender(sender), to_lower(recipient));
}

std::string client_key(std::string_view network, std::string_view sender) {
  auto at = sender.rfind('@');
  return fmt::format("{}/{}", network, at == std::string_view::npos ? "<>" : to_lower(sender.substr(at + 1)));
}

namespace {

constexpr std::string_view schema = R"(
CREATE TABLE IF NOT EXISTS triplet (
  key TEXT PRIMARY KEY,            -- network/sender/recipient
  first_seen INTEGER NOT NULL,     -- Unix seconds of the first try (the wait counts from it)
  last_seen INTEGER NOT NULL,
  passed INTEGER NOT NULL          -- 1: a retry came after the delay
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS triplet_last_seen ON triplet(last_seen);
CREATE TABLE IF NOT EXISTS client (
  key TEXT PRIMARY KEY,            -- network/sender-domain
  passed INTEGER NOT NULL,         -- messages that passed greylisting
  last_seen INTEGER NOT NULL
) WITHOUT ROWID;
)";

}  // namespace

Database::Database(std::filesystem::path file, std::filesystem::path lost_found)
    : file_(std::move(file)), lost_found_(std::move(lost_found)) {}
Database::~Database() = default;

void Database::open() {
  if (db_) return;
  try {
    // NORMAL, not FULL: see the head comment of greylist.hpp.
    db_ = std::make_unique<store::Db>(file_, false);
    db_->exec(schema);
  } catch (const store::DbError& e) {
    db_.reset();
    if (!e.damaged()) throw;
    // Principle 2: set aside with a note, never deleted; a new, empty database takes its place.
    auto where = store::set_aside_in_lost_found(lost_found_, file_, fmt::format("greylist database damaged: {}", e.what()));
    for (const char* suffix : {"-wal", "-shm"}) {
      std::filesystem::path side = file_.string() + suffix;
      std::error_code ec;
      if (std::filesystem::exists(side, ec)) store::set_aside_in_lost_found(lost_found_, side, "beside a damaged greylist database");
    }
    log::error("greylist: {} was damaged ({}); set aside as {}, starting an empty one", file_.string(), e.what(),
               where.string());
    db_ = std::make_unique<store::Db>(file_, false);
    db_->exec(schema);
  }
}

void Database::cleanup(std::int64_t now, const Settings& s) {
  if (now < next_cleanup_) return;
  next_cleanup_ = now + 3600;
  store::Stmt old_triplets(db_->raw(), "DELETE FROM triplet WHERE last_seen < ?1 OR (passed = 0 AND first_seen < ?2)");
  old_triplets.bind(1, now - s.retention).bind(2, now - s.expire).step();
  int triplets = db_->changes();
  store::Stmt old_clients(db_->raw(), "DELETE FROM client WHERE last_seen < ?1");
  old_clients.bind(1, now - s.retention).step();
  if (triplets + db_->changes() > 0)
    log::info("greylist: forgot {} expired triplet(s) and {} client(s)", triplets, db_->changes());
}

Error Database::trouble(const char* what, const std::exception& e) {
  auto* de = dynamic_cast<const store::DbError*>(&e);
  if (de && de->damaged()) db_.reset();  // opened again (and set aside) at the next use
  return store::failure(fmt::format("{}: {}: {}", file_.string(), what, e.what()), e);
}

Result<Database::Answer> Database::check(std::string_view triplet, std::string_view client, std::int64_t now,
                                         const Settings& s) {
  std::lock_guard lock(mu_);
  try {
    open();
    cleanup(now, s);
    Answer a;
    if (s.auto_allow > 0) {
      store::Stmt q(db_->raw(), "SELECT passed FROM client WHERE key = ?1");
      q.bind(1, client);
      if (q.step() && q.col_int(0) >= s.auto_allow) {
        a.auto_allowed = true;
        a.decision.pass = true;
        return a;
      }
    }
    std::optional<Entry> kept;
    {
      store::Stmt q(db_->raw(), "SELECT first_seen, last_seen, passed FROM triplet WHERE key = ?1");
      q.bind(1, triplet);
      if (q.step()) kept = Entry{q.col_int(0), q.col_int(1), q.col_int(2) != 0};
    }
    a.decision = decide(kept, now, s);
    if (a.decision.write) {
      const auto& e = a.decision.entry;
      store::Tx tx(*db_);
      store::Stmt up(db_->raw(),
                     "INSERT INTO triplet (key, first_seen, last_seen, passed) VALUES (?1, ?2, ?3, ?4) "
                     "ON CONFLICT (key) DO UPDATE SET first_seen = ?2, last_seen = ?3, passed = ?4");
      up.bind(1, triplet).bind(2, e.first_seen).bind(3, e.last_seen).bind(4, std::int64_t(e.passed ? 1 : 0)).step();
      fault::point("greylist.before_commit");
      tx.commit();
      fault::point("greylist.after_commit");
    }
    return a;
  } catch (const std::exception& e) {
    return trouble("check", e);
  }
}

Status Database::passed(std::string_view client, std::int64_t now) {
  std::lock_guard lock(mu_);
  try {
    open();
    store::Stmt up(db_->raw(),
                   "INSERT INTO client (key, passed, last_seen) VALUES (?1, 1, ?2) "
                   "ON CONFLICT (key) DO UPDATE SET passed = passed + 1, last_seen = ?2");
    up.bind(1, client).bind(2, now).step();
    return ok_status();
  } catch (const std::exception& e) {
    return trouble("passed", e);
  }
}

}  // namespace greylist

namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

GreylistStage::~GreylistStage() = default;

greylist::Database& GreylistStage::database(const config::Config& cfg) {
  std::lock_guard lock(mu_);
  if (!db_) db_ = std::make_unique<greylist::Database>(cfg.data_dir / "greylist.db", cfg.data_dir / "mail" / "lost+found");
  return *db_;
}

net::awaitable<std::string> GreylistStage::exempt(const Context& ctx) {
  const auto& cfg = *ctx.config;
  std::string rcpt = ctx.rcpt->recipient.str();
  if (always_accepted(rcpt)) co_return "postmaster@ and abuse@ take mail from anyone";
  std::string sender = ctx.mail && ctx.mail->sender ? to_lower(ctx.mail->sender->str()) : std::string();
  boost::system::error_code ec;
  auto client = boost::asio::ip::make_address(ctx.client_address, ec);
  if (!ec) {
    if (auto entry = cfg.spam.allow.match_ip(client); !entry.empty()) co_return "allow list: " + entry;
  }
  if (!sender.empty()) {
    if (auto entry = cfg.spam.allow.match_address(sender); !entry.empty()) co_return "allow list: " + entry;
  }
  const auto& checks = cfg.greylist.skip_if;
  if (checks.empty()) co_return std::string();
  bool spf = std::find(checks.begin(), checks.end(), "spf") != checks.end();
  bool fcrdns = std::find(checks.begin(), checks.end(), "fcrdns") != checks.end();
  if (spf) {
    auto it = ctx.notes->transaction.find("spf");
    if (it == ctx.notes->transaction.end() || it->second != "pass") co_return std::string();
  }
  std::string name;
  if (fcrdns) {
    ReverseDns r = co_await reverse_dns(ctx, resolver_);
    if (r.status != ReverseDns::Status::confirmed) co_return std::string();
    name = r.name;
  }
  co_return fmt::format("verified:{}{}", spf ? " spf=pass" : "", fcrdns ? " fcrdns=" + name : "");
}

net::awaitable<Verdict> GreylistStage::rcpt(const Context& ctx) {
  const auto& cfg = *ctx.config;
  if (!cfg.greylisting || !ctx.mx || !ctx.user.empty() || !ctx.rcpt || !ctx.mail) co_return Verdict::next();
  boost::system::error_code ec;
  auto client = boost::asio::ip::make_address(ctx.client_address, ec);
  if (ec) co_return Verdict::next();
  if (std::string why = co_await exempt(ctx); !why.empty()) {
    if (!ctx.notes->transaction.contains("greylist.exempt")) {  // once per message in the log
      ctx.notes->transaction["greylist.exempt"] = why;
      Verdict v;
      v.reasons.push_back("not greylisted: " + why);
      co_return v;
    }
    co_return Verdict::next();
  }
  const std::string network = client_network(client, cfg.greylist.ipv4_prefix, cfg.greylist.ipv6_prefix);
  const std::string sender = ctx.mail->sender ? ctx.mail->sender->str() : std::string();
  const std::string recipient = ctx.rcpt->recipient.str();
  const std::string triplet = greylist::triplet_key(network, sender, recipient);
  const std::string client_key = greylist::client_key(network, sender);
  const auto settings = greylist::Settings::from(cfg);
  const std::int64_t now = unix_now();
  auto* db = &database(cfg);
  const std::string* t = &triplet;
  const std::string* c = &client_key;
  const auto* s = &settings;
  auto job = [db, t, c, now, s] { return db->check(*t, *c, now, *s); };
  auto answer = *co_await net::offload(pool_, std::move(job));
  Verdict v;
  if (!answer) {
    log::warn("smtp {}: greylist: {}; letting mail through", ctx.session_id, answer.error().message);
    co_return v;
  }
  const auto& d = answer->decision;
  if (d.pass) {
    ctx.notes->transaction["greylist.client"] = client_key;
    if (answer->auto_allowed) {
      if (!ctx.notes->transaction.contains("greylist.exempt")) {
        ctx.notes->transaction["greylist.exempt"] = "auto-allowed";
        v.reasons.push_back(fmt::format("not greylisted: auto-allowed {}", log_safe(client_key)));
      }
    } else if (d.confirmed) {
      v.reasons.push_back(fmt::format("passed {} after {} s", log_safe(triplet), now - d.entry.first_seen));
    }
    co_return v;
  }
  co_return Verdict::refuse(
      {smtp::code::mailbox_busy, "4.7.1", fmt::format("<{}>: Greylisted, try again in {} seconds", recipient, d.wait)},
      fmt::format("deferred {} for {} s", log_safe(triplet), d.wait));
}

net::awaitable<Verdict> GreylistStage::data(const Context& ctx) {
  auto it = ctx.notes->transaction.find("greylist.client");
  if (it == ctx.notes->transaction.end()) co_return Verdict::next();
  auto* db = &database(*ctx.config);
  const std::string* c = &it->second;
  const std::int64_t now = unix_now();
  auto job = [db, c, now] { return db->passed(*c, now); };
  auto done = *co_await net::offload(pool_, std::move(job));
  if (!done) log::warn("smtp {}: greylist: {}", ctx.session_id, done.error().message);
  co_return Verdict::next();
}

}  // namespace tern::filter
