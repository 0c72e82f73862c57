// A scripted SMTP server for the client's conversation tests: a thread with blocking sockets (no Asio,
// so it shares nothing with the code under test) on a loopback port. It records every command line and
// every message as received, and checks the client's manners:
//   - with PIPELINING offered it holds its replies to MAIL and RCPT until DATA arrives (legal per
//     RFC 2920), so a client that waits for each reply stalls and fails the test;
//   - without PIPELINING, a command that arrives before the previous reply was sent is a violation.
// STARTTLS and implicit TLS use OpenSSL directly with the certificate the test supplies.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tern::testing {

struct Script {
  std::string greeting = "220 fake.test ESMTP";
  std::vector<std::string> ehlo = {"PIPELINING", "8BITMIME", "DSN", "SIZE 100000", "ENHANCEDSTATUSCODES"};
  std::string ehlo_refusal;  // e.g. "502 5.5.1 no EHLO here": then only HELO works
  std::string mail_reply = "250 2.1.0 sender ok";
  std::map<std::string, std::string> rcpt_replies;  // address -> reply; default "250 2.1.5 ok"
  std::vector<std::string> data_replies;    // per DATA command; default "354 go ahead"
  std::vector<std::string> final_replies;  // per message; default "250 2.0.0 queued"
  std::string close_after;                 // a command starting with this gets close_reply, then close
  std::string close_reply = "421 4.3.2 shutting down";
  std::string silent_after;  // a command starting with this gets no reply (the client times out)
  SSL_CTX* tls = nullptr;    // offer STARTTLS with this context
  bool implicit_tls = false;
  bool break_tls = false;  // answer STARTTLS with 220, then send garbage instead of a handshake
  int connections = 1;     // accepted one after the other
};

