// api/admin: the administration actions that change mailslots and the queue, one function each, run
// by every way in: the JSON API (api/api), and the control socket's requests (app/control), which
// `tern user|archive|queue ...` send to a running server or execute themselves when none runs. So the
// console, scripts and the command line can never disagree about what an action does.
//
// Also the JSON forms that `--json` and the API share (a queued message, an alias).
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "base/result.hpp"
#include "mailauth/keys.hpp"
#include "spam/bayes.hpp"
#include "spool/admin.hpp"
#include "spool/lost_found.hpp"
#include "spool/quarantine.hpp"
#include "spool/spool.hpp"
#include "store/directory.hpp"
#include "store/mailstore.hpp"

namespace tern::api {

// What administration requests act on: the running server's (or the CLI's own) objects.
struct Admin {
  spool::Spool& spool;
  store::Directory& directory;
  store::Mailstore& mailstore;
};

// Adds a mailslot; mail found under its address without a mailslot (a previous owner's) is first
// taken out of service as delete_mailslot does.
Result<std::string> add_mailslot(store::Directory& dir, store::Mailstore& ms, const std::string& address,
                                 store::SlotKind kind, const std::string& password_hash, bool admin = false);
// Deletes a mailslot: its directory row first (no new mail is accepted for it), then its mail is taken
// out of service (kept under mail/deleted/ unless purge), so that a later mailslot of the same address
// starts empty. Returns what was done.
Result<std::string> delete_mailslot(store::Directory& dir, store::Mailstore& ms, const std::string& address,
                                    store::SlotKind kind, bool purge);

// A change of a user (PATCH /api/v1/users/{address}, `tern user passwd|quota|enable|disable|admin`):
// each field present is set; quota's inner nullopt goes back to [limits] mailbox_quota. Every field is
// checked before anything changes. Returns the user as it is after.
struct UserChange {
  std::optional<std::string> password;  // the new password in clear (hashed here); never empty
  std::optional<std::optional<std::uint64_t>> quota;
  std::optional<bool> enabled, admin;
};
Result<store::Mailslot> change_user(store::Directory& dir, const std::string& address, const UserChange& change);

// A DKIM key as `tern dkim list --json` and GET /api/v1/dkim show it: domain, selector, algorithm,
// bits, created, signing, record (the TXT value to publish), retired (when it was).
boost::json::object dkim_json(const mailauth::DkimKeyInfo& k);

// `tern spam train` and POST /api/v1/spam/train: every message of a mailslot's folder learnt as spam or
// as ham, by the mailslot's classifier and the shared one, 500 at a time (one transaction each).
// Messages learnt before (the same octets) are counted in `already`.
struct Trained {
  std::size_t learnt = 0, already = 0;
};
Result<Trained> train_folder(store::Directory& dir, store::Mailstore& mailstore, spam::Learner& learner,
                             const std::string& address, const std::string& folder, bool spam);
// `tern spam stats` and GET /api/v1/spam/{address}: what the mailslot's classifier and the shared one
// have learnt, and how many of each kind they need before they vote.
Result<boost::json::object> spam_stats(store::Directory& dir, const spam::Learner& learner, const std::string& address,
                                       std::int64_t min_samples);

// The DNS records a local domain publishes (`tern domain dns`, GET /api/v1/domains/{name}/dns): MX, SPF,
// DKIM (each published key of data_dir/dkim), DMARC, and the client configuration SRV records (RFC
// 6186, RFC 8314). not_found for a domain that is not local, invalid for a name that is no domain.
struct PublishedRecord {
  enum class Kind { mx, txt, srv } kind;
  std::string name;  // owner name, without the final dot
  std::string text;  // MX: the host; TXT: the text; SRV: "port host"
  std::string line;  // zone-file form
};
Result<std::vector<PublishedRecord>> dns_records(store::Directory& dir, const std::filesystem::path& data_dir,
                                                 const std::string& hostname, std::string_view domain);
// A TXT record in zone-file form, the text cut into character-strings of at most 255 octets.
std::string zone_txt(const std::string& name, const std::string& text);

// The queue actions: "retry" (Clear Host Assignments; every message when `ids` is empty), and "hold",
// "release", "delete", "bounce" of exactly one id. invalid for another verb or count.
Result<std::string> queue_action(spool::Spool& spool, std::string_view verb, const std::vector<std::string>& ids);
bool is_queue_verb(std::string_view verb);

// {id, from, arrived, size, held, recipients: [{address, state, attempts, next_attempt, last_error}]},
// and "problem" for an unreadable file: `tern queue list --json` and GET /api/v1/queue.
boost::json::object queue_json(const spool::QueueView& q);
// {id, held, why, from, recipients, client, size} and "problem" for a file that cannot be read:
// `tern quarantine list --json` and GET
// /api/v1/quarantine.
boost::json::object held_json(const spool::Held& h);
// {address, admin, enabled, quota, own_quota}: quota is what applies (the user's own, else
// `default_quota`, [limits] mailbox_quota; 0: none), own_quota the user's own or null.
boost::json::object user_json(const store::Mailslot& s, std::uint64_t default_quota);
// {name, size, time, why}
boost::json::object lost_json(const spool::LostFile& f);
// {address, targets: [...]}
boost::json::object alias_json(const std::string& address, const std::vector<std::string>& targets);

}  // namespace tern::api
