#include "spam/content.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <initializer_list>

#include <fmt/format.h>

#include "base/strings.hpp"
#include "mime/address.hpp"
#include "mime/text.hpp"
#include "mime/tree.hpp"

namespace tern::spam {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A part's body decoded (transfer encoding, then charset to UTF-8), at most `room` octets of it.
std::string decoded_text(std::string_view raw, const mime::Part& part, std::size_t room) {
  std::string_view body = part.body(raw);
  if (body.size() > room * 2 + 1024) body = body.substr(0, room * 2 + 1024);  // base64 is 4/3 longer
  auto cte_field = mime::find_field(part.fields, "Content-Transfer-Encoding");
  auto cte = mime::cte_from_name(cte_field ? mime::unfold(cte_field->value) : "");
  std::string text = cte ? mime::transfer_decode(body, *cte) : std::string(body);
  text = mime::to_utf8(text, mime::param(part.params, "charset"));
  if (text.size() > room) text.resize(room);
  return text;
}

// An RFC 2231 extended value (charset'language'%XX) as its octets; other values as they are.
std::string extended_value(std::string_view v) {
  auto first = v.find('\'');
  auto second = first == std::string_view::npos ? first : v.find('\'', first + 1);
  if (second == std::string_view::npos) return std::string(v);
  std::string out;
  std::string_view rest = v.substr(second + 1);
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%' && i + 2 < rest.size() + 0 && std::isxdigit(static_cast<unsigned char>(rest[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(rest[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(rest.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += rest[i];
    }
  }
  return mime::to_utf8(out, v.substr(0, first));
}

// The host of each http(s):// link in `text` (and www. links), lower-case.
void collect_urls(std::string_view text, std::vector<std::string>& hosts, std::string& rest) {
  std::size_t pos = 0;
  while (hosts.size() < kMaxUrls) {
    std::size_t at = std::string_view::npos;
    std::size_t skip = 0;
    for (std::string_view scheme : {"http://", "https://"}) {
      // case-insensitive search for the scheme from pos
      for (std::size_t i = pos; i + scheme.size() <= text.size(); ++i) {
        if (i >= at) break;
        if (iequals(text.substr(i, scheme.size()), scheme)) {
          at = i;
          skip = scheme.size();
          break;
        }
      }
    }
    if (at == std::string_view::npos) return;
    std::size_t b = at + skip, e = b;
    while (e < text.size() && !is_space(text[e]) && std::string_view("/?#\"'<>\\)").find(text[e]) == std::string_view::npos)
      ++e;
    std::string_view host = text.substr(b, e - b);
    if (auto userinfo = host.rfind('@'); userinfo != std::string_view::npos) host.remove_prefix(userinfo + 1);
    if (!host.empty() && host.front() == '[') {
      host = host.substr(0, host.find(']') == std::string_view::npos ? host.size() : host.find(']') + 1);
    } else if (auto colon = host.find(':'); colon != std::string_view::npos) {
      host = host.substr(0, colon);
    }
    if (!host.empty()) hosts.push_back(lower(host));
    // the path and query, up to the end of the link, for the classifier's words
    std::size_t end = e;
    while (end < text.size() && !is_space(text[end]) && std::string_view("\"'<>").find(text[end]) == std::string_view::npos)
      ++end;
    if (rest.size() < kMaxText / 8) {
      rest += text.substr(e, std::min(end - e, std::size_t{512}));
      rest += ' ';
    }
    pos = end;
  }
}

// The shape of a field's value for the classifier: digits as 9, capitals as A, other letters as a, runs
// of one class as one character when `runs`; at most 60 octets. Mail programs write Date and
// Message-ID in their own shapes, and bulk senders in theirs.
std::string shape(std::string_view v, bool runs) {
  std::string out;
  for (unsigned char c : v) {
    char k = std::isdigit(c) ? '9' : std::isupper(c) ? 'A' : std::isalpha(c) ? 'a' : c >= 0x80 ? 'u' : static_cast<char>(c);
    if (k == ' ' && !out.empty() && out.back() == ' ') continue;
    if (runs && !out.empty() && out.back() == k && (k == '9' || k == 'A' || k == 'a')) continue;
    out += k;
    if (out.size() >= 60) break;
  }
  return out;
}

bool ends_with_ci(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && iequals(s.substr(s.size() - tail.size()), tail);
}

