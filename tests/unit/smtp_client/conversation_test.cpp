// smtp::client::Connection against a scripted server on loopback: the exact commands it sends
// (pipelined and lock-step, DSN, 8BITMIME, SMTPUTF8, SIZE, AUTH, HELO fallback), the content as
// received, and what each recipient's outcome is when the server refuses, drops or stalls.
// The client runs on an io_context with two threads, as in tern serve.
#include <gtest/gtest.h>

#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "fake_server.hpp"
#include "smtp/client/client.hpp"

namespace tern::smtp::client {
namespace {

namespace asio = boost::asio;
using testing::FakeServer;
using testing::Script;

struct Delivery {
  std::string open_error;
  SessionInfo info;
  std::vector<TransactionResult> results;
  bool usable_after = false;
};

asio::awaitable<Delivery> deliver(asio::any_io_executor ex, std::uint16_t port, Options opt, std::vector<Envelope> envs,
                                  std::vector<std::string> msgs) {
  Delivery d;
  auto opened = co_await Connection::open(ex, asio::ip::make_address("127.0.0.1"), port, opt);
  if (!opened) {
    d.open_error = opened.error().message;
    co_return d;
  }
  std::unique_ptr<Connection> conn = std::move(opened.value());
  d.info = conn->info();
  for (std::size_t i = 0; i < envs.size(); ++i) d.results.push_back(co_await conn->send(envs[i], msgs[i]));
  d.usable_after = conn->usable();
  co_await conn->quit();
  co_return d;
}

Options default_options() {
  Options o;
  o.helo = "client.test";
  o.command_timeout = std::chrono::seconds(10);
  o.data_timeout = std::chrono::seconds(10);
  return o;
}

Delivery run(FakeServer& srv, std::vector<Envelope> envs, std::vector<std::string> msgs, Options opt = default_options()) {
  asio::io_context io;
  auto f = asio::co_spawn(io, deliver(io.get_executor(), srv.port(), opt, std::move(envs), std::move(msgs)),
                          asio::use_future);
  std::thread second([&io] { io.run(); });
  io.run();
  second.join();
  srv.join();
  return f.get();
}

Envelope envelope() {
  Envelope e;
  e.from = "a@x.test";
  e.recipients = {{"b@y.test", "SUCCESS,FAILURE", "rfc822;b@y.test"}, {"c@y.test", "", ""}};
  e.envid = "id+1";
  e.ret = "HDRS";
  return e;
}

const std::string message = "From: a@x.test\r\nSubject: t\r\n\r\n.hidden dot\r\nbody\r\n";
const std::string received = "From: a@x.test\r\nSubject: t\r\n\r\n..hidden dot\r\nbody\r\n";
const std::string size = std::to_string(message.size());

using Lines = std::vector<std::string>;

TEST(Conversation, PipelinedWithDsn) {
  FakeServer srv(Script{});
  auto d = run(srv, {envelope()}, {message});
  ASSERT_EQ(d.open_error, "");
  EXPECT_TRUE(d.info.pipelining && d.info.dsn && d.info.eight_bit_mime);
  EXPECT_FALSE(d.info.tls);
  EXPECT_EQ(d.info.greeting, "220 fake.test ESMTP");
  EXPECT_EQ(d.info.peer, "127.0.0.1:" + std::to_string(srv.port()));
  EXPECT_EQ(srv.commands(), (Lines{"EHLO client.test", "MAIL FROM:<a@x.test> SIZE=" + size + " RET=HDRS ENVID=id+2B1",
                                   "RCPT TO:<b@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@y.test",
                                   "RCPT TO:<c@y.test>", "DATA", "QUIT"}));
  EXPECT_EQ(srv.messages(), Lines{received});
  ASSERT_EQ(d.results.size(), 1u);
  const auto& r = d.results[0];
  EXPECT_FALSE(r.connection_lost);
  EXPECT_EQ(r.outcome(0).str(), "250 2.0.0 queued");
  EXPECT_EQ(r.outcome(1).str(), "250 2.0.0 queued");
  EXPECT_EQ(r.rcpt_replies[0].str(), "250 2.1.5 ok");
  EXPECT_TRUE(d.usable_after);
  EXPECT_EQ(srv.violations(), Lines{});
}

TEST(Conversation, LockStepWithoutExtensions) {
  Script s;
  s.ehlo = {"ENHANCEDSTATUSCODES"};
  FakeServer srv(s);
  auto d = run(srv, {envelope()}, {message});
  ASSERT_EQ(d.open_error, "");
  EXPECT_FALSE(d.info.pipelining || d.info.dsn || d.info.eight_bit_mime || d.info.size_limit);
  EXPECT_EQ(srv.commands(),
            (Lines{"EHLO client.test", "MAIL FROM:<a@x.test>", "RCPT TO:<b@y.test>", "RCPT TO:<c@y.test>", "DATA", "QUIT"}));
  EXPECT_EQ(srv.messages(), Lines{received});
  EXPECT_EQ(d.results.at(0).outcome(1).str(), "250 2.0.0 queued");
  EXPECT_EQ(srv.violations(), Lines{});
}

TEST(Conversation, PipelinedWithoutDsn) {
  Script s;
  s.ehlo = {"PIPELINING", "SIZE"};
  FakeServer srv(s);
  auto d = run(srv, {envelope()}, {message});
  ASSERT_EQ(d.open_error, "");
  EXPECT_EQ(srv.commands(), (Lines{"EHLO client.test", "MAIL FROM:<a@x.test> SIZE=" + size, "RCPT TO:<b@y.test>",
                                   "RCPT TO:<c@y.test>", "DATA", "QUIT"}));
  EXPECT_EQ(d.results.at(0).outcome(0).code, 250);
}

TEST(Conversation, HeloFallback) {
  Script s;
  s.ehlo_refusal = "502 5.5.1 what is EHLO";
  FakeServer srv(s);
  auto d = run(srv, {envelope()}, {message});
  ASSERT_EQ(d.open_error, "");
  EXPECT_EQ(srv.commands(), (Lines{"EHLO client.test", "HELO client.test", "MAIL FROM:<a@x.test>", "RCPT TO:<b@y.test>",
                                   "RCPT TO:<c@y.test>", "DATA", "QUIT"}));
  EXPECT_EQ(d.results.at(0).outcome(0).code, 250);
  EXPECT_EQ(srv.violations(), Lines{});
}

const std::string eight_bit = "From: a@x.test\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCaf\xC3\xA9 = ok\r\n";

TEST(Conversation, EightBitMimeOffered) {
  FakeServer srv(Script{});
  auto d = run(srv, {envelope()}, {eight_bit});
  EXPECT_EQ(srv.commands().at(1), "MAIL FROM:<a@x.test> SIZE=" + std::to_string(eight_bit.size()) +
                                      " BODY=8BITMIME RET=HDRS ENVID=id+2B1");
  EXPECT_EQ(srv.messages(), Lines{eight_bit});
  EXPECT_EQ(d.results.at(0).outcome(0).code, 250);
}

TEST(Conversation, EightBitConvertedToQuotedPrintable) {
  Script s;
  s.ehlo = {"PIPELINING"};
  FakeServer srv(s);
  auto d = run(srv, {envelope()}, {eight_bit});
  EXPECT_EQ(srv.commands().at(1), "MAIL FROM:<a@x.test>");
  EXPECT_EQ(srv.messages(), Lines{"From: a@x.test\r\nContent-Type: text/plain; charset=utf-8\r\nMIME-Version: 1.0\r\n"
                                  "Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9 =3D ok\r\n"});
  EXPECT_EQ(d.results.at(0).outcome(0).code, 250);
}

TEST(Conversation, EightBitMultipartRefusedWithoutSending) {
  Script s;
  s.ehlo = {"PIPELINING"};
  FakeServer srv(s);
  std::string multipart = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\xE9\r\n--b--\r\n";
  auto d = run(srv, {envelope()}, {multipart});
  EXPECT_EQ(srv.commands(), (Lines{"EHLO client.test", "QUIT"}));
  const auto& r = d.results.at(0);
  EXPECT_EQ(r.outcome(0).code, 554);
  EXPECT_EQ(r.outcome(0).enhanced, "5.6.3");
  EXPECT_EQ(r.outcome(1).enhanced, "5.6.3");
  EXPECT_FALSE(r.connection_lost);
  EXPECT_TRUE(d.usable_after);
}

TEST(Conversation, SmtpUtf8) {
  Envelope e = envelope();
  e.smtputf8 = true;
  e.from = "j\xC3\xB6rg@x.test";
  {
    FakeServer srv(Script{});  // no SMTPUTF8
    auto d = run(srv, {e}, {message});
    EXPECT_EQ(srv.commands(), (Lines{"EHLO client.test", "QUIT"}));
    EXPECT_EQ(d.results.at(0).outcome(0).code, 553);
    EXPECT_EQ(d.results.at(0).outcome(0).enhanced, "5.6.7");
  }
  Script s;
  s.ehlo = {"PIPELINING", "8BITMIME", "SMTPUTF8"};
  FakeServer srv(s);
  auto d = run(srv, {e}, {message});
  EXPECT_EQ(srv.commands().at(1), "MAIL FROM:<j\xC3\xB6rg@x.test> SMTPUTF8");
  EXPECT_EQ(d.results.at(0).outcome(0).code, 250);
}

TEST(Conversation, SizeOverTheLimitIsNotSent) {
  Script s;
  s.ehlo = {"PIPELINING", "SIZE 40"};
  FakeServer srv(s);
  std::string small = "Subject: s\r\n\r\nx\r\n";
  auto d = run(srv, {envelope(), envelope()}, {message, small});
  EXPECT_EQ(srv.commands(), (Lines{"EHLO client.test", "MAIL FROM:<a@x.test> SIZE=" + std::to_string(small.size()),
                                   "RCPT TO:<b@y.test>", "RCPT TO:<c@y.test>", "DATA", "QUIT"}));
  ASSERT_EQ(d.results.size(), 2u);
  EXPECT_EQ(d.results[0].outcome(0).code, 552);
  EXPECT_EQ(d.results[0].outcome(0).enhanced, "5.3.4");
  EXPECT_NE(d.results[0].outcome(1).text.find("exceeds"), std::string::npos);
  EXPECT_EQ(d.results[1].outcome(0).code, 250);
}

TEST(Conversation, RecipientPartlyRefused) {
  for (bool pipelining : {true, false}) {
    Script s;
    s.ehlo = pipelining ? Lines{"PIPELINING"} : Lines{};
    s.rcpt_replies["b@y.test"] = "550 5.1.1 no such user";
    FakeServer srv(s);
    auto d = run(srv, {envelope()}, {message});
    const auto& r = d.results.at(0);
    EXPECT_EQ(r.outcome(0).str(), "550 5.1.1 no such user") << pipelining;
    EXPECT_EQ(r.outcome(1).str(), "250 2.0.0 queued") << pipelining;
    EXPECT_EQ(srv.messages().size(), 1u);
    EXPECT_EQ(srv.violations(), Lines{});
  }
}

TEST(Conversation, AllRecipientsRefusedThenNextMessage) {
  Script s;
  s.rcpt_replies["b@y.test"] = "550 5.1.1 no such user";
  s.rcpt_replies["c@y.test"] = "450 4.2.1 try later";
  s.data_replies = {"554 5.5.1 no valid recipients"};
  FakeServer srv(s);
  Envelope ok;
  ok.from = "a@x.test";
  ok.recipients = {{"d@y.test", "", ""}};
  auto d = run(srv, {envelope(), ok}, {message, message});
  auto cmds = srv.commands();
  ASSERT_GE(cmds.size(), 6u);
  EXPECT_EQ(cmds[4], "DATA");
  EXPECT_EQ(cmds[5], "RSET");  // the open transaction (MAIL accepted) is reset
  EXPECT_EQ(d.results.at(0).outcome(0).str(), "550 5.1.1 no such user");
  EXPECT_EQ(d.results.at(0).outcome(1).str(), "450 4.2.1 try later");
  EXPECT_FALSE(d.results.at(0).data_reply);
  EXPECT_EQ(d.results.at(1).outcome(0).str(), "250 2.0.0 queued");
  EXPECT_EQ(srv.messages().size(), 1u);
}

TEST(Conversation, DataAcceptedWithoutRecipientsGetsAnEmptyMessage) {
  Script s;
  s.rcpt_replies["b@y.test"] = "550 5.1.1 no such user";
  s.rcpt_replies["c@y.test"] = "550 5.1.1 no such user";
  FakeServer srv(s);
  auto d = run(srv, {envelope()}, {message});
  EXPECT_EQ(srv.messages(), Lines{""});  // RFC 2920 3.1: never the content
  EXPECT_EQ(d.results.at(0).outcome(0).code, 550);
  EXPECT_TRUE(d.usable_after);
}

TEST(Conversation, MailRefused) {
  for (bool pipelining : {true, false}) {
    Script s;
    s.ehlo = pipelining ? Lines{"PIPELINING"} : Lines{};
    s.mail_reply = "553 5.7.1 sender rejected";
    s.data_replies = {"503 5.5.1 no MAIL"};
    FakeServer srv(s);
    auto d = run(srv, {envelope()}, {message});
    ASSERT_TRUE(d.results.at(0).mail_reply) << pipelining;
    EXPECT_EQ(d.results.at(0).outcome(0).str(), "553 5.7.1 sender rejected");
    EXPECT_EQ(d.results.at(0).outcome(1).str(), "553 5.7.1 sender rejected");
    EXPECT_TRUE(d.usable_after);
    if (!pipelining) {
      EXPECT_EQ(srv.commands(), (Lines{"EHLO client.test", "MAIL FROM:<a@x.test>", "QUIT"}));
    }
  }
}

TEST(Conversation, ServerClosesWith421MidTransaction) {
  for (bool pipelining : {true, false}) {
    Script s;
    s.ehlo = pipelining ? Lines{"PIPELINING"} : Lines{};
    s.close_after = "RCPT TO:<c@";
    FakeServer srv(s);
    auto d = run(srv, {envelope(), envelope()}, {message, message});
    ASSERT_EQ(d.results.size(), 2u);
    const auto& r = d.results[0];
    EXPECT_TRUE(r.connection_lost) << pipelining;
    EXPECT_EQ(r.rcpt_replies[0].code, 250);
    EXPECT_EQ(r.outcome(1).str(), "421 4.3.2 shutting down");
    auto lost = r.outcome(0);
    EXPECT_EQ(lost.code, 451);
    EXPECT_EQ(lost.enhanced, "4.4.2");
    EXPECT_NE(lost.text.find("421 4.3.2 shutting down"), std::string::npos) << lost.text;
    EXPECT_FALSE(d.usable_after);
    // The next transaction on the dead session fails at once, transiently, sending nothing.
    EXPECT_TRUE(d.results[1].connection_lost);
    EXPECT_TRUE(d.results[1].outcome(0).transient());
    EXPECT_EQ(srv.messages().size(), 0u);
  }
}

TEST(Conversation, ServerClosesWith421AtMail) {
  Script s;
  s.ehlo = {};
  s.close_after = "MAIL";
  FakeServer srv(s);
  auto d = run(srv, {envelope()}, {message});
  EXPECT_TRUE(d.results.at(0).connection_lost);
  EXPECT_EQ(d.results.at(0).outcome(0).str(), "421 4.3.2 shutting down");
  EXPECT_EQ(d.results.at(0).outcome(1).str(), "421 4.3.2 shutting down");
}

TEST(Conversation, TimeoutWaitingForReplies) {
  Script s;
  s.silent_after = "DATA";  // MAIL and RCPT replies are held until DATA: none ever comes
  FakeServer srv(s);
  Options o = default_options();
  o.command_timeout = std::chrono::seconds(1);
  auto d = run(srv, {envelope()}, {message}, o);
  const auto& r = d.results.at(0);
  EXPECT_TRUE(r.connection_lost);
  EXPECT_NE(r.error.find("timeout (1 s)"), std::string::npos) << r.error;
  EXPECT_EQ(r.outcome(0).code, 451);
  EXPECT_EQ(r.outcome(1).code, 451);
  EXPECT_FALSE(d.usable_after);
}

TEST(Conversation, TimeoutAfterTheFinalDot) {
  Script s;
  s.silent_after = ".";
  FakeServer srv(s);
  Options o = default_options();
  o.data_timeout = std::chrono::seconds(1);
  auto d = run(srv, {envelope()}, {message}, o);
  const auto& r = d.results.at(0);
  EXPECT_TRUE(r.connection_lost);
  EXPECT_EQ(r.error, "timeout (1 s) waiting for the reply to the end of the message");
  EXPECT_EQ(r.outcome(0).code, 451);
  EXPECT_EQ(srv.messages().size(), 1u);
}

TEST(Conversation, TemporaryFailureAfterData) {
  Script s;
  s.final_replies = {"451 4.3.0 try again later"};
  FakeServer srv(s);
  auto d = run(srv, {envelope()}, {message});
  EXPECT_EQ(d.results.at(0).outcome(0).str(), "451 4.3.0 try again later");
  EXPECT_TRUE(d.results.at(0).outcome(1).transient());
  EXPECT_FALSE(d.results.at(0).connection_lost);
}

TEST(Conversation, ThreeMessagesOneConnection) {
  FakeServer srv(Script{});
  std::vector<Envelope> envs(3, envelope());
  std::vector<std::string> msgs = {"Subject: 1\r\n\r\none\r\n", "Subject: 2\r\n\r\ntwo\r\n", "Subject: 3\r\n\r\nthree\r\n"};
  auto d = run(srv, envs, msgs);
  EXPECT_EQ(srv.messages(), msgs);
  std::size_t mails = 0;
  for (const auto& c : srv.commands()) mails += c.rfind("MAIL FROM", 0) == 0;
  EXPECT_EQ(mails, 3u);
  for (const auto& r : d.results) EXPECT_EQ(r.outcome(1).code, 250);
}

TEST(Conversation, GreetingRefused) {
  Script s;
  s.greeting = "554 5.7.1 go away";
  FakeServer srv(s);
  auto d = run(srv, {}, {});
  EXPECT_EQ(d.open_error, "554 5.7.1 go away");
  EXPECT_EQ(srv.commands(), Lines{"QUIT"});
}

TEST(Conversation, MalformedGreeting) {
  Script s;
  s.greeting = "hello, I am not SMTP";
  FakeServer srv(s);
  auto d = run(srv, {}, {});
  EXPECT_NE(d.open_error.find("bad reply to the greeting"), std::string::npos) << d.open_error;
}

TEST(Conversation, ConnectRefused) {
  std::uint16_t port;
  {
    Script s;
    s.connections = 0;
    FakeServer srv(s);
    port = srv.port();
  }
  asio::io_context io;
  auto f = asio::co_spawn(io, deliver(io.get_executor(), port, default_options(), {}, {}), asio::use_future);
  io.run();
  auto d = f.get();
  EXPECT_EQ(d.open_error, "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST(Conversation, AuthPlainAndLogin) {
  Options o = default_options();
  o.auth = std::make_pair(std::string("u"), std::string("p"));
  {
    Script s;
    s.ehlo = {"PIPELINING", "AUTH LOGIN PLAIN"};
    FakeServer srv(s);
    auto d = run(srv, {envelope()}, {message}, o);
    ASSERT_EQ(d.open_error, "");
    EXPECT_EQ(srv.commands().at(1), "AUTH PLAIN AHUAcA==");
  }
  {
    Script s;
    s.ehlo = {"AUTH=LOGIN"};
    FakeServer srv(s);
    auto d = run(srv, {envelope()}, {message}, o);
    ASSERT_EQ(d.open_error, "");
    auto c = srv.commands();
    EXPECT_EQ((Lines{c.at(1), c.at(2), c.at(3)}), (Lines{"AUTH LOGIN", "dQ==", "cA=="}));
  }
  {
    Script s;
    s.ehlo = {"PIPELINING"};
    FakeServer srv(s);
    auto d = run(srv, {envelope()}, {message}, o);
    EXPECT_NE(d.open_error.find("offers no AUTH"), std::string::npos) << d.open_error;
    EXPECT_EQ(srv.commands(), (Lines{"EHLO client.test", "QUIT"}));
  }
}

TEST(Conversation, UnsafeAddressesAreNotSent) {
  FakeServer srv(Script{});
  Envelope e = envelope();
  e.recipients[0].address = "b@y.test>\r\nRSET";
  auto d = run(srv, {e}, {message});
  EXPECT_EQ(d.results.at(0).outcome(0).code, 553);
  EXPECT_EQ(d.results.at(0).outcome(1).code, 250);
  for (const auto& c : srv.commands()) EXPECT_NE(c, "RSET");
}

}  // namespace
}  // namespace tern::smtp::client
