// app/dmarc: sending DMARC aggregate reports (mailauth/dmarc_report) of finished days: the 7.1
// external-destination checks through [dns] servers, then each report as a file in mail/pending/ (the
// local outbox, so the spool signs and delivers it whether or not the server runs), then the day marked
// reported. Used by `tern dmarc report` and by the server once an hour.
#pragma once
#include <string>

#include "base/result.hpp"
#include "config/config.hpp"

namespace tern::app {

// `day` "": every finished day with records; else that day (YYYY-MM-DD, may be today). One line per
// report for the log or the terminal.
Result<std::string> send_dmarc_reports(const config::Config& cfg, const std::string& day);

}  // namespace tern::app
