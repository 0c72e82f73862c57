// filter/virus: the virus stage (docs/virus.md), before the spam stage (whose allow lists end the
// round: an allow-listed sender is still scanned). At the end of data, every message goes whole to
// ClamAV's clamd ([virus] clamd; no scanning without it): mail arriving on the MX and mail that
// authenticated users submit alike (a stolen account sending malware). clamd decodes MIME parts,
// base64 and archives itself.
//
//   clean        X-Virus-Status: Clean
//   found        refused with 554 5.7.1 naming the signature; with [virus] on_virus = "quarantine",
//                mail from outside is held in the server's quarantine (spool/quarantine), with "junk"
//                accepted into the recipients' Junk; both with X-Virus-Status: Infected (name). A
//                user's own mail is refused all the same: remote recipients would get the virus.
//   clamd down   (no connection, the deadline passed, an ERROR reply) 451 4.7.0, or with when_down =
//                "accept": accepted with X-Virus-Status: Unscanned and a warning in the log; never a
//                silent pass
//
// X-Virus-Status fields that came with the message are removed: only Tern's own may be believed.
// The scan waits on clamd's socket only, on the session's executor; nothing blocks the event loop.
#pragma once
#include "filter/filter.hpp"

namespace tern::filter {

class VirusStage : public Stage {
 public:
  std::string_view name() const override { return "virus"; }
  net::awaitable<Verdict> data(const Context& ctx) override;
};

}  // namespace tern::filter
