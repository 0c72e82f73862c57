// spam/bayes: the statistical classifier that users train by moving mail (docs/spam.md).
//
// Tokens are the distinct words of a message (spam/content's reading: subject and text, lower-case,
// 3 to 24 octets), the hosts of its links, its From domain and its attachments' extensions, each kind
// with its own prefix. A classifier file holds, per token, how many spam and ham messages had it, and
// the messages learnt (by the SHA-256 of their octets), so that a message moved out of Junk is unlearnt
// as spam before it is learnt as ham, and one moved twice is learnt once.
//
// The probability is Gary Robinson's: each token's spam ratio adjusted towards 0.5 by how rarely it was
// seen, the 150 tokens farthest from 0.5 combined by Fisher's chi-square method (as SpamBayes does).
// It is only given when the file has at least `min_samples` messages of each class; below that the
// classifier does not vote.
//
// Files: data_dir/spam/shared.db (every user's training, the default) and spam.db in each mailslot's
// folder (that user's own). SQLite in WAL mode with synchronous=FULL: a learnt message is on disk when
// learn() returns. Thread-safe (each call opens its own connection; SQLite serialises writers).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "spam/content.hpp"
#include "store/mailstore.hpp"

namespace tern::spam {

inline constexpr std::size_t kMaxTokens = 3000;

std::vector<std::string> tokens(const Reading& r);

// What a user's training says of a sender (mox's per-account reputation, from the same moves): the
// messages from this From address learnt as spam and as ham, the messages the user sent to it, and
// the From domain's spam and ham counts, and the messages from it delivered into the INBOX. Kept as
// tokens of the user's file ("r:" for addresses, "r:sent:" for correspondents, "r:inbox:" for
// deliveries, the classifier's own "f:" for domains) that classify() never reads.
struct Reputation {
  std::int64_t spam = 0, ham = 0, sent = 0;
  std::int64_t domain_spam = 0, domain_ham = 0;
  std::int64_t inbox = 0;
};

// The reputation rules for a sender whose From address is `verified` (DMARC pass, an aligned DKIM
// signature, or SPF pass for the same domain; docs/spam.md): KNOWN_CORRESPONDENT (-3.0),
// SENDER_REP_HAM (-2.0), SENDER_REP_INBOX (-1.0), SENDER_REP_SPAM (3.0), DOMAIN_REP_SPAM (1.5).
void reputation_rules(const Reputation& r, bool verified, const std::string& detail, Report& out);

struct Counts {
  std::int64_t spam = 0, ham = 0;  // messages learnt
  std::int64_t tokens = 0;         // distinct tokens known
};

// The combined probability of per-token probabilities (each in (0,1)), 0.5 for none.
double fisher_combine(const std::vector<double>& probabilities);

// The classifier's vote as rules: BAYES_99 (6.0) at 0.99 and above, BAYES_90 (5.0), BAYES_80 (2.0),
// BAYES_60 (0.5); BAYES_00 (-3.0) at 0.01 and below, BAYES_05 (-1.5), BAYES_20 (-0.5).
void bayes_rules(double probability, std::string detail, Report& out);

// A classifier file's bound: when its live pages pass this, learning forgets the tokens seen in one
// message only (the bulk of a file, and the least telling), whose pages SQLite then reuses.
inline constexpr std::int64_t kMaxClassifierBytes = 48ll * 1024 * 1024;

class Bayes {
 public:
  explicit Bayes(std::filesystem::path file, std::int64_t max_bytes = kMaxClassifierBytes)
      : file_(std::move(file)), max_bytes_(max_bytes) {}
  // Learns the message (tokens) as spam or ham under `key`; learnt before as the other class: unlearnt
  // first; as the same: nothing. Returns whether anything changed.
  Result<bool> learn(std::string_view key, const std::vector<std::string>& tokens, bool spam);
  // Several messages in one transaction (one sync); returns how many changed anything.
  struct Item {
    std::string key;
    std::vector<std::string> tokens;
  };
  Result<std::size_t> learn(const std::vector<Item>& items, bool spam);
  Result<Counts> counts() const;
  // nullopt: fewer than min_samples of spam or of ham (the file may not exist yet).
  Result<std::optional<double>> classify(const std::vector<std::string>& tokens, std::int64_t min_samples) const;
  Result<Reputation> reputation(std::string_view from_address) const;
  // Both at once, in one open of the file: the vote on `tokens` (none with too few samples, or when
  // min_samples is negative) and the reputation of `from_address` (zero when empty).
  struct Judgement {
    std::optional<double> probability;
    Reputation reputation;
  };
  Result<Judgement> judge(const std::vector<std::string>& tokens, std::int64_t min_samples,
                          std::string_view from_address) const;
  // The user wrote to these addresses: their mail is wanted. Not synced at once: a count lost in a
  // crash costs nothing.
  Status record_sent(const std::vector<std::string>& addresses) { return record("r:sent:", addresses); }
  // Mail from these addresses was delivered into the user's INBOX (not Junk, not held). The same.
  Status record_inbox(const std::vector<std::string>& addresses) { return record("r:inbox:", addresses); }
  const std::filesystem::path& file() const { return file_; }

 private:
  Status record(std::string_view prefix, const std::vector<std::string>& addresses);
  std::filesystem::path file_;
  std::int64_t max_bytes_;
};

// Training and classifying for the server and the CLI: each user's own file and the shared one.
class Learner {
 public:
  // user_file: the file of a local address ("" when it has no mailslot).
  Learner(std::filesystem::path shared_file, std::function<std::filesystem::path(std::string_view)> user_file)
      : shared_(std::move(shared_file)), user_file_(std::move(user_file)) {}

  // Learns `message` for the user (and in the shared file). Returns whether the user's file changed.
  Result<bool> train(std::string_view address, std::string_view message, bool spam);
  // Many messages at once (`tern spam train`): one transaction per file. Returns how many the user's
  // file learnt.
  Result<std::size_t> train(std::string_view address, const std::vector<std::string>& messages, bool spam);
  struct Vote {
    double probability = 0.5;
    std::string source;  // "user" or "shared"
  };
  // For one recipient: the vote of the user's own file when it has enough of both classes, else the
  // shared one's (none: neither), and the sender's reputation in the user's file (reputation is
  // personal; zero without a mailslot). `tokens` are tokens(reading), made once per message. A file
  // that cannot be read votes nothing.
  struct Judgement {
    std::optional<Vote> vote;
    Reputation reputation;
  };
  Judgement judge(std::string_view address, const std::vector<std::string>& tokens, std::string_view from_address,
                  std::int64_t min_samples) const;
  void record_sent(std::string_view address, const std::vector<std::string>& recipients) const;
  // A message from `from_address` went into these recipients' INBOXes (those with a mailslot).
  void record_inbox(const std::vector<std::string>& recipients, std::string_view from_address) const;
  Bayes user(std::string_view address) const { return Bayes(user_file_(address)); }
  Bayes shared() const { return Bayes(shared_); }

 private:
  std::filesystem::path shared_;
  std::function<std::filesystem::path(std::string_view)> user_file_;
};

// A server's learner: data_dir/spam/shared.db, and spam.db in the folder of each mailslot that exists.
Learner make_learner(const std::filesystem::path& data_dir, const store::Mailstore& mailstore);

}  // namespace tern::spam