bool all_of_class(std::string_view s, int (*is)(int)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [is](char c) { return is(static_cast<unsigned char>(c)) != 0; });
}

// A Date value that ends in a zone: "+hhmm"/"-hhmm", or an obsolete name (GMT, EST, Z), a comment after
// it allowed ("(PDT)").
bool has_zone(std::string_view date) {
  auto t = trim(date);
  if (auto paren = t.find('('); paren != std::string_view::npos) t = trim(t.substr(0, paren));
  auto sp = t.find_last_of(" \t");
  auto zone = sp == std::string_view::npos ? t : t.substr(sp + 1);
  if (zone.size() == 5 && (zone[0] == '+' || zone[0] == '-')) return all_of_class(zone.substr(1), std::isdigit);
  return zone.size() <= 5 && all_of_class(zone, std::isalpha);
}

bool lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f'); });
}

// The mail program a message claims (X-Mailer) against the Message-ID it wrote. Outlook Express 4 to 6
// and Outlook 98 to 2002 write "<" 8 or 12 hex digits "$" 8 "$" 8 "@host>", the Internet Mail Only
// Outlook 28 capitals A-P, Eudora its version, a 14-digit time and 8 hex digits separated by dots. A
// spamware that names one of them and leaves the Message-ID to a relay (or makes its own) is caught;
// Message-IDs that remailers rewrite (Hotmail, Lyris lists, any list with List-Id for Eudora) are not
// judged. Returns "" or the program.
std::string forged_mua(const std::vector<mime::FieldView>& fields) {
  auto* xm = mime::find_field(fields, "X-Mailer");
  auto* mf = mime::find_field(fields, "Message-ID");
  if (!xm) return {};
  const std::string mailer = mime::unfold(xm->value);
  const std::string mid_text = mf ? mime::unfold(mf->value) : std::string();
  auto mid = trim(mid_text);
  if (mid.size() < 3 || mid.front() != '<' || mid.back() != '>' || mid.find('@') == std::string_view::npos) return {};
  auto local = mid.substr(1, mid.find('@') - 1);
  if (ends_with_ci(mid, "@hotmail.com>") || istarts_with(local, "LYRIS-")) return {};
  auto mailer_has = [&](std::string_view what) { return mailer.find(what) != std::string::npos; };
  bool outlook_express = false;
  for (std::string_view v : {"Outlook Express 4.", "Outlook Express 5.", "Outlook Express 6."}) outlook_express |= mailer_has(v);
  bool outlook = mailer.starts_with("Microsoft Outlook") &&
                 (mailer.starts_with("Microsoft Outlook 8.") || mailer_has("Build 9.") || mailer_has("Build 10."));
  if (outlook_express || outlook) {
    auto parts = split(local, '$');
    bool dollars = parts.size() == 3 && (parts[0].size() == 8 || parts[0].size() == 12) && parts[1].size() == 8 &&
                   parts[2].size() == 8 && lower_hex(parts[0]) && lower_hex(parts[1]) && lower_hex(parts[2]);
    auto dot = local.find('.');
    auto imo_part = local.substr(0, dot);
    bool imo = imo_part.size() == 28 && std::all_of(imo_part.begin(), imo_part.end(), [](char c) { return c >= 'A' && c <= 'P'; });
    return dollars || imo ? std::string() : "Outlook";
  }
  if (mailer_has("Eudora") && !mime::find_field(fields, "List-Id")) {
    auto parts = split(local, '.');
    bool eudora = parts.size() >= 4 && parts.back().size() == 8 && lower_hex(parts.back()) &&
                  parts[parts.size() - 2].size() == 14 &&
                  std::all_of(parts.begin(), parts.end() - 1, [](std::string_view p) { return all_of_class(p, std::isdigit); });
    return eudora ? std::string() : "Eudora";
  }
  return {};
}

