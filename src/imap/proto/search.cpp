// imap/proto/search: SEARCH, SORT and THREAD arguments (RFC 9051 6.4.4 and RFC 3501 6.4.4 search keys;
// RFC 4731 ESEARCH RETURN options; RFC 5182 SAVE; RFC 7162 3.1.5 MODSEQ; RFC 5256 SORT and THREAD;
// RFC 5267 ESORT; RFC 5957 DISPLAYFROM/DISPLAYTO).
//
// Search keys nest through parentheses, NOT and OR; recursion is bounded by max_search_depth so a line
// of "NOT NOT NOT ..." cannot exhaust the stack.
#include "imap/proto/detail.hpp"
#include "imap/proto/proto.hpp"

namespace tern::imap::proto {
namespace {

using detail::fail;
using detail::upper;
using Op = SearchKey::Op;

struct Flagless {
  const char* name;
  Op op;
};

constexpr Flagless no_arg_keys[] = {
    {"ALL", Op::all},           {"ANSWERED", Op::answered},     {"DELETED", Op::deleted},
    {"DRAFT", Op::draft},       {"FLAGGED", Op::flagged},       {"SEEN", Op::seen},
    {"RECENT", Op::recent},     {"NEW", Op::new_},              {"OLD", Op::old},
    {"UNANSWERED", Op::unanswered}, {"UNDELETED", Op::undeleted}, {"UNDRAFT", Op::undraft},
    {"UNFLAGGED", Op::unflagged}, {"UNSEEN", Op::unseen},
};

constexpr Flagless string_keys[] = {
    {"BCC", Op::bcc},   {"CC", Op::cc},     {"FROM", Op::from}, {"TO", Op::to},
    {"SUBJECT", Op::subject}, {"BODY", Op::body}, {"TEXT", Op::text},
};

constexpr Flagless date_keys[] = {
    {"BEFORE", Op::before},         {"ON", Op::on},           {"SINCE", Op::since},
    {"SENTBEFORE", Op::sentbefore}, {"SENTON", Op::senton},   {"SENTSINCE", Op::sentsince},
};

class KeyParser {
 public:
  explicit KeyParser(std::span<const Arg> args) : args_(args) {}

  // All the arguments from i on, as one key (an and_ of several).
  bool keys(std::size_t i, SearchKey& out) {
    i_ = i;
    if (i_ >= args_.size()) return fail("Missing search key");
    std::vector<SearchKey> all;
    while (i_ < args_.size()) {
      SearchKey k;
      if (!key(args_, i_, k, 0)) return false;
      all.push_back(std::move(k));
    }
    out = collect(std::move(all));
    return true;
  }

  std::string error;

 private:
  static SearchKey collect(std::vector<SearchKey> all) {
    if (all.size() == 1) return std::move(all[0]);
    SearchKey k;
    k.op = Op::and_;
    k.children = std::move(all);
    return k;
  }

  bool fail(const char* text) {
    if (error.empty()) error = text;
    return false;
  }

  static const Arg* next(std::span<const Arg> args, std::size_t& i) { return i < args.size() ? &args[i++] : nullptr; }

  bool astring(std::span<const Arg> args, std::size_t& i, std::string& out) {
    const Arg* a = next(args, i);
    if (!a) return fail("Missing search argument");
    auto s = astring_arg(*a);
    if (!s) return fail("Invalid search argument");
    out = std::string(*s);
    return true;
  }

  bool atom(std::span<const Arg> args, std::size_t& i, std::string& out) {
    const Arg* a = next(args, i);
    if (!a || a->kind != Arg::Kind::atom) return fail("Missing search argument");
    out = a->text;
    return true;
  }

