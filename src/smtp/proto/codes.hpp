// smtp/proto/codes: the reply codes of RFC 5321 4.2.3 by name, for the server (smtpd) and its policy
// stages (filter).
#pragma once

namespace tern::smtp::code {
inline constexpr int system_status = 211;
inline constexpr int help = 214;
inline constexpr int ready = 220;
inline constexpr int closing = 221;
inline constexpr int auth_ok = 235;
inline constexpr int ok = 250;
inline constexpr int cannot_vrfy = 252;
inline constexpr int auth_continue = 334;
inline constexpr int start_input = 354;
inline constexpr int unavailable = 421;
inline constexpr int mailbox_busy = 450;  // RFC 5321 4.2.3: not taken for now (busy, or blocked by policy)
inline constexpr int local_error = 451;
inline constexpr int insufficient_storage = 452;
inline constexpr int temp_auth_failure = 454;
inline constexpr int syntax_error = 500;
inline constexpr int param_syntax = 501;
inline constexpr int not_implemented = 502;
inline constexpr int bad_sequence = 503;
inline constexpr int param_not_implemented = 504;
inline constexpr int auth_required = 530;
inline constexpr int auth_failed = 535;
inline constexpr int encryption_required = 538;
inline constexpr int mailbox_unavailable = 550;
inline constexpr int exceeded_storage = 552;
inline constexpr int bad_mailbox_name = 553;
inline constexpr int transaction_failed = 554;
inline constexpr int params_not_recognized = 555;
}  // namespace tern::smtp::code
