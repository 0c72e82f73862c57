// imap/message/needles: every SEARCH string of one command matched against a message's text in one
// pass (RFC 9051 6.4.4 BODY and TEXT keys).
//
// A search program may hold thousands of BODY/TEXT keys (a balanced OR tree of depth 12 has 4096
// leaves and fits the 64 KB command line; literals make longer ones). Matching each key alone costs
// keys x text bytes per message (and a naive substring search up to needle length times more), so a
// client could make one SEARCH run for minutes. A NeedleSet holds all the strings of one command
// in an Aho-Corasick automaton, built once per command; find() then reads a message's text once,
// whatever the number of strings: time linear in the text plus the strings, memory linear in the
// total length of the strings.
//
// Matching is exactly contains()'s: a substring, ASCII case-insensitive; a needle with 8-bit bytes
// also matches through Unicode case folding of both sides (the text is folded once per find(), and
// only when such a needle is not yet found by the ASCII pass). An empty needle always matches.
//
// Pure, no I/O; a built NeedleSet is read-only and may be used by several threads at once.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tern::imap::message {

class NeedleSet {
 public:
  NeedleSet();
  ~NeedleSet();
  NeedleSet(NeedleSet&&) noexcept;
  NeedleSet& operator=(NeedleSet&&) noexcept;

  // The index of `needle` in find()'s result; a needle added twice (or differing only in ASCII
  // case) gets the first one's index. Call before build().
  std::uint32_t add(std::string_view needle);
  std::size_t size() const { return needles_.size(); }

  // Makes the automaton; add() may not be called afterwards.
  void build();

  // found[i]: needle i occurs in the text made of `parts` one after the other (a match may span
  // parts, as if they were concatenated).
  std::vector<bool> find(std::initializer_list<std::string_view> parts) const;

 private:
  struct Automaton;
  std::vector<std::string> needles_;                // as added (ASCII case kept)
  std::map<std::string, std::uint32_t> index_;      // ASCII-lowered needle -> index
  std::unique_ptr<Automaton> plain_;                 // every needle, ASCII-lowered
  std::unique_ptr<Automaton> folded_;                // the 8-bit needles, Unicode case-folded
  std::vector<std::uint32_t> eight_bit_;            // indexes of the 8-bit needles
  std::vector<std::uint32_t> empty_;                // indexes of "" (always found)
};

}  // namespace tern::imap::message
