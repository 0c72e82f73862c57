// imap/proto: the IMAP grammar (RFC 9051 IMAP4rev2, RFC 3501 IMAP4rev1), apart from all I/O.
//
// Pure: bytes in, commands and typed requests out. Knows nothing of sockets, files or SQLite; never
// throws across the API (only std::bad_alloc can escape). Every length is bounded by a named limit
// (struct Limits); an oversized or malformed command yields an error value and the reader
// resynchronises at the next line end, or says the session must close when it cannot.
//
// Three layers:
//   Reader           frames a command: lines (CRLF, a bare LF accepted), literals {N} (RFC 9051 4.3),
//                    non-synchronizing literals {N+} (RFC 7888 LITERAL+/LITERAL-), literal8 ~{N}
//                    (RFC 3516 BINARY); then tokenizes it into a Command (tag, name, generic Args).
//                    next_line() reads raw lines (AUTHENTICATE responses, IDLE's "DONE").
//   parse_*()        typed parsers over Command::args for FETCH, SEARCH, STORE, LIST, STATUS, APPEND,
//                    SELECT/EXAMINE, SORT, THREAD (and their RFC extensions, cited on each).
//   helpers          sequence sets, modified UTF-7 mailbox names (RFC 3501 5.1.3), UTF-8 checks,
//                    IMAP dates (RFC 9051 9 date, date-time).
// Error texts are fixed sentences chosen here: client bytes are never echoed into a response text.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "imap/proto/write.hpp"

namespace tern::imap::proto {

// --- Limits ---------------------------------------------------------------------------------------

struct Limits {
  std::size_t max_line = 64 * 1024;        // one command line, literals and the line end excluded
  std::size_t max_literal = 64u << 20;     // one literal (APPEND message size)
  // RFC 7888 LITERAL-: non-synchronizing literals up to 4096 octets. A session that advertises
  // LITERAL+ instead sets this to max_literal.
  std::size_t max_nonsync_literal = 4096;
  std::size_t max_depth = 16;              // nested parenthesized lists
  std::size_t max_command = 70u << 20;     // all lines and literals of one command
  // Atoms, strings, NILs, lists and literals in one command: bounds the memory of the parsed form,
  // which costs far more per token than the bytes it came from.
  std::size_t max_items = 100000;
};

// SEARCH keys nest through NOT and OR as well as parentheses; bound the recursion.
inline constexpr std::size_t max_search_depth = 64;

// --- Commands -------------------------------------------------------------------------------------

struct Arg {
  enum class Kind { atom, string /* quoted or literal */, nil, list } kind = Kind::atom;
  // atom: its text as sent (a fetch-att keeps "BODY[HEADER.FIELDS (From)]<0.100>" whole, brackets and
  // all); string: its bytes, unescaped; nil: "NIL" as sent (an astring may be the atom NIL).
  std::string text;
  std::vector<Arg> items;  // list
  bool literal = false;    // string: came as a literal (APPEND requires one)
  bool literal8 = false;   // string: came as a literal8 ~{N} (RFC 3516); may hold NUL
};

struct Command {
  std::string tag;
  // Upper-case; UID commands joined with one space: "UID FETCH", "UID EXPUNGE".
  std::string name;
  std::vector<Arg> args;  // after the name (after "UID <verb>" for UID commands)
};

struct Event {
  enum class Kind { need_more, send_continuation, command, error } kind = Kind::need_more;
  // command: the command. error: tag and name when they could be read (name may be empty), so the
  // session can answer NO [TOOBIG] to an APPEND whose literal is too large.
  Command command;
  std::string tag;   // error: the tag if one could be read, else "*"
  std::string text;  // error: text for the BAD (or NO) response
  std::string code;  // error: response code without brackets ("TOOBIG", "LIMIT"), or ""
  // error: the session must close after answering: the stream cannot be resynchronised (a
  // non-synchronizing literal over its limit, whose bytes would be read as commands).
  bool fatal = false;
};

// Frames and tokenizes commands. The session owns an input buffer and calls next(in) until it
// returns need_more; next() erases from the front of `in` what it has consumed (on need_more, all of
// it: partial lines and literal bytes are kept inside the Reader, within the limits).
//
//   send_continuation  a synchronizing literal was announced and accepted: write "+ OK\r\n" and call
//                      next() again (RFC 9051 7.5).
//   command            a whole command, tokenized.
//   error              answer "<tag> BAD [code] text" (the session may choose NO for TOOBIG), then
//                      close if `fatal`. The reader has already resynchronised: a too-long line is
//                      skipped to its end; a synchronizing literal over the limit is refused without a
//                      continuation, so the client sends neither it nor the rest of the line.
class Reader {
 public:
  explicit Reader(Limits limits = {});

