// smtp/client/transaction.cpp: one mail transaction (RFC 5321 3.3): the checks made before sending
// anything (SMTPUTF8, 8BITMIME, SIZE), then MAIL, RCPT..., DATA pipelined (RFC 2920) or in lock-step,
// the dot-stuffed content, and the final reply. A transaction that ends without the content having
// been accepted or refused after the final dot is closed with RSET, so the session can carry the next.
#include <boost/asio/use_awaitable.hpp>

#include "smtp/client/session.hpp"

namespace tern::smtp::client {

namespace {

// A reply made here, for what is refused without asking the server.
ServerReply local_reply(int code, std::string enhanced, std::string text) {
  ServerReply r;
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.text = std::move(text);
  return r;
}

// An address that would break the command line it goes into.
bool unsafe_address(std::string_view a) {
  for (char c : a)
    if (static_cast<unsigned char>(c) < 32 || c == 127 || c == '<' || c == '>') return true;
  return false;
}

// RFC 5321 4.5.3.2.5: a data block may take 3 minutes; the content goes in blocks of this size, each
// with the command timeout, so a large message on a slow link is not cut off by one deadline.
constexpr std::size_t content_block = 64 * 1024;

}  // namespace

void Connection::Impl::mark_lost(TransactionResult& res) {
  res.connection_lost = true;
  res.error = lost;
}

asio::awaitable<void> Connection::Impl::reset() {
  auto r = co_await command("RSET\r\n", "RSET");
  if (r && r->code / 100 != 2) lose("RSET refused: " + r->to_server_reply().str());
}

asio::awaitable<void> Connection::Impl::send_content(std::string_view content, TransactionResult& res) {
  std::string payload = dot_stuff(content);
  std::string_view rest = payload;
  while (!rest.empty()) {
    std::string_view block = rest.substr(0, content_block);
    bool sent = co_await write(block, opt.command_timeout, "the message");
    if (!sent) {
      mark_lost(res);
      co_return;
    }
    rest.remove_prefix(block.size());
  }
  auto r = co_await read_reply(opt.data_timeout, "the end of the message");
  if (!r) {
    // The server may have taken the message and the reply got lost: a retry may then duplicate it
    // (RFC 1047); never losing it is the better failure.
    mark_lost(res);
    co_return;
  }
  res.data_reply = r->to_server_reply();
  if (!usable) mark_lost(res);  // a 421 after the dot
}

// RFC 2920 3.1: MAIL, the RCPTs and DATA in one write, then their replies in order.
asio::awaitable<void> Connection::Impl::pipelined(const Envelope& env, const std::vector<std::size_t>& to_send,
                                                  std::string mail, std::string_view content, TransactionResult& res) {
  std::string batch = std::move(mail);
  for (std::size_t i : to_send) batch += rcpt_command(env.recipients[i], info);
  batch += "DATA\r\n";
  bool sent = co_await write(batch, opt.command_timeout, "MAIL, RCPT and DATA");
  if (!sent) {
    mark_lost(res);
    co_return;
  }
  auto m = co_await read_reply(opt.command_timeout, "MAIL");
  if (!m) {
    mark_lost(res);
    co_return;
  }
  ServerReply mail_reply = m->to_server_reply();
  bool mail_ok = mail_reply.positive();
  if (!mail_ok) res.mail_reply = mail_reply;
  std::size_t accepted = 0;
  for (std::size_t i : to_send) {
    auto r = co_await read_reply(opt.command_timeout, "RCPT");
    if (!r) {
      mark_lost(res);
      co_return;
    }
    res.rcpt_replies[i] = r->to_server_reply();
    if (mail_ok && res.rcpt_replies[i].positive()) ++accepted;
  }
  auto d = co_await read_reply(opt.command_timeout, "DATA");
  if (!d) {
    mark_lost(res);
    co_return;
  }
  if (d->code == 354) {
    if (mail_ok && accepted > 0) {
      co_await send_content(content, res);
    } else {
      // RFC 2920 3.1: DATA accepted though no recipient was: send an empty message's end.
      bool ended = co_await write(".\r\n", opt.command_timeout, "the end of an empty message");
      if (ended) co_await read_reply(opt.data_timeout, "the end of an empty message");
    }
  } else {
    if (mail_ok && accepted > 0) res.data_reply = d->to_server_reply();
    if (mail_ok) co_await reset();
  }
  if (!usable && !res.data_reply) mark_lost(res);
}

asio::awaitable<void> Connection::Impl::lockstep(const Envelope& env, const std::vector<std::size_t>& to_send,
                                                 std::string mail, std::string_view content, TransactionResult& res) {
  auto m = co_await command(std::move(mail), "MAIL");
  if (!m) {
    mark_lost(res);
    co_return;
  }
  ServerReply mail_reply = m->to_server_reply();
  if (!mail_reply.positive()) {
    res.mail_reply = mail_reply;
    if (!usable) mark_lost(res);
    co_return;
  }
  std::size_t accepted = 0;
  for (std::size_t i : to_send) {
    auto r = co_await command(rcpt_command(env.recipients[i], info), "RCPT");
    if (!r) {
      mark_lost(res);
      co_return;
    }
    res.rcpt_replies[i] = r->to_server_reply();
    if (res.rcpt_replies[i].positive()) ++accepted;
  }
  if (accepted == 0) {
    co_await reset();
    co_return;
  }
  auto d = co_await command("DATA\r\n", "DATA");
  if (!d) {
    mark_lost(res);
    co_return;
  }
  if (d->code != 354) {
    res.data_reply = d->to_server_reply();
    if (usable) co_await reset();
    if (!usable && d->code == 421) mark_lost(res);
    co_return;
  }
  co_await send_content(content, res);
}

asio::awaitable<void> Connection::Impl::transaction(const Envelope& env, std::string_view message,
                                                    TransactionResult& res) {
  res.rcpt_replies.assign(env.recipients.size(), ServerReply{});
  if (!usable) {
    mark_lost(res);
    co_return;
  }
  if (env.recipients.empty()) co_return;
  if (unsafe_address(env.from)) {
    res.mail_reply = local_reply(553, "5.1.7", "sender address unfit for SMTP (not sent)");
    co_return;
  }
  std::vector<std::size_t> to_send;
  for (std::size_t i = 0; i < env.recipients.size(); ++i) {
    if (unsafe_address(env.recipients[i].address))
      res.rcpt_replies[i] = local_reply(553, "5.1.3", "recipient address unfit for SMTP (not sent)");
    else
      to_send.push_back(i);
  }
  if (to_send.empty()) co_return;

  // RFC 6531 3.2: a message that needs SMTPUTF8 cannot go to a server without it.
  if (env.smtputf8 && !info.smtputf8) {
    res.mail_reply = local_reply(553, "5.6.7", info.peer + " does not support SMTPUTF8, which this message needs (not sent)");
    co_return;
  }
  std::string converted;
  std::string_view content = message;
  bool eight_bit = has_eight_bit(message);
  bool body_8bitmime = false;
  if (eight_bit || env.eight_bit) {
    if (info.eight_bit_mime) {
      body_8bitmime = true;
    } else if (eight_bit) {
      std::string why;
      auto down = downgrade_8bit(message, why);
      if (!down) {
        res.mail_reply = local_reply(554, "5.6.3",
                                     "8-bit message, " + info.peer + " does not support 8BITMIME, and it cannot be converted: " +
                                         why + " (not sent)");
        co_return;
      }
      converted = std::move(*down);
      content = converted;
    }
  }
  // RFC 1870 6.1: a message over the server's fixed limit is not offered.
  if (info.size_limit && *info.size_limit > 0 && content.size() > *info.size_limit) {
    res.mail_reply = local_reply(552, "5.3.4",
                                 "message of " + std::to_string(content.size()) + " octets exceeds the limit of " + info.peer +
                                     " (" + std::to_string(*info.size_limit) + " octets; not sent)");
    co_return;
  }
  std::string mail = mail_command(env, info, content.size(), body_8bitmime);
  if (info.pipelining)
    co_await pipelined(env, to_send, std::move(mail), content, res);
  else
    co_await lockstep(env, to_send, std::move(mail), content, res);
}

boost::asio::awaitable<TransactionResult> Connection::send(const Envelope& envelope, std::string_view message) {
  TransactionResult res;
  try {
    co_await impl_->transaction(envelope, message, res);
  } catch (const std::exception& e) {
    impl_->lose(std::string("internal error: ") + e.what());
    impl_->close();
    impl_->mark_lost(res);
  }
  co_return res;
}

}  // namespace tern::smtp::client