// Outlook and Outlook Express write Message-IDs "<" 4 + 8 hex digits "$" 8 "$" 8 "@host>" whose 8
// digits after the first 4 are the upper half of the sending time as a Windows FILETIME (100 ns units
// since 1601: one unit of that half is 2^32 / 10^7, about 429 seconds). Ratware copies the shape with
// random digits, so the time agrees with neither the Date nor the newest Received field; real ones
// agree with one of them within 250 units (about 30 hours: clocks and queues). The idea is
// SpamAssassin's MSGID_OUTLOOK_INVALID; in the SpamAssassin corpus 0 of 218 ham messages with such an
// ID fail it, 599 of 610 spam messages do. False when there is no such ID or no time to compare with.
bool outlook_mid_time_wrong(std::string_view local, std::initializer_list<std::optional<std::int64_t>> times) {
  if (local.size() != 30 || local[12] != '$' || local[21] != '$') return false;
  if (!lower_hex(local.substr(0, 12)) || !lower_hex(local.substr(13, 8)) || !lower_hex(local.substr(22, 8))) return false;
  std::uint32_t stamp = 0;  // 8 hex digits, checked above
  std::from_chars(local.data() + 4, local.data() + 12, stamp, 16);
  bool compared = false;
  for (const auto& t : times) {
    if (!t) continue;
    compared = true;
    // (unix seconds + the seconds from 1601 to 1970) * 10^7 / 2^32
    const double filetime_high = (static_cast<double>(*t) + 11644473600.0) * 1e7 / 4294967296.0;
    if (std::fabs(static_cast<double>(stamp) - filetime_high) < 250.0) return false;
  }
  return compared;
}

// A Message-ID field that is not one "<left@right>" (RFC 5322 3.6.4): no brackets, no "@", an empty
// side, spaces, or text after it. Mail programs and relays write valid ones; ratware often does not.
bool invalid_mid(std::string_view mid) {
  if (mid.size() < 5 || mid.front() != '<' || mid.back() != '>') return true;
  auto inner = mid.substr(1, mid.size() - 2);
  auto at = inner.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == inner.size() || inner.find('@', at + 1) != std::string_view::npos)
    return true;
  return std::any_of(inner.begin(), inner.end(), [](char c) { return c == '<' || c == '>' || std::isspace(static_cast<unsigned char>(c)); });
}

std::string_view extension(std::string_view name) {
  auto dot = name.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
}

constexpr std::array kExecutable{"exe", "scr", "com", "pif", "bat", "cmd", "vbs", "vbe", "js",  "jse", "wsf", "wsh",
                                 "hta", "msi", "msp", "jar", "lnk", "cpl", "reg", "ps1", "iso", "img", "dll", "app"};
constexpr std::array kDocument{"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "rtf", "jpg", "jpeg",
                               "png", "gif", "zip", "rar", "htm", "html", "csv", "odt", "mp3", "mp4", "wav"};
constexpr std::array kMacro{"docm", "xlsm", "pptm", "dotm", "xltm", "xlam", "ppam", "potm", "sldm"};

template <std::size_t N>
bool one_of(std::string_view ext, const std::array<const char*, N>& list) {
  return std::any_of(list.begin(), list.end(), [&](const char* e) { return iequals(ext, e); });
}

bool is_ip_literal(std::string_view host) {
  if (!host.empty() && host.front() == '[') return true;
  int dots = 0;
  for (char c : host) {
    if (c == '.') ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return dots == 3;
}

}  // namespace

bool executable_name(std::string_view name) {
  return file_kind(name) == FileKind::executable || file_kind(name) == FileKind::double_extension;
}

FileKind file_kind(std::string_view name) {
  while (!name.empty() && (name.back() == ' ' || name.back() == '.')) name.remove_suffix(1);  // "x.exe. "
  if (one_of(extension(name), kExecutable)) {
    auto stem = name.substr(0, name.rfind('.'));
    return one_of(extension(stem), kDocument) ? FileKind::double_extension : FileKind::executable;
  }
  return one_of(extension(name), kMacro) ? FileKind::macro : FileKind::other;
}

std::string file_name(const mime::Part& part) {
  std::string name;
  if (auto* cd = mime::find_field(part.fields, "Content-Disposition")) {
    auto p = mime::parse_params(mime::unfold(cd->value), false);
    name = mime::param(p.params, "filename");
    if (name.empty()) name = extended_value(mime::param(p.params, "filename*"));
  }
  if (name.empty()) name = mime::param(part.params, "name");
  if (name.empty()) name = extended_value(mime::param(part.params, "name*"));
  return lower(mime::decode_header(name));
}

bool is_attachment(const mime::Part& part, std::string_view name) {
  if (!name.empty()) return true;
  auto* cd = mime::find_field(part.fields, "Content-Disposition");
  return cd && istarts_with(mime::unfold(cd->value), "attachment");
}