  Event next(std::string& in);

  // A raw line (without its line end) of at most `max` octets: AUTHENTICATE responses (RFC 9051
  // 6.2.2) and IDLE's "DONE" (RFC 2177). nullopt when no whole line is in `in` yet, or when the line is
  // longer than `max`: then too_long is set, and the rest of that line is discarded by the following
  // calls (to next_line() or next()) before anything else is read.
  std::optional<std::string> next_line(std::string& in, std::size_t max, bool& too_long);

  // Forgets any command in progress (e.g. after the session answered an error out of band).
  void reset();

  const Limits& limits() const { return limits_; }

 private:
  struct Literal {
    std::size_t offset;  // where in text_ the announcement ends (the literal's bytes belong here)
    std::string bytes;
    bool literal8;
  };
  enum class State { line, literal, discard };

  Event finish_command();
  Event line_error(bool fatal);

  Limits limits_;
  State state_ = State::line;
  std::string text_;               // the command's lines so far, literal bytes left out
  std::size_t line_start_ = 0;     // where the current line begins in text_
  std::vector<Literal> literals_;
  std::size_t literal_left_ = 0;   // literal bytes still to read
  std::size_t total_ = 0;          // octets of this command so far (lines, line ends, literals)
  std::string discard_tag_;        // the tag of the line being discarded
  std::string discard_tail_;       // its last octets, to see if it announced a literal
  bool discard_report_ = false;    // report TOOBIG when the discarded line ends (else silent)
};

// Tokenizes one command line without literals (tests, tools). The error carries the tag in `tag`
// when it could be read.
struct CommandParse {
  std::optional<Command> command;
  std::string tag;    // on error: the tag if readable, else "*"
  std::string error;  // on error: a fixed sentence
};
CommandParse parse_command_line(std::string_view line, const Limits& limits = {});

// --- Typed results --------------------------------------------------------------------------------

// A typed parse: a value, or an error sentence (and a response code such as "BADCHARSET").
template <typename T>
struct Parsed {
  std::optional<T> value;
  std::string error;
  std::string code;

  bool ok() const { return value.has_value(); }
  explicit operator bool() const { return ok(); }
  T& operator*() { return *value; }
  const T& operator*() const { return *value; }
  T* operator->() { return &*value; }
  const T* operator->() const { return &*value; }
};

// astring (RFC 9051 9): an atom, a string or the atom NIL ("NIL"). nullopt for a list.
std::optional<std::string_view> astring_arg(const Arg& a);
// A mailbox name (RFC 9051 5.1): an astring; "INBOX" in any case becomes "INBOX".
std::optional<std::string> mailbox_arg(const Arg& a);
// nz-number / number (RFC 9051 9): decimal digits, no sign, within the type's range.
std::optional<std::uint32_t> parse_nz_number(std::string_view s);
std::optional<std::uint64_t> parse_number64(std::string_view s);  // up to 2^63-1 (number64)

// --- Sequence sets (RFC 9051 9 sequence-set; RFC 5182 "$") ----------------------------------------

struct SeqRange {
  std::uint32_t lo = 0, hi = 0;  // as sent; 0 stands for '*'. lo may be above hi ("5:2").
};

struct SequenceSet {
  std::vector<SeqRange> ranges;
  bool saved = false;  // "$": the result saved by SEARCH RETURN (SAVE) (RFC 5182)

