#include "spam/bayes.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "base/codec.hpp"
#include "base/fault.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "store/db.hpp"

namespace tern::spam {

namespace fs = std::filesystem;

namespace {

constexpr double kStrength = 0.45;     // SpamBayes' unknown_word_strength
constexpr double kUnknown = 0.5;       // SpamBayes' unknown_word_prob
constexpr double kMinDeviation = 0.1;  // tokens nearer 0.5 than this say nothing
constexpr std::size_t kMaxClues = 150;

bool word_char(unsigned char c) { return std::isalnum(c) || c == '\'' || c == '-' || c == '$' || c >= 0x80; }

// The words of `text` (3 to 24 word characters, lower-case) as tokens with `prefix`; a longer word as
// SpamBayes makes it: "skip:" with its first letter and its length in tens (hash-busting strings and
// encoded blobs say something by their length, nothing by their letters).
void add_words(std::string_view text, std::string_view prefix, std::set<std::string>& out) {
  std::size_t i = 0;
  while (i < text.size() && out.size() < kMaxTokens) {
    while (i < text.size() && !word_char(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t b = i;
    while (i < text.size() && word_char(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view w = text.substr(b, i - b);
    while (!w.empty() && (w.front() == '\'' || w.front() == '-')) w.remove_prefix(1);
    while (!w.empty() && (w.back() == '\'' || w.back() == '-')) w.remove_suffix(1);
    if (w.size() < 3) continue;
    std::string t(prefix);
    if (w.size() > 24) {
      t += fmt::format("skip:{} {}", static_cast<char>(std::tolower(static_cast<unsigned char>(w[0]))), w.size() / 10 * 10);
    } else {
      for (char c : w) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    out.insert(std::move(t));
  }
}

// Chi-square survival function for an even number of degrees of freedom (Numerical Recipes' form,
// as SpamBayes' chi2Q): the probability of a value at least x2.
double chi2q(double x2, std::size_t v) {
  double m = x2 / 2.0;
  double term = std::exp(-m), sum = term;
  for (std::size_t i = 1; i < v / 2; ++i) {
    term *= m / static_cast<double>(i);
    sum += term;
  }
  return std::min(sum, 1.0);
}

void schema(store::Db& db) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS tokens(token TEXT PRIMARY KEY, spam INTEGER NOT NULL, ham INTEGER NOT NULL) "
      "WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS learnt(key TEXT PRIMARY KEY, spam INTEGER NOT NULL) WITHOUT ROWID;");
}

// Octets in pages holding data (the file's size less its free pages): what pruning bounds.
std::int64_t live_bytes(store::Db& db) {
  auto pragma = [&](const char* sql) {
    store::Stmt q(db.raw(), sql);
    return q.step() ? q.col_int(0) : 0;
  };
  return (pragma("PRAGMA page_count") - pragma("PRAGMA freelist_count")) * pragma("PRAGMA page_size");
}

Counts read_counts(store::Db& db) {
  Counts c;
  store::Stmt q(db.raw(), "SELECT COALESCE(SUM(spam), 0), COALESCE(SUM(1 - spam), 0) FROM learnt");
  if (q.step()) {
    c.spam = q.col_int(0);
    c.ham = q.col_int(1);
  }
  store::Stmt t(db.raw(), "SELECT COUNT(*) FROM tokens");
  if (t.step()) c.tokens = t.col_int(0);
  return c;
}

}  // namespace

std::vector<std::string> tokens(const Reading& r) {
  std::set<std::string> out;
  add_words(r.subject, "s:", out);
  for (const auto& h : r.url_hosts) {
    if (out.size() >= kMaxTokens) break;
    out.insert("u:" + h);
    // and the domains above it: a spammer's many hosts share them
    for (auto dot = h.find('.'); dot != std::string::npos && h.find('.', dot + 1) != std::string::npos; dot = h.find('.', dot + 1))
      out.insert("u:" + h.substr(dot + 1));
  }
  add_words(r.url_text, "up:", out);
  if (auto at = r.from_address.rfind('@'); at != std::string::npos) out.insert("f:" + r.from_address.substr(at + 1));
  for (const auto& a : r.attachments) {
    auto dot = a.rfind('.');
    out.insert("a:" + (dot == std::string::npos ? std::string("none") : a.substr(dot + 1)));
  }
  // The sender's own token, for its reputation only (classify() asks for tokens(reading) alone).
  if (!r.from_address.empty()) out.insert("r:" + to_lower(r.from_address));
  if (r.has_html && !r.has_plain) out.insert("x:html-only");
  for (const auto& h : r.header_tokens) out.insert("h:" + h);
  add_words(r.text, "", out);
  return {out.begin(), out.end()};
}

void bayes_rules(double p, std::string detail, Report& out) {
  if (p >= 0.99) out.add("BAYES_99", 6.0, std::move(detail));
  else if (p >= 0.90) out.add("BAYES_90", 5.0, std::move(detail));
  else if (p >= 0.80) out.add("BAYES_80", 3.5, std::move(detail));
  else if (p >= 0.60) out.add("BAYES_60", 0.5, std::move(detail));
  else if (p <= 0.01) out.add("BAYES_00", -3.0, std::move(detail));
  else if (p <= 0.05) out.add("BAYES_05", -1.5, std::move(detail));
  else if (p <= 0.20) out.add("BAYES_20", -0.5, std::move(detail));
}

double fisher_combine(const std::vector<double>& ps) {
  if (ps.empty()) return 0.5;
  double ln_p = 0, ln_q = 0;
  for (double p : ps) {
    ln_p += std::log(p);
    ln_q += std::log(1.0 - p);
  }
  double s = 1.0 - chi2q(-2.0 * ln_q, 2 * ps.size());  // evidence of spam
  double h = 1.0 - chi2q(-2.0 * ln_p, 2 * ps.size());  // evidence of ham
  return (s - h + 1.0) / 2.0;
}

Result<bool> Bayes::learn(std::string_view key, const std::vector<std::string>& toks, bool spam) {
  auto n = learn(std::vector<Item>{Item{std::string(key), toks}}, spam);
  if (!n) return n.error();
  return *n > 0;
}

Result<std::size_t> Bayes::learn(const std::vector<Item>& items, bool spam) {
  try {
    fs::create_directories(file_.parent_path());
    store::Db db(file_, true);
    schema(db);
    store::Tx tx(db);
    store::Stmt q(db.raw(), "SELECT spam FROM learnt WHERE key = ?");
    store::Stmt add(db.raw(),
                    "INSERT INTO tokens(token, spam, ham) VALUES(?1, ?2, ?3) ON CONFLICT(token) DO UPDATE SET "
                    "spam = MAX(0, spam + ?2), ham = MAX(0, ham + ?3)");
    store::Stmt mark(db.raw(), "INSERT OR REPLACE INTO learnt(key, spam) VALUES(?, ?)");
    std::size_t changed = 0;
    for (const auto& item : items) {
      std::optional<bool> before;
      q.bind(1, item.key);
      if (q.step()) before = q.col_int(0) != 0;
      q.reset();
      if (before && *before == spam) continue;
      for (const auto& t : item.tokens) {
        std::int64_t ds = spam ? 1 : 0, dh = spam ? 0 : 1;
        if (before) {  // moved to the other class: take the old count back
          ds += *before ? -1 : 0;
          dh += *before ? 0 : -1;
        }
        add.bind(1, t).bind(2, ds).bind(3, dh);
        add.step();
        add.reset();
      }
      mark.bind(1, item.key).bind(2, std::int64_t{spam ? 1 : 0});
      mark.step();
      mark.reset();
      ++changed;
    }
    if (changed == 0) return changed;
    db.exec("DELETE FROM tokens WHERE spam = 0 AND ham = 0");
    if (live_bytes(db) > max_bytes_) {
      db.exec("DELETE FROM tokens WHERE spam + ham <= 1 AND token NOT LIKE 'r:%'");
      log::info("spam: {}: over {} octets, the tokens of a single message forgotten", file_.string(), max_bytes_);
    }
    fault::point("spam.learn_before_commit");
    tx.commit();
    return changed;
  } catch (const std::exception& e) {
    return store::failure("learn into " + file_.string(), e);
  }
}

Result<Counts> Bayes::counts() const {
  try {
    if (!fs::exists(file_)) return Counts{};
    store::Db db(file_, true, false);
    schema(db);
    return read_counts(db);
  } catch (const std::exception& e) {
    return store::failure("read " + file_.string(), e);
  }
}

void reputation_rules(const Reputation& r, bool verified, const std::string& detail, Report& out) {
  if (verified && r.sent > 0) out.add("KNOWN_CORRESPONDENT", -3.0, detail);
  else if (verified && r.ham >= 2 && r.spam == 0) out.add("SENDER_REP_HAM", -2.0, detail);
  else if (verified && r.inbox >= 3 && r.spam == 0) out.add("SENDER_REP_INBOX", -1.0, detail);
  if (r.spam >= 2 && r.ham == 0 && r.sent == 0) out.add("SENDER_REP_SPAM", 3.0, detail);
  else if (r.domain_spam >= 5 && r.domain_ham == 0 && r.sent == 0) out.add("DOMAIN_REP_SPAM", 1.5, detail);
}

Result<Reputation> Bayes::reputation(std::string_view from_address) const {
  auto j = judge({}, -1, from_address);
  if (!j) return j.error();
  return j->reputation;
}

Status Bayes::record(std::string_view prefix, const std::vector<std::string>& addresses) {
  try {
    fs::create_directories(file_.parent_path());
    store::Db db(file_, true);
    schema(db);
    db.exec("PRAGMA synchronous=NORMAL");
    store::Tx tx(db);
    store::Stmt add(db.raw(),
                    "INSERT INTO tokens(token, spam, ham) VALUES(?1, 0, 1) ON CONFLICT(token) DO UPDATE SET ham = ham + 1");
    for (const auto& a : addresses) {
      add.bind(1, std::string(prefix) + to_lower(a));
      add.step();
      add.reset();
    }
    tx.commit();
    return ok_status();
  } catch (const std::exception& e) {
    return store::failure(fmt::format("record {} in {}", prefix, file_.string()), e);
  }
}

Result<std::optional<double>> Bayes::classify(const std::vector<std::string>& toks, std::int64_t min_samples) const {
  auto j = judge(toks, min_samples, {});
  if (!j) return j.error();
  return j->probability;
}

Result<Bayes::Judgement> Bayes::judge(const std::vector<std::string>& toks, std::int64_t min_samples,
                                      std::string_view from_address) const {
  Judgement out;
  try {
    if (!fs::exists(file_)) return out;
    store::Db db(file_, true, false);
    schema(db);
    store::Stmt q(db.raw(), "SELECT spam, ham FROM tokens WHERE token = ?");
    auto counts = [&](const std::string& token) {
      std::pair<std::int64_t, std::int64_t> c{0, 0};
      q.bind(1, token);
      if (q.step()) c = {q.col_int(0), q.col_int(1)};
      q.reset();
      return c;
    };
    if (!from_address.empty()) {
      auto& r = out.reputation;
      std::string address = to_lower(from_address);
      auto at = address.rfind('@');
      std::tie(r.spam, r.ham) = counts("r:" + address);
      r.sent = counts("r:sent:" + address).second;
      r.inbox = counts("r:inbox:" + address).second;
      if (at != std::string::npos) std::tie(r.domain_spam, r.domain_ham) = counts("f:" + address.substr(at + 1));
    }
    if (min_samples < 0) return out;  // the reputation only
    Counts c = read_counts(db);
    if (c.spam < min_samples || c.ham < min_samples || c.spam == 0 || c.ham == 0) return out;
    std::vector<double> clues;
    for (const auto& t : toks) {
      if (t.starts_with("r:")) continue;  // the sender's reputation, judged apart (reputation_rules)
      auto [spam, ham] = counts(t);
      double s = static_cast<double>(spam), h = static_cast<double>(ham);
      double sr = s / static_cast<double>(c.spam), hr = h / static_cast<double>(c.ham);
      double n = s + h;
      if (n > 0 && sr + hr > 0) {
        double p = sr / (sr + hr);
        double f = (kStrength * kUnknown + n * p) / (kStrength + n);
        if (std::fabs(f - 0.5) >= kMinDeviation) clues.push_back(std::clamp(f, 0.01, 0.99));
      }
    }
    std::sort(clues.begin(), clues.end(), [](double a, double b) { return std::fabs(a - 0.5) > std::fabs(b - 0.5); });
    if (clues.size() > kMaxClues) clues.resize(kMaxClues);
    out.probability = fisher_combine(clues);
    return out;
  } catch (const std::exception& e) {
    return store::failure("classify with " + file_.string(), e);
  }
}

Result<bool> Learner::train(std::string_view address, std::string_view message, bool spam) {
  auto toks = tokens(read_message(message));
  std::string key = hex_encode(sha256(message));
  auto shared = Bayes(shared_).learn(key, toks, spam);
  if (!shared) return shared.error();
  fs::path own = user_file_(address);
  if (own.empty()) return false;
  return Bayes(own).learn(key, toks, spam);
}

Result<std::size_t> Learner::train(std::string_view address, const std::vector<std::string>& messages, bool spam) {
  std::vector<Bayes::Item> items;
  items.reserve(messages.size());
  for (const auto& m : messages) items.push_back({hex_encode(sha256(m)), tokens(read_message(m))});
  auto shared = Bayes(shared_).learn(items, spam);
  if (!shared) return shared.error();
  fs::path own = user_file_(address);
  if (own.empty()) return std::size_t{0};
  return Bayes(own).learn(items, spam);
}

void Learner::record_sent(std::string_view address, const std::vector<std::string>& recipients) const {
  fs::path own = user_file_(address);
  if (own.empty() || recipients.empty()) return;
  if (auto s = Bayes(own).record_sent(recipients); !s) log::warn("spam: {}", s.error().message);
}

void Learner::record_inbox(const std::vector<std::string>& recipients, std::string_view from_address) const {
  if (from_address.empty()) return;
  const std::vector<std::string> from{std::string(from_address)};
  for (const auto& r : recipients) {
    fs::path own = user_file_(r);
    if (own.empty()) continue;
    if (auto s = Bayes(own).record_inbox(from); !s) log::warn("spam: {}", s.error().message);
  }
}

Learner::Judgement Learner::judge(std::string_view address, const std::vector<std::string>& toks,
                                  std::string_view from_address, std::int64_t min_samples) const {
  Judgement out;
  fs::path own = user_file_(address);
  if (!own.empty()) {  // one open of the user's file for both
    if (auto j = Bayes(own).judge(toks, min_samples, from_address)) {
      out.reputation = j->reputation;
      if (j->probability) out.vote = Vote{*j->probability, "user"};
    }
  }
  if (!out.vote) {
    if (auto p = Bayes(shared_).classify(toks, min_samples); p && *p) out.vote = Vote{**p, "shared"};
  }
  return out;
}

Learner make_learner(const fs::path& data_dir, const store::Mailstore& mailstore) {
  const store::Mailstore* ms = &mailstore;
  return Learner(data_dir / "spam" / "shared.db", [ms](std::string_view address) {
    fs::path dir = ms->slot_dir(to_lower(address));
    std::error_code ec;
    return fs::is_directory(dir, ec) ? dir / "spam.db" : fs::path();
  });
}

}  // namespace tern::spam
