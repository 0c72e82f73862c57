// RFC 5322 3.4 (and 4.4 obsolete forms) address lists for ENVELOPE (RFC 9051 7.5.2); see address.hpp.
#include "mime/address.hpp"

namespace tern::mime {

namespace {

struct Token {
  enum class Type { word, quoted, comment, literal, special };
  Type type = Type::word;
  std::string text;  // word/literal as written; quoted/comment contents unescaped; special: the char
  bool space_before = false;
  bool is(char c) const { return type == Type::special && text[0] == c; }
};

bool special(char c) { return std::string_view("()<>@,;:.\"[]").find(c) != std::string_view::npos; }
bool white(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> out;
  bool space = false;
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (white(c)) {
      space = true;
      ++i;
      continue;
    }
    Token t;
    t.space_before = space;
    space = false;
    if (c == '(') {
      // RFC 5322 3.2.2: comments nest and may hold quoted pairs.
      int depth = 0;
      std::size_t start = i;
      for (; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          ++i;
          t.text += s[i];
          continue;
        }
        if (s[i] == '(' && depth++ == 0) continue;
        if (s[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
        if (i > start) t.text += s[i];
      }
      t.type = Token::Type::comment;
      space = true;
    } else if (c == '"') {
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        t.text += s[i++];
      }
      if (i < s.size()) ++i;
      t.type = Token::Type::quoted;
    } else if (c == '[') {
      auto end = s.find(']', i);
      end = end == std::string_view::npos ? s.size() : end + 1;
      t.text = std::string(s.substr(i, end - i));
      t.type = Token::Type::literal;
      i = end;
    } else if (special(c)) {
      t.text = std::string(1, c);
      t.type = Token::Type::special;
      ++i;
    } else {
      auto start = i;
      while (i < s.size() && !white(s[i]) && !special(s[i])) ++i;
      t.text = std::string(s.substr(start, i - start));
      t.type = Token::Type::word;
    }
    out.push_back(std::move(t));
  }
  return out;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  std::vector<Address> list() {
    while (i_ < t_.size()) {
      if (t_[i_].is(',') || t_[i_].is(';') || t_[i_].is('>') || t_[i_].is(':') ||
          t_[i_].type == Token::Type::comment) {
        ++i_;
        continue;
      }
      one(false);
    }
    return std::move(out_);
  }

 private:
  // A display name: words joined by single spaces (quotes removed), dots kept as written.
  static void append_phrase(std::string& out, const Token& tok) {
    if (tok.type == Token::Type::comment) return;
    if (!out.empty() && tok.space_before) out += ' ';
    out += tok.text;
  }

  // The first comment in [from, to): RFC 822 style "user@host (Full Name)" names.
  std::string comment_in(std::size_t from, std::size_t to) const {
    for (auto k = from; k < to && k < t_.size(); ++k)
      if (t_[k].type == Token::Type::comment) return t_[k].text;
    return {};
  }

  bool stop(const Token& tok, bool in_group) const {
    return tok.is('<') || tok.is(',') || tok.is('@') || tok.is(';') || (tok.is(':') && !in_group) ||
           tok.is('>');
  }

  void emit(std::string name, std::string adl, std::string mailbox, std::string host) {
    Address a;
    a.name = std::move(name);
    a.adl = std::move(adl);
    a.mailbox = mailbox.empty() ? std::string(kMissingMailbox) : std::move(mailbox);
    a.host = host.empty() ? std::string(kMissingDomain) : std::move(host);
    out_.push_back(std::move(a));
  }

  // A local part or domain: tokens joined without the white space between them.
  std::string joined(std::size_t from, std::size_t to) const {
    std::string s;
    for (auto k = from; k < to; ++k)
      if (t_[k].type != Token::Type::comment) s += t_[k].text;
    return s;
  }