class FakeServer {
 public:
  explicit FakeServer(Script s) : script_(std::move(s)) {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_, 8) != 0 ||
        ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("fake server: cannot listen");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(listen_);
  }
  std::uint16_t port() const { return port_; }
  // Waits for the server to finish its connections; then the records below are complete.
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> commands() {
    std::lock_guard lock(mu_);
    return commands_;
  }
  std::vector<std::string> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::vector<std::string> violations() {
    std::lock_guard lock(mu_);
    return violations_;
  }

 private:
  struct Conn {
    int fd = -1;
    SSL* ssl = nullptr;
    std::string buf;
  };

  void note(std::vector<std::string>& v, std::string s) {
    std::lock_guard lock(mu_);
    v.push_back(std::move(s));
  }

  static bool send_all(Conn& c, std::string_view data) {
    while (!data.empty()) {
      long n = c.ssl ? SSL_write(c.ssl, data.data(), static_cast<int>(data.size()))
                     : ::send(c.fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Waits up to ms for input; true when there is some (or the peer closed).
  static bool input_ready(Conn& c, int ms) {
    if (!c.buf.empty() || (c.ssl && SSL_pending(c.ssl) > 0)) return true;
    pollfd p{c.fd, POLLIN, 0};
    return ::poll(&p, 1, ms) > 0;
  }

  bool read_line(Conn& c, std::string& line) {
    for (;;) {
      auto lf = c.buf.find('\n');
      if (lf != std::string::npos) {
        line = c.buf.substr(0, lf);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        c.buf.erase(0, lf + 1);
        return true;
      }
      if (!input_ready(c, 10000)) return false;
      char tmp[4096];
      long n = c.ssl ? SSL_read(c.ssl, tmp, sizeof tmp) : ::recv(c.fd, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      c.buf.append(tmp, static_cast<std::size_t>(n));
    }
  }

  bool start_tls(Conn& c) {
    c.ssl = SSL_new(script_.tls);
    SSL_set_fd(c.ssl, c.fd);
    if (!c.buf.empty()) note(violations_, "data before the TLS handshake");
    return SSL_accept(c.ssl) == 1;
  }

  void run() {
    for (int i = 0; i < script_.connections && !stop_; ++i) {
      pollfd p{listen_, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) return;
      Conn c;
      c.fd = ::accept(listen_, nullptr, nullptr);
      if (c.fd < 0) return;
      serve(c);
      if (c.ssl) {
        SSL_shutdown(c.ssl);
        SSL_free(c.ssl);
      }
      ::close(c.fd);
    }
  }

  void serve(Conn& c) {
    if (script_.implicit_tls && !start_tls(c)) return;
    if (!send_all(c, script_.greeting + "\r\n")) return;
    bool pipelining = false;  // offered in the last EHLO reply
    std::string held;  // replies held back until DATA (PIPELINING)
    std::size_t message_count = 0, data_count = 0;
    std::string line;
    while (read_line(c, line)) {
      note(commands_, line);
      if (!pipelining && input_ready(c, 20)) note(violations_, "pipelined without PIPELINING after: " + line);
      std::string upper;
      for (char ch : line) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      auto reply = [&](const std::string& r, bool hold) {
        if (hold && pipelining) {
          held += r + "\r\n";
          return true;
        }
        std::string out = held + r + "\r\n";
        held.clear();
        return send_all(c, out);
      };
      if (!script_.silent_after.empty() && line.rfind(script_.silent_after, 0) == 0) {
        while (read_line(c, line)) {
        }
        return;
      }
      if (!script_.close_after.empty() && line.rfind(script_.close_after, 0) == 0) {
        reply(script_.close_reply, false);
        return;
      }
      if (upper.rfind("EHLO ", 0) == 0) {
        if (!script_.ehlo_refusal.empty()) {
          reply(script_.ehlo_refusal, false);
          continue;
        }
        std::vector<std::string> kw = script_.ehlo;
        for (const auto& k : kw) pipelining = pipelining || k == "PIPELINING";
        if (script_.tls && !c.ssl) kw.push_back("STARTTLS");
        std::string r = "250";
        r += kw.empty() ? " " : "-";
        r += "fake.test hello";
        for (std::size_t k = 0; k < kw.size(); ++k) r += "\r\n250" + std::string(k + 1 == kw.size() ? " " : "-") + kw[k];
        reply(r, false);
      } else if (upper.rfind("HELO ", 0) == 0) {
        reply("250 fake.test", false);
      } else if (upper == "STARTTLS") {
        reply("220 2.0.0 ready", false);
        if (script_.break_tls) {
          send_all(c, "this is not TLS at all\r\n");
          return;
        }
        if (!start_tls(c)) return;
      } else if (upper.rfind("AUTH PLAIN ", 0) == 0) {
        reply("235 2.7.0 ok", false);
      } else if (upper == "AUTH LOGIN") {
        reply("334 VXNlcm5hbWU6", false);
        if (!read_line(c, line)) return;
        note(commands_, line);
        reply("334 UGFzc3dvcmQ6", false);
        if (!read_line(c, line)) return;
        note(commands_, line);
        reply("235 2.7.0 ok", false);
      } else if (upper.rfind("MAIL FROM:", 0) == 0) {
        reply(script_.mail_reply, true);
      } else if (upper.rfind("RCPT TO:", 0) == 0) {
        auto lt = line.find('<'), gt = line.find('>');
        std::string addr = lt != std::string::npos && gt != std::string::npos ? line.substr(lt + 1, gt - lt - 1) : "";
        auto it = script_.rcpt_replies.find(addr);
        reply(it == script_.rcpt_replies.end() ? "250 2.1.5 ok" : it->second, true);
      } else if (upper == "DATA") {
        std::string dr = data_count < script_.data_replies.size() ? script_.data_replies[data_count] : "354 go ahead";
        ++data_count;
        if (!reply(dr, false)) return;
        if (dr.rfind("354", 0) != 0) continue;
        std::string msg;
        while (read_line(c, line) && line != ".") msg += line + "\r\n";
        note(messages_, msg);
        std::string fin = message_count < script_.final_replies.size() ? script_.final_replies[message_count]
                                                                        : "250 2.0.0 queued";
        ++message_count;
        if (!script_.silent_after.empty() && script_.silent_after == ".") {
          while (read_line(c, line)) {
          }
          return;
        }
        reply(fin, false);
      } else if (upper == "RSET" || upper == "NOOP") {
        reply("250 2.0.0 ok", false);
      } else if (upper == "QUIT") {
        reply("221 2.0.0 bye", false);
        return;
      } else {
        reply("500 5.5.2 unknown command", false);
      }
    }
  }

  Script script_;
  int listen_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> commands_, messages_, violations_;
};

}  // namespace tern::testing