std::string html_text(std::string_view html, bool* hidden) {
  std::string out;
  out.reserve(std::min(html.size(), kMaxText));
  // Elements whose text is invisible: a stack depth at which hiding started (0: visible).
  std::vector<std::string> open;  // names of open elements, for hiding only
  std::size_t hide_depth = 0;
  std::size_t i = 0;
  while (i < html.size() && out.size() < kMaxText) {
    char c = html[i];
    if (c == '<') {
      if (html.substr(i, 4) == "<!--") {
        auto end = html.find("-->", i + 4);
        i = end == std::string_view::npos ? html.size() : end + 3;
        continue;
      }
      auto end = html.find('>', i + 1);
      if (end == std::string_view::npos) break;
      std::string_view tag = html.substr(i + 1, end - i - 1);
      i = end + 1;
      bool closing = !tag.empty() && tag.front() == '/';
      if (closing) tag.remove_prefix(1);
      std::size_t n = 0;
      while (n < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[n])) != 0)) ++n;
      std::string name = lower(tag.substr(0, n));
      if (!closing && (name == "script" || name == "style")) {
        auto close = lower(html.substr(i, std::min<std::size_t>(html.size() - i, 1 << 20))).find("</" + name);
        i = close == std::string::npos ? html.size() : i + close;
        continue;
      }
      if (name == "br" || name == "p" || name == "div" || name == "tr" || name == "li" || name == "h1" ||
          name == "h2" || name == "h3" || name == "td" || name == "table")
        out += '\n';
      bool void_element = name == "br" || name == "img" || name == "hr" || name == "meta" || name == "input" ||
                          name == "link" || (!tag.empty() && tag.back() == '/');
      if (closing) {
        if (!open.empty() && open.back() == name) {
          open.pop_back();
          if (hide_depth > open.size()) hide_depth = 0;
        }
      } else if (!void_element && !name.empty()) {
        std::string attrs = lower(tag.substr(n));
        attrs.erase(std::remove_if(attrs.begin(), attrs.end(), [](char ch) { return ch == ' '; }), attrs.end());
        bool invisible = attrs.find("display:none") != std::string::npos ||
                         attrs.find("visibility:hidden") != std::string::npos ||
                         attrs.find("font-size:0") != std::string::npos ||
                         attrs.find("font-size:1px") != std::string::npos || attrs.find(" hidden") != std::string::npos;
        if (open.size() < 256) {
          open.push_back(name);
          if (invisible && hide_depth == 0) hide_depth = open.size();
        }
      }
      continue;
    }
    if (c == '&') {
      auto semi = html.find(';', i);
      if (semi != std::string_view::npos && semi - i <= 8) {
        std::string_view ent = html.substr(i + 1, semi - i - 1);
        std::string rep;
        if (ent == "nbsp") rep = " ";
        else if (ent == "amp") rep = "&";
        else if (ent == "lt") rep = "<";
        else if (ent == "gt") rep = ">";
        else if (ent == "quot") rep = "\"";
        else if (ent == "apos" || ent == "#39") rep = "'";
        else if (!ent.empty() && ent.front() == '#') {
          unsigned long cp = 0;
          bool hex = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
          try {
            cp = std::stoul(std::string(ent.substr(hex ? 2 : 1)), nullptr, hex ? 16 : 10);
          } catch (...) {
            cp = 0;
          }
          if (cp > 0 && cp < 0x80) rep = std::string(1, static_cast<char>(cp));
          else if (cp > 0) rep = " ";
        }
        if (!rep.empty() || ent.empty()) {
          if (hide_depth == 0) out += rep;
          i = semi + 1;
          continue;
        }
      }
    }
    if (hide_depth == 0) {
      out += c;
    } else if (!is_space(c) && hidden) {
      *hidden = true;
    }
    ++i;
  }
  return out;
}

