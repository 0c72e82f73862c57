#include "spool/quarantine.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "base/fault.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "spool/spool_internal.hpp"
#include "store/files.hpp"

namespace tern::spool {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSuffix = ".msg";
// What list() and show() read of a file: the envelope and enough of the message to say its size.
constexpr std::size_t kMaxFile = 512ull * 1024 * 1024;

// Ids are Tern's own (make_unique_id: letters, digits); anything else never names a file, so an id
// from the command line or the API cannot reach outside the folder.
bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 &&
         std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

Held held_of(const std::string& id, const QueueFile& q, std::size_t file_size) {
  Held h;
  h.id = id;
  std::tie(h.held_at, h.why) = parse_held(q.envelope.quarantine);
  h.from = q.envelope.from;
  for (const auto& r : q.envelope.recipients) h.recipients.push_back(r.address);
  h.client = q.envelope.client;
  h.size = file_size - q.message_offset;
  return h;
}

}  // namespace

std::pair<std::int64_t, std::string> parse_held(std::string_view value) {
  auto space = value.find(' ');
  auto when = parse_u64(value.substr(0, space));
  if (!when) return {0, std::string(value)};
  return {static_cast<std::int64_t>(*when), space == std::string_view::npos ? "" : std::string(value.substr(space + 1))};
}

Quarantine::Quarantine(const fs::path& data_dir)
    : dir_(data_dir / "mail" / "quarantine"), pending_(data_dir / "mail" / "pending") {}

Result<std::string> Quarantine::hold(Envelope env, std::string_view message, std::string_view why, std::string id) {
  if (id.empty()) id = make_unique_id();
  env.arrived = 0;  // stamped by the outbox at release
  env.quarantine = fmt::format("{} {}", unix_now(), log_safe(why, 200));
  auto data = format(env, message);
  auto file = dir_ / (id + std::string(kSuffix));
  try {
    store::ensure_dir(dir_);
    store::write_file_synced(dir_ / (id + ".tmp"), file, data);
    store::fsync_dir(dir_);
  } catch (const std::system_error& e) {
    std::error_code ec;
    fs::remove(file, ec);  // not acknowledged: nothing may stay behind to be released later
    return Error::from(e);
  }
  fault::point("quarantine.after_held");
  return id;
}

Result<fs::path> Quarantine::file_of(const std::string& id) const {
  if (!valid_id(id)) return Error{fmt::format("{}: not a quarantine id", id), Error::Kind::invalid};
  auto file = dir_ / (id + std::string(kSuffix));
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return Error{fmt::format("{}: no such message in the quarantine", id), Error::Kind::not_found};
  return file;
}

Result<std::vector<Held>> Quarantine::list() const {
  std::vector<Held> out;
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return out;
  try {
    for (const auto& de : fs::directory_iterator(dir_)) {
      auto name = de.path().filename().string();
      if (!name.ends_with(kSuffix) || !de.is_regular_file()) continue;
      auto id = name.substr(0, name.size() - kSuffix.size());
      auto shown = show(id);
      if (shown) {
        out.push_back(std::move(shown->first));
        continue;
      }
      Held h;
      h.id = id;
      h.problem = shown.error().message;
      out.push_back(std::move(h));
    }
  } catch (const std::system_error& e) {
    return Error::from(e);
  }
  std::sort(out.begin(), out.end(),
            [](const Held& a, const Held& b) { return std::tie(a.held_at, a.id) < std::tie(b.held_at, b.id); });
  return out;
}

Result<std::pair<Held, std::string>> Quarantine::show(const std::string& id) const {
  auto file = file_of(id);
  if (!file) return file.error();
  std::string data;
  try {
    std::error_code ec;
    if (fs::file_size(*file, ec) > kMaxFile) return Error{fmt::format("{}: larger than {} octets", id, kMaxFile), Error::Kind::limit};
    data = store::read_file(*file);
  } catch (const std::system_error& e) {
    return Error::from(e);
  }
  auto q = parse(data);
  if (!q) return Error{fmt::format("{}: {}", id, q.error().message), Error::Kind::invalid};
  auto held = held_of(id, *q, data.size());
  return std::make_pair(std::move(held), std::move(data));
}

Status Quarantine::release(const std::string& id) {
  auto file = file_of(id);
  if (!file) return file.error();
  // The outbox reads the file again; a damaged one would only go to lost+found from there.
  auto shown = show(id);
  if (!shown) return shown.error();
  try {
    store::ensure_dir(pending_);
    auto target = pending_ / (id + std::string(kSuffix));
    if (fs::exists(target)) return Error{fmt::format("{}: pending/ holds a file of that name", id), Error::Kind::exists};
    fs::rename(*file, target);
    fault::point("quarantine.after_release_rename");
    store::fsync_dir(pending_);
    store::fsync_dir(dir_);
  } catch (const std::system_error& e) {
    return Error::from(e);
  }
  log::info("quarantine: released {} from <{}> for {} recipient(s)", id, shown->first.from,
            shown->first.recipients.size());
  return ok_status();
}

Status Quarantine::remove(const std::string& id) {
  auto file = file_of(id);
  if (!file) return file.error();
  try {
    fs::remove(*file);
    store::fsync_dir(dir_);
  } catch (const std::system_error& e) {
    return Error::from(e);
  }
  log::info("quarantine: deleted {}", id);
  return ok_status();
}

}  // namespace tern::spool
