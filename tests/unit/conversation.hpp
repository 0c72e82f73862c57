// Conversation tests of the daemons without a listener: a real session (smtpd, imapd) with the real
// directory, spool, mailstore, authenticator and filter pipeline in a temporary folder, on an
// io_context thread, over one end of a socketpair (net::Stream::socket_pair); the test is the client
// on the other end, with blocking reads and writes. The timeouts here only bound a hang; nothing
// asserts on time and nothing sleeps. Each daemon's tests/unit/<daemon>/conversation.hpp adds how a
// session starts and how its replies end.
//
// The environment: hostname mx.tern.test, local domain tern.test with the mailbox bob@tern.test
// (password "secret"), [auth] allow_plaintext (no TLS here), the client at 192.0.2.7. A test changes
// the configuration with configure() before it connects. The spool queues (outbox files) but is not
// started: nothing is delivered.
#pragma once
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <utility>

#include <boost/asio.hpp>

#include "temp_dir.hpp"
#include "auth/authenticator.hpp"
#include "auth/password.hpp"
#include "config/config.hpp"
#include "filter/policy.hpp"
#include "net/net.hpp"
#include "spool/spool.hpp"
#include "store/directory.hpp"
#include "store/mailstore.hpp"

namespace tern::testing {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class ConversationBase : public ::testing::Test {
 protected:
  static constexpr const char* client_address = "192.0.2.7";
  static constexpr int hang_ms = 20000;  // "no reply": only a bound on a hang, never a measurement

  void SetUp() override {
    configure("");
    ASSERT_TRUE(cfg_);
    auto d = store::Directory::create(tmp_ / "tern.db");
    ASSERT_TRUE(d) << d.error().message;
    dir_ = std::move(*d);
    ASSERT_TRUE(dir_->add_domain("tern.test"));
    ASSERT_TRUE(dir_->add_mailslot("bob@tern.test", store::SlotKind::mailbox, password_hash()));
    mailstore_ = std::make_unique<store::Mailstore>(tmp_ / "data" / "mail" / "boxes", true);
    spool_ = std::make_unique<spool::Spool>(spool::Paths(cfg_->data_dir), cfg_, *dir_, *mailstore_, pool_, io_);
    auth_ = std::make_unique<auth::Authenticator>(*dir_, pool_);
    pipeline_ = filter::default_pipeline(*dir_, pool_, nullptr);
    runner_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
    work_.reset();
    runner_.join();  // the session ends when its peer closed
  }

  // The configuration from now on: the base text plus `extra` (TOML keys and tables). Sessions take
  // it when they start.
  void configure(const std::string& extra) {
    std::string text = "hostname = \"mx.tern.test\"\ndata_dir = \"data\"\n" + extra;
    if (extra.find("[auth]") == std::string::npos) text += "[auth]\nallow_plaintext = true\n";
    auto cfg = config::parse(text, tmp_ / "tern.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    cfg_ = std::make_shared<const config::Config>(std::move(*cfg));
    if (spool_) spool_->set_config(cfg_);
  }

  // The stream a session runs on; the test keeps the other end.
  std::unique_ptr<net::Stream> open_stream(std::string peer) {
    auto [stream, fd] = net::Stream::socket_pair(io_.get_executor(), std::move(peer));
    fd_ = fd;
    return std::move(stream);
  }

  void send(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
      ASSERT_GT(n, 0) << "the session closed";
      done += static_cast<std::size_t>(n);
    }
  }

  // Sends `data` one octet per write (the session sees it arrive in pieces).
  void send_octets(const std::string& data) {
    for (char c : data) send(std::string(1, c));
  }

  // Reads until `done(line)` says a line ends the reply; every line read; "<no reply>" appended when
  // nothing came for a long time, "" at the end of the stream.
  template <typename Done>
  std::string read_reply(Done done) {
    std::string out;
    for (;;) {
      auto eol = in_.find("\r\n");
      if (eol != std::string::npos) {
        std::string line = in_.substr(0, eol + 2);
        in_.erase(0, eol + 2);
        out += line;
        if (done(line)) return out;
        continue;
      }
      if (!fill()) return out + std::exchange(in_, "") + (eof_ ? "" : "<no reply>");
    }
  }
  std::string read_line() {
    return read_reply([](const std::string&) { return true; });
  }

  // Whether the server closed the connection (after everything it sent was read).
  bool closed() {
    while (in_.empty())
      if (!fill()) return eof_;
    return false;
  }

  // Reads what the server sent next into in_; false at the end of the stream (eof_) or after a hang.
  bool fill() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, hang_ms) <= 0) return false;
    char buf[4096];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  // One yescrypt hash for every test of the binary: hashing is slow on purpose.
  static const std::string& password_hash() {
    static const std::string hash = *auth::hash_password("secret");
    return hash;
  }

  tern::testing::TempDir tmp_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  boost::asio::thread_pool pool_{2};
  std::shared_ptr<const config::Config> cfg_;
  std::unique_ptr<store::Directory> dir_;
  std::unique_ptr<store::Mailstore> mailstore_;
  std::unique_ptr<spool::Spool> spool_;
  std::unique_ptr<auth::Authenticator> auth_;
  std::unique_ptr<filter::Pipeline> pipeline_;
  std::thread runner_;
  int fd_ = -1;
  std::string in_;  // read but not yet taken
  bool eof_ = false;
};

}  // namespace tern::testing