Reading read_message(std::string_view message) {
  Reading r;
  mime::Part root = mime::parse_tree(message);
  const auto& fields = root.fields;
  if (auto* f = mime::find_field(fields, "Subject")) r.subject = mime::decode_header(mime::unfold(f->value));
  if (auto* f = mime::find_field(fields, "From")) {
    r.has_from = true;
    auto addrs = mime::parse_addresses(mime::unfold(f->value));
    for (const auto& a : addrs) {
      if (a.kind != mime::Address::Kind::mailbox) continue;
      r.from_name = mime::decode_header(a.name, true);
      r.from_address = a.mailbox + "@" + lower(a.host);
      break;
    }
  }
  if (auto* f = mime::find_field(fields, "Date")) {
    r.has_date = true;
    const std::string value = mime::unfold(f->value);
    if (auto d = mime::parse_date(value)) {
      r.date_valid = true;
      r.date = d->unix_seconds;
    }
    r.date_zone = has_zone(value);
  }
  if (auto* f = mime::find_field(fields, "Received")) {
    const std::string value = mime::unfold(f->value);
    if (auto semi = value.rfind(';'); semi != std::string::npos)
      if (auto d = mime::parse_date(std::string_view(value).substr(semi + 1))) r.received = d->unix_seconds;
  }
  r.msmail_without_mimeole = mime::find_field(fields, "X-MSMail-Priority") && !mime::find_field(fields, "X-MimeOLE");
  for (const char* name : {"To", "Cc"}) {
    auto* f = mime::find_field(fields, name);
    if (f && r.empty_field.empty() && trim(mime::unfold(f->value)).empty()) r.empty_field = name;
  }
  const auto* mid_field = mime::find_field(fields, "Message-ID");
  r.has_message_id = mid_field != nullptr;
  r.forged_mua = forged_mua(fields);
  if (mid_field) {
    const std::string unfolded = mime::unfold(mid_field->value);
    auto mid = trim(unfolded);
    r.invalid_mid = invalid_mid(mid);
    if (!r.invalid_mid)
      r.outlook_mid_time_wrong = outlook_mid_time_wrong(mid.substr(1, mid.find('@') - 1),
                                                        {r.date_valid ? std::optional(r.date) : std::nullopt, r.received});
  }
  auto add_token = [&r](std::string t) {
    if (r.header_tokens.size() < 200 && std::find(r.header_tokens.begin(), r.header_tokens.end(), t) == r.header_tokens.end())
      r.header_tokens.push_back(std::move(t));
  };
  for (const char* name : {"X-Mailer", "User-Agent"}) {
    if (auto* f = mime::find_field(fields, name)) {
      std::string v = lower(mime::unfold(f->value));
      auto words = split(v, ' ');
      std::string first = words.empty() ? std::string() : std::string(words[0]).substr(0, 40);
      if (!first.empty()) add_token("mailer:" + first);
    }
  }
  if (auto* f = mime::find_field(fields, "Message-ID")) {
    std::string v = lower(mime::unfold(f->value));
    auto at = v.rfind('@');
    auto end = v.find('>', at == std::string::npos ? 0 : at);
    if (at != std::string::npos) add_token("mid:" + v.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1).substr(0, 60));
    const std::string unfolded = mime::unfold(f->value);
    auto raw = trim(unfolded);
    add_token("midshape:" + shape(raw.substr(0, raw.rfind('@')), true));
  }
  if (auto* f = mime::find_field(fields, "Date")) {
    add_token("date:" + shape(trim(mime::unfold(f->value)), false));
  }
  if (auto* f = mime::find_field(fields, "Reply-To")) {
    auto addrs = mime::parse_addresses(mime::unfold(f->value));
    if (!addrs.empty() && addrs.front().kind == mime::Address::Kind::mailbox) {
      std::string d = lower(addrs.front().host);
      auto at = r.from_address.rfind('@');
      add_token(at != std::string::npos && r.from_address.substr(at + 1) == d ? "replyto:same" : "replyto:other");
    }
  }
  if (auto* f = mime::find_field(fields, "To")) {
    auto n = mime::parse_addresses(mime::unfold(f->value)).size();
    add_token(n == 0 ? "to:none" : n == 1 ? "to:one" : n < 5 ? "to:few" : "to:many");
  } else {
    add_token("to:missing");
  }
  add_token("type:" + lower(root.type) + "/" + lower(root.subtype));

  // Depth-first over the leaves; an encapsulated message is read as part of this one.
  mime::for_each_leaf(root, [&](const mime::Part& leaf) {
    const mime::Part* p = &leaf;
    std::string name = file_name(*p);
    bool attachment = is_attachment(*p, name);
    if (attachment && r.attachments.size() < kMaxAttachments) r.attachments.push_back(name);
    if (!p->is_text() || attachment || r.text.size() >= kMaxText) return true;
    if (p->is_text()) {
      std::string cs = lower(mime::param(p->params, "charset"));
      add_token("charset:" + (cs.empty() ? std::string("none") : cs.substr(0, 30)));
      auto* cte = mime::find_field(p->fields, "Content-Transfer-Encoding");
      add_token("cte:" + (cte ? lower(mime::unfold(cte->value)).substr(0, 20) : std::string("none")));
    }
    bool html = iequals(p->subtype, "html");
    bool plain = iequals(p->subtype, "plain");
    if (!html && !plain) return true;
    std::string text = decoded_text(message, *p, kMaxText - r.text.size());
    if (html) {
      r.has_html = true;
      // links from the markup (href="http://..."), then the words
      collect_urls(text, r.url_hosts, r.url_text);
      text = html_text(text, &r.hidden_html);
    } else {
      r.has_plain = true;
      collect_urls(text, r.url_hosts, r.url_text);
    }
    if (!r.text.empty()) r.text += '\n';
    r.text += text.substr(0, kMaxText - std::min(kMaxText, r.text.size()));
    return true;
  });
  return r;
}