  bool key(std::span<const Arg> args, std::size_t& i, SearchKey& k, std::size_t depth) {
    if (depth > max_search_depth) return fail("Search keys nested too deeply");
    const Arg& a = args[i++];
    if (a.kind == Arg::Kind::list) {
      // RFC 9051 9: "(" search-key *(SP search-key) ")": all of them must match.
      if (a.items.empty()) return fail("Empty search key list");
      std::vector<SearchKey> all;
      std::span<const Arg> inner(a.items);
      for (std::size_t j = 0; j < inner.size();) {
        SearchKey c;
        if (!key(inner, j, c, depth + 1)) return false;
        all.push_back(std::move(c));
      }
      k.op = Op::and_;
      k.children = std::move(all);
      return true;
    }
    if (a.kind != Arg::Kind::atom) return fail("Invalid search key");
    std::string word = upper(a.text);
    if (word.empty()) return fail("Invalid search key");
    char c0 = word[0];
    if (detail::is_digit(c0) || c0 == '*' || c0 == '$') {
      auto set = parse_sequence_set(word);
      if (!set) return fail("Invalid sequence set");
      k.op = Op::seqset;
      k.set = std::move(*set);
      return true;
    }
    for (const auto& e : no_arg_keys)
      if (word == e.name) {
        k.op = e.op;
        return true;
      }
    for (const auto& e : string_keys)
      if (word == e.name) {
        k.op = e.op;
        return astring(args, i, k.arg);
      }
    for (const auto& e : date_keys)
      if (word == e.name) {
        k.op = e.op;
        std::string d;
        if (!astring(args, i, d)) return false;
        auto date = parse_date(d);
        if (!date) return fail("Invalid date");
        k.date = *date;
        return true;
      }
    if (word == "KEYWORD" || word == "UNKEYWORD") {
      k.op = word == "KEYWORD" ? Op::keyword : Op::unkeyword;
      if (!atom(args, i, k.arg)) return false;
      for (char c : k.arg)
        if (!detail::atom_char(c)) return fail("Invalid keyword");
      return true;
    }
    if (word == "HEADER") {
      k.op = Op::header;
      return astring(args, i, k.arg) && astring(args, i, k.arg2);
    }
    if (word == "LARGER" || word == "SMALLER") {
      k.op = word == "LARGER" ? Op::larger : Op::smaller;
      std::string n;
      if (!atom(args, i, n)) return false;
      auto v = parse_number64(n);
      if (!v) return fail("Invalid number");
      k.number = *v;
      return true;
    }
    if (word == "UID") {
      k.op = Op::uid;
      std::string s;
      if (!atom(args, i, s)) return false;
      auto set = parse_sequence_set(s);
      if (!set) return fail("Invalid sequence set");
      k.set = std::move(*set);
      return true;
    }
    if (word == "NOT") {
      k.op = Op::not_;
      if (i >= args.size()) return fail("Missing search key");
      k.children.emplace_back();
      return key(args, i, k.children.back(), depth + 1);
    }
    if (word == "OR") {
      k.op = Op::or_;
      k.children.resize(2);
      for (auto& c : k.children) {
        if (i >= args.size()) return fail("Missing search key");
        if (!key(args, i, c, depth + 1)) return false;
      }
      return true;
    }
    if (word == "MODSEQ") {
      // RFC 7162 3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer, where entry-name is
      // "/flags/<flag>" (quoted) and the type priv, shared or all.
      k.op = Op::modseq;
      if (i < args.size() && args[i].kind == Arg::Kind::string) {
        k.arg = args[i++].text;
        if (k.arg.size() < 8 || !detail::iequals(k.arg.substr(0, 7), "/flags/")) return fail("Invalid MODSEQ entry");
        std::string type;
        if (!atom(args, i, type)) return false;
        type = upper(type);
        if (type != "PRIV" && type != "SHARED" && type != "ALL") return fail("Invalid MODSEQ entry type");
        for (auto& c : type) c = detail::ascii_lower(c);
        k.arg2 = type;
      }
      std::string n;
      if (!atom(args, i, n)) return false;
      auto v = parse_number64(n);
      if (!v) return fail("Invalid MODSEQ value");
      k.number = *v;
      return true;
    }
    return fail("Unknown search key");
  }