  // Whether n is in the set when '*' is `star` (the highest number in use). Not meaningful for saved.
  bool contains(std::uint32_t n, std::uint32_t star) const;
  // The ranges with '*' replaced by `star`, each lo <= hi, sorted and merged. Ranges that come to
  // include 0 (star == 0: an empty mailbox) keep only their part from 1; empty ones are dropped.
  std::vector<SeqRange> resolved(std::uint32_t star) const;
};

Parsed<SequenceSet> parse_sequence_set(std::string_view s);
// A list of numbers (any order, duplicates allowed) as a compact set: "1:3,7,9:10"; "" when empty.
std::string format_sequence_set(std::span<const std::uint32_t> numbers);

// --- FETCH (RFC 9051 6.4.5, 7.5.2; RFC 3516 BINARY; RFC 7162 CONDSTORE/QRESYNC; RFC 8514 SAVEDATE) --

struct Section {
  std::vector<std::uint32_t> part;  // "1.2.3"; empty for the whole message
  enum class Text { none, header, header_fields, header_fields_not, text, mime } text = Text::none;
  std::vector<std::string> fields;  // header_fields(_not): the names, upper-cased
};

struct FetchAtt {
  enum class Kind {
    flags, uid, internaldate, rfc822_size, envelope,
    body_structure,  // BODYSTRUCTURE
    body,            // BODY without section: the non-extensible structure
    body_section,    // BODY[...] and BODY.PEEK[...]
    binary,          // BINARY[...] and BINARY.PEEK[...]
    binary_size,     // BINARY.SIZE[...]
    rfc822, rfc822_header, rfc822_text, modseq, save_date
  };
  Kind kind = Kind::flags;
  Section section;
  bool peek = false;  // BODY.PEEK / BINARY.PEEK / RFC822.HEADER: do not set \Seen
  std::optional<std::pair<std::uint32_t, std::uint32_t>> partial;  // <origin.count>
  // How the response names it (RFC 9051 7.5.2): upper-case, without .PEEK, a partial with its origin
  // only: "BODY[HEADER.FIELDS (FROM TO)]<0>", "BINARY[1.2]", "RFC822.SIZE".
  std::string name;
};

struct FetchRequest {
  SequenceSet set;
  std::vector<FetchAtt> atts;  // macros expanded (ALL, FAST, FULL)
  std::optional<std::uint64_t> changedsince;  // RFC 7162 3.1.4.1
  bool vanished = false;                      // RFC 7162 3.2.6 (UID FETCH only, with CHANGEDSINCE)
};

// args: after "FETCH" (or "UID FETCH"; uid = true allows VANISHED).
Parsed<FetchRequest> parse_fetch(std::span<const Arg> args, bool uid = false);
// One fetch-att from its atom text ("BODY.PEEK[1.MIME]<0.10>"); macros are not atts.
Parsed<FetchAtt> parse_fetch_att(std::string_view text);

// --- SEARCH (RFC 9051 6.4.4; RFC 3501 6.4.4; RFC 4731 ESEARCH; RFC 5182; RFC 7162 3.1.5) ----------

struct SearchKey {
  enum class Op {
    all, and_, or_, not_, seqset, uid,
    answered, deleted, draft, flagged, seen, recent, new_, old,
    unanswered, undeleted, undraft, unflagged, unseen,
    keyword, unkeyword,
    bcc, cc, from, to, subject, body, text, header,  // substring matches (header: arg name, arg2 value)
    before, on, since, sentbefore, senton, sentsince,
    larger, smaller, modseq
  };
  Op op = Op::all;
  std::vector<SearchKey> children;  // and_ (any count), or_ (two), not_ (one)
  std::string arg, arg2;  // strings; keyword; header name/value; modseq entry name/type ("" when absent)
  std::uint64_t number = 0;  // larger, smaller, modseq
  std::int64_t date = 0;     // before..sentsince: YYYYMMDD, e.g. 20240131
  SequenceSet set;           // seqset, uid
};

struct SearchRequest {
  bool has_return = false;  // RETURN (...) given: answer with ESEARCH (RFC 4731)
  bool ret_min = false, ret_max = false, ret_all = false, ret_count = false, ret_save = false;
  std::string charset;      // as given, upper-cased; "" when absent
  SearchKey key;            // an and_ of the keys (or the single key)
};

// args: after "SEARCH". Charsets other than UTF-8 and US-ASCII: error code "BADCHARSET".
Parsed<SearchRequest> parse_search(std::span<const Arg> args);
// Search keys alone (SORT, THREAD); all args must be keys.
Parsed<SearchKey> parse_search_keys(std::span<const Arg> args);

// --- STORE (RFC 9051 6.4.6; RFC 7162 3.1.3 UNCHANGEDSINCE) ----------------------------------------

struct StoreRequest {
  SequenceSet set;
  std::optional<std::uint64_t> unchangedsince;
  enum class Mode { replace, add, remove } mode = Mode::replace;
  bool silent = false;
  std::vector<std::string> flags;  // system flags normalized ("\Seen"), keywords as sent
};

Parsed<StoreRequest> parse_store(std::span<const Arg> args);
// A storable flag (RFC 9051 2.3.2): a system flag but \Recent, normalized to "\Seen" etc., or a
// keyword (an atom). nullopt otherwise.
std::optional<std::string> normalize_flag(std::string_view flag);

// --- STATUS (RFC 9051 6.3.11; RFC 7162 HIGHESTMODSEQ; RFC 8438 SIZE) -------------------------------

struct StatusItems {
  bool messages = false, uidnext = false, uidvalidity = false, unseen = false, deleted = false,
       size = false, highestmodseq = false, recent = false, appendlimit = false;
};

struct StatusRequest {
  std::string mailbox;
  StatusItems items;
};

Parsed<StatusRequest> parse_status(std::span<const Arg> args);
// The parenthesized item list alone (also LIST RETURN (STATUS (...)), RFC 5819).
Parsed<StatusItems> parse_status_items(const Arg& list);

// --- LIST / LSUB (RFC 9051 6.3.9; RFC 5258 LIST-EXTENDED; RFC 6154; RFC 5819) ----------------------

struct ListRequest {
  bool subscribed = false, remote = false, recursive_match = false, special_use_sel = false;
  std::string reference;
  std::vector<std::string> patterns;
  bool ret_subscribed = false, ret_children = false, ret_special_use = false;
  std::optional<StatusItems> ret_status;
  bool extended = false;  // a selection or return option, or a pattern list, was given
};

// args: after "LIST" (lsub = false) or "LSUB" (lsub = true: subscribed set, no extensions).
Parsed<ListRequest> parse_list(std::span<const Arg> args, bool lsub = false);

// --- APPEND (RFC 9051 6.3.12; RFC 3502 MULTIAPPEND; RFC 3516 literal8; RFC 6855 UTF8) -------------

struct AppendMessage {
  std::vector<std::string> flags;    // normalized as normalize_flag()
  std::optional<std::int64_t> date;  // unix seconds
  std::string content;
  bool binary = false;  // sent as literal8
  bool utf8 = false;    // sent as UTF8 (~{N}) (RFC 6855 4)
};

struct AppendRequest {
  std::string mailbox;
  std::vector<AppendMessage> messages;
};

Parsed<AppendRequest> parse_append(std::span<const Arg> args);
// The same, moving the message contents out of `args` instead of copying them (on failure, `args` may
// have lost some). Call as parse_append(std::move(cmd.args)).
Parsed<AppendRequest> parse_append(std::vector<Arg>&& args);

// --- SELECT / EXAMINE (RFC 9051 6.3.2; RFC 7162 3.1.8 CONDSTORE, 3.2.5 QRESYNC) -------------------

struct SelectRequest {
  std::string mailbox;
  bool condstore = false;
  struct Qresync {
    std::uint32_t uidvalidity = 0;
    std::uint64_t modseq = 0;
    std::optional<SequenceSet> known_uids;
    std::optional<std::pair<SequenceSet, SequenceSet>> seq_match;  // known sequence set, known uid set
  };
  std::optional<Qresync> qresync;
};

Parsed<SelectRequest> parse_select(std::span<const Arg> args);

// --- SORT (RFC 5256; RFC 5267 ESORT; RFC 5957 DISPLAY) and THREAD (RFC 5256) ----------------------

struct SortCriterion {
  enum class Key { arrival, cc, date, from, size, subject, to, display_from, display_to };
  Key key = Key::arrival;
  bool reverse = false;
};

struct SortRequest {
  std::vector<SortCriterion> criteria;
  std::string charset;   // upper-cased
  SearchRequest search;  // the keys; has_return and ret_* when RETURN (...) came first (ESORT)
};

Parsed<SortRequest> parse_sort(std::span<const Arg> args);

struct ThreadRequest {
  enum class Algorithm { orderedsubject, references };
  Algorithm algorithm = Algorithm::orderedsubject;
  std::string charset;  // upper-cased
  SearchKey key;
};

Parsed<ThreadRequest> parse_thread(std::span<const Arg> args);

// --- Mailbox names (RFC 3501 5.1.3 modified UTF-7) and UTF-8 --------------------------------------

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s);
// UTF-8 to modified UTF-7. Invalid UTF-8 sequences become U+FFFD.
std::string mutf7_encode(std::string_view utf8);
// Modified UTF-7 to UTF-8; nullopt unless the input is in the canonical form mutf7_encode() gives
// (printable ASCII never encoded, no empty or adjacent shifts, zero padding bits, paired surrogates).
std::optional<std::string> mutf7_decode(std::string_view mutf7);

// --- Dates (RFC 9051 9 date-time, date) ------------------------------------------------------------

// "17-Jul-1996 02:44:25 -0700" (day also " 7" or "7"), as unix seconds.
std::optional<std::int64_t> parse_date_time(std::string_view s);
// "1-Feb-1994" (or "01-Feb-1994"), as YYYYMMDD (19940201).
std::optional<std::int64_t> parse_date(std::string_view s);
// "dd-Mon-yyyy hh:mm:ss +0000" (INTERNALDATE, always UTC), day zero-padded.
std::string format_date_time(std::int64_t unix_seconds);

}  // namespace tern::imap::proto