void content_rules(const Reading& r, std::int64_t now, Report& out) {
  if (!r.has_from) out.add("MISSING_FROM", 2.0);
  if (!r.has_date) out.add("MISSING_DATE", 1.2);
  else if (!r.date_valid) out.add("INVALID_DATE", 1.0);
  // Ahead of when the nearest relay took it (the newest Received field; now when there is none).
  else if (r.date > std::min(now, r.received.value_or(now)) + 3 * 3600) out.add("DATE_IN_FUTURE", 2.0);
  if (r.msmail_without_mimeole) out.add("MISSING_MIMEOLE", 1.0);
  if (r.date_valid && !r.date_zone) out.add("DATE_NO_ZONE", 1.5);
  if (!r.empty_field.empty()) out.add("EMPTY_ADDRESS_FIELD", 1.5, r.empty_field);
  if (!r.has_message_id) out.add("MISSING_MID", 0.5);
  else if (r.invalid_mid) out.add("INVALID_MID", 1.5);
  if (r.outlook_mid_time_wrong) out.add("MID_OUTLOOK_TIME", 3.0);

  std::size_t letters = 0, upper = 0;
  for (unsigned char c : r.subject) {
    if (std::isalpha(c)) {
      ++letters;
      if (std::isupper(c)) ++upper;
    }
  }
  if (letters >= 10 && upper == letters) out.add("SUBJ_ALL_CAPS", 0.5);

  // A display name that is itself an address of another domain: "paypal.com <x@elsewhere>" style.
  if (auto at = r.from_name.find('@'); at != std::string::npos && !r.from_address.empty()) {
    std::string shown = lower(r.from_name.substr(at + 1));
    while (!shown.empty() && !std::isalnum(static_cast<unsigned char>(shown.back()))) shown.pop_back();
    std::string real = r.from_address.substr(r.from_address.rfind('@') + 1);
    if (!shown.empty() && shown != real && !ends_with_ci(real, "." + shown))
      out.add("FROM_NAME_SPOOF", 2.0, fmt::format("shows @{}", shown));
  }

  if (!r.forged_mua.empty()) out.add("FORGED_MUA", 3.5, r.forged_mua);
  if (r.has_html && !r.has_plain) out.add("HTML_ONLY", 0.7);
  if (r.hidden_html) out.add("HTML_HIDDEN_TEXT", 2.0);
  for (const auto& h : r.url_hosts) {
    if (is_ip_literal(h)) {
      out.add("URL_RAW_IP", 2.5, h);
      break;
    }
  }

  for (const auto& name : r.attachments) {
    auto kind = file_kind(name);
    if (kind == FileKind::double_extension) out.add("DOUBLE_EXTENSION", 3.0, name);
    if (kind == FileKind::executable || kind == FileKind::double_extension) {
      out.add("EXECUTABLE_ATTACHMENT", 5.0, name);
      break;
    }
    if (kind == FileKind::macro) {
      out.add("MACRO_ATTACHMENT", 2.0, name);
      break;
    }
  }
}

}  // namespace tern::spam