  // Tokens up to the end of the domain after '@' at position `at`.
  std::size_t domain_end(std::size_t at, bool angle) const {
    auto k = at + 1;
    while (k < t_.size()) {
      auto& tok = t_[k];
      if (angle ? tok.is('>') : (tok.is(',') || tok.is(';') || tok.is('<') || tok.is('>'))) break;
      // "a@b c@d" without a comma: a new word after white space ends the domain.
      if (!angle && tok.space_before && tok.type == Token::Type::word && k > at + 1 && !t_[k - 1].is('.') &&
          !t_[k - 1].is('@'))
        break;
      ++k;
    }
    return k;
  }

  void one(bool in_group) {
    auto start = i_;
    auto j = i_;
    while (j < t_.size() && !stop(t_[j], in_group)) ++j;
    if (j < t_.size() && t_[j].is(':') && !in_group) {
      group(start, j);
      return;
    }
    if (j < t_.size() && t_[j].is('<')) {
      angle(start, j, in_group);
      return;
    }
    if (j < t_.size() && t_[j].is('@')) {
      auto end = domain_end(j, false);
      auto local = joined(start, j);
      auto host = joined(j + 1, end);
      emit(comment_in(start, end), "", local, host);
      i_ = end;
      return;
    }
    // No '@' and no '<': a bare local part ("To: postmaster") or a name with no address.
    if (j == start) {
      ++i_;
      return;
    }
    bool spaced = false;
    for (auto k = start + 1; k < j; ++k) spaced = spaced || (t_[k].space_before && t_[k].type != Token::Type::comment);
    if (spaced) {
      std::string name;
      for (auto k = start; k < j; ++k) append_phrase(name, t_[k]);
      emit(name, "", "", "");
    } else {
      emit(comment_in(start, j), "", joined(start, j), "");
    }
    i_ = j;
  }

  void group(std::size_t start, std::size_t colon) {
    std::string name;
    for (auto k = start; k < colon; ++k) append_phrase(name, t_[k]);
    Address begin;
    begin.kind = Address::Kind::group_start;
    begin.name = name;
    out_.push_back(std::move(begin));
    i_ = colon + 1;
    while (i_ < t_.size()) {
      if (t_[i_].is(';')) {
        ++i_;
        break;
      }
      if (t_[i_].is(',') || t_[i_].is(':') || t_[i_].is('>') || t_[i_].type == Token::Type::comment) {
        ++i_;
        continue;
      }
      one(true);
    }
    Address end;
    end.kind = Address::Kind::group_end;
    out_.push_back(std::move(end));
  }

  void angle(std::size_t start, std::size_t lt, bool /*in_group*/) {
    std::string name;
    for (auto k = start; k < lt; ++k) append_phrase(name, t_[k]);
    auto k = lt + 1;
    // RFC 5322 4.4 obs-route: "@a,@b:" before the addr-spec.
    std::string adl;
    if (k < t_.size() && t_[k].is('@')) {
      auto r = k;
      while (r < t_.size() && !t_[r].is(':') && !t_[r].is('>')) ++r;
      if (r < t_.size() && t_[r].is(':')) {
        adl = joined(k, r);
        k = r + 1;
      }
    }
    auto at = k;
    while (at < t_.size() && !t_[at].is('@') && !t_[at].is('>')) ++at;
    std::string local = joined(k, at);
    std::string host;
    auto end = at;
    if (at < t_.size() && t_[at].is('@')) {
      end = domain_end(at, true);
      host = joined(at + 1, end);
    }
    if (name.empty()) name = comment_in(end, end + 2 < t_.size() ? end + 2 : t_.size());
    emit(name, adl, local, host);
    i_ = end < t_.size() ? end + 1 : end;  // past '>'
  }

  std::vector<Token> t_;
  std::size_t i_ = 0;
  std::vector<Address> out_;
};

}  // namespace

std::vector<Address> parse_addresses(std::string_view value) { return Parser(tokenize(value)).list(); }

}  // namespace tern::mime