  std::span<const Arg> args_;
  std::size_t i_ = 0;
};

// RFC 4731 3.1 / RFC 5182 / RFC 5267: the RETURN options MIN MAX ALL COUNT SAVE; "()" means ALL.
bool return_options(const Arg& list, SearchRequest& req) {
  if (list.kind != Arg::Kind::list) return false;
  req.has_return = true;
  for (const auto& o : list.items) {
    if (o.kind != Arg::Kind::atom) return false;
    std::string w = upper(o.text);
    if (w == "MIN") req.ret_min = true;
    else if (w == "MAX") req.ret_max = true;
    else if (w == "ALL") req.ret_all = true;
    else if (w == "COUNT") req.ret_count = true;
    else if (w == "SAVE") req.ret_save = true;
    else return false;
  }
  if (list.items.empty()) req.ret_all = true;
  return true;
}

// RFC 9051 6.4.4: servers must support UTF-8 (and US-ASCII, a subset of it); anything else is
// answered NO [BADCHARSET].
bool charset_ok(std::string_view c) { return detail::iequals(c, "UTF-8") || detail::iequals(c, "US-ASCII"); }

}  // namespace

Parsed<SearchKey> parse_search_keys(std::span<const Arg> args) {
  KeyParser p(args);
  SearchKey k;
  if (!p.keys(0, k)) return fail<SearchKey>(p.error);
  return detail::done(std::move(k));
}

Parsed<SearchRequest> parse_search(std::span<const Arg> args) {
  SearchRequest req;
  std::size_t i = 0;
  if (i + 1 < args.size() && detail::is_word(args[i], "RETURN")) {
    if (!return_options(args[i + 1], req)) return fail<SearchRequest>("Invalid RETURN options");
    i += 2;
  }
  if (i < args.size() && detail::is_word(args[i], "CHARSET")) {
    if (i + 1 >= args.size()) return fail<SearchRequest>("Missing charset");
    auto c = astring_arg(args[i + 1]);
    if (!c) return fail<SearchRequest>("Invalid charset");
    if (!charset_ok(*c)) return fail<SearchRequest>("Unsupported charset", "BADCHARSET");
    req.charset = upper(*c);
    i += 2;
  }
  KeyParser p(args);
  if (!p.keys(i, req.key)) return fail<SearchRequest>(p.error);
  return detail::done(std::move(req));
}

Parsed<SortRequest> parse_sort(std::span<const Arg> args) {
  SortRequest req;
  std::size_t i = 0;
  if (i + 1 < args.size() && detail::is_word(args[i], "RETURN")) {
    if (!return_options(args[i + 1], req.search)) return fail<SortRequest>("Invalid RETURN options");
    i += 2;
  }
  if (i >= args.size() || args[i].kind != Arg::Kind::list || args[i].items.empty())
    return fail<SortRequest>("Missing sort criteria");
  bool reverse = false;
  for (const auto& c : args[i].items) {
    if (c.kind != Arg::Kind::atom) return fail<SortRequest>("Invalid sort criterion");
    std::string w = upper(c.text);
    if (w == "REVERSE") {
      if (reverse) return fail<SortRequest>("Invalid sort criterion");
      reverse = true;
      continue;
    }
    SortCriterion sc;
    sc.reverse = reverse;
    reverse = false;
    using K = SortCriterion::Key;
    if (w == "ARRIVAL") sc.key = K::arrival;
    else if (w == "CC") sc.key = K::cc;
    else if (w == "DATE") sc.key = K::date;
    else if (w == "FROM") sc.key = K::from;
    else if (w == "SIZE") sc.key = K::size;
    else if (w == "SUBJECT") sc.key = K::subject;
    else if (w == "TO") sc.key = K::to;
    else if (w == "DISPLAYFROM") sc.key = K::display_from;
    else if (w == "DISPLAYTO") sc.key = K::display_to;
    else return fail<SortRequest>("Invalid sort criterion");
    req.criteria.push_back(sc);
  }
  if (reverse) return fail<SortRequest>("REVERSE needs a sort key");
  ++i;
  // RFC 5256 3: the charset is required.
  if (i >= args.size()) return fail<SortRequest>("Missing charset");
  auto c = astring_arg(args[i]);
  if (!c) return fail<SortRequest>("Invalid charset");
  if (!charset_ok(*c)) return fail<SortRequest>("Unsupported charset", "BADCHARSET");
  req.charset = upper(*c);
  req.search.charset = req.charset;
  KeyParser p(args);
  if (!p.keys(i + 1, req.search.key)) return fail<SortRequest>(p.error);
  return detail::done(std::move(req));
}

Parsed<ThreadRequest> parse_thread(std::span<const Arg> args) {
  ThreadRequest req;
  if (args.size() < 3) return fail<ThreadRequest>("THREAD needs an algorithm, a charset and search keys");
  if (detail::is_word(args[0], "ORDEREDSUBJECT")) req.algorithm = ThreadRequest::Algorithm::orderedsubject;
  else if (detail::is_word(args[0], "REFERENCES")) req.algorithm = ThreadRequest::Algorithm::references;
  else return fail<ThreadRequest>("Unknown threading algorithm");
  auto c = astring_arg(args[1]);
  if (!c) return fail<ThreadRequest>("Invalid charset");
  if (!charset_ok(*c)) return fail<ThreadRequest>("Unsupported charset", "BADCHARSET");
  req.charset = upper(*c);
  KeyParser p(args);
  if (!p.keys(2, req.key)) return fail<ThreadRequest>(p.error);
  return detail::done(std::move(req));
}

}  // namespace tern::imap::proto
