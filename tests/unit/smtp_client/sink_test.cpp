// smtp::client against a real peer: Postfix's smtp-sink (from the postfix .deb that
// scripts/install-deps.sh unpacks into build/peers), three messages over one connection, each
// dumped by the sink to a file that the test reads back. Without smtp-sink the test fails.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "../temp_dir.hpp"
#include "smtp/client/client.hpp"

extern char** environ;

namespace tern::smtp::client {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

std::uint16_t free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

bool accepts(std::uint16_t port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

// smtp-sink on 127.0.0.1:port, dumping each transaction into `dump_dir`.
class SmtpSink {
 public:
  SmtpSink(std::uint16_t port, const fs::path& dump_dir) {
    const fs::path peers = TERN_PEERS_DIR;
    const std::string exe = (peers / "usr/sbin/smtp-sink").string();
    if (::access(exe.c_str(), X_OK) != 0)
      throw std::runtime_error(exe + " is missing (scripts/install-deps.sh unpacks it from the postfix package)");
    std::vector<std::string> args = {exe};
    if (::geteuid() == 0) {
      args.push_back("-u");  // required as root: the sink drops to this user after binding
      args.push_back("nobody");
      fs::permissions(dump_dir, fs::perms::all);
    }
    args.push_back("-d");
    args.push_back((dump_dir / "msg.").string());
    args.push_back("127.0.0.1:" + std::to_string(port));
    args.push_back("100");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string ld = "LD_LIBRARY_PATH=" + (peers / "usr/lib/postfix").string();
    std::vector<char*> envp = {ld.data(), nullptr};
    if (::posix_spawn(&pid_, exe.c_str(), nullptr, nullptr, argv.data(), envp.data()) != 0)
      throw std::runtime_error("cannot start smtp-sink");
    for (int i = 0; i < 500; ++i) {
      if (accepts(port)) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("smtp-sink exited at start");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("smtp-sink did not start listening");
  }
  ~SmtpSink() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

 private:
  pid_t pid_ = -1;
};

struct Delivery {
  std::string open_error;
  SessionInfo info;
  std::vector<TransactionResult> results;
};

asio::awaitable<Delivery> deliver_three(asio::any_io_executor ex, std::uint16_t port) {
  Delivery d;
  Options opt;
  opt.helo = "client.test";
  opt.command_timeout = std::chrono::seconds(10);
  auto opened = co_await Connection::open(ex, asio::ip::make_address("127.0.0.1"), port, opt);
  if (!opened) {
    d.open_error = opened.error().message;
    co_return d;
  }
  std::unique_ptr<Connection> conn = std::move(opened.value());
  d.info = conn->info();
  for (int i = 1; i <= 3; ++i) {
    Envelope e;
    e.from = "sender@x.test";
    e.recipients = {{"r" + std::to_string(i) + "@y.test", "SUCCESS,FAILURE", "rfc822;r" + std::to_string(i) + "@y.test"},
                    {"all@y.test", "", ""}};
    e.envid = "env" + std::to_string(i);
    e.ret = "HDRS";
    std::string msg = "Subject: message " + std::to_string(i) + "\r\n\r\n.dot line\r\nbody " + std::to_string(i) + "\r\n";
    d.results.push_back(co_await conn->send(e, msg));
  }
  co_await conn->quit();
  co_return d;
}

TEST(SmtpSink, ThreeMessagesOverOneConnection) {
  tern::testing::TempDir dir;
  std::uint16_t port = free_port();
  SmtpSink sink(port, dir.path());
  asio::io_context io;
  auto f = asio::co_spawn(io, deliver_three(io.get_executor(), port), asio::use_future);
  std::thread second([&io] { io.run(); });
  io.run();
  second.join();
  auto d = f.get();
  ASSERT_EQ(d.open_error, "");
  EXPECT_TRUE(d.info.pipelining);
  EXPECT_TRUE(d.info.dsn);
  ASSERT_EQ(d.results.size(), 3u);
  for (const auto& r : d.results) {
    EXPECT_FALSE(r.connection_lost) << r.error;
    EXPECT_EQ(r.outcome(0).code, 250) << r.outcome(0).str();
    EXPECT_EQ(r.outcome(1).code, 250) << r.outcome(1).str();
  }
  // The sink writes each dump before its 250; read them all back.
  std::vector<std::string> dumps;
  for (const auto& entry : fs::directory_iterator(dir.path())) dumps.push_back(tern::testing::read_file(entry.path()));
  ASSERT_EQ(dumps.size(), 3u);
  std::sort(dumps.begin(), dumps.end(), [](const std::string& a, const std::string& b) {
    return a.substr(a.find("Subject:")) < b.substr(b.find("Subject:"));
  });
  for (int i = 1; i <= 3; ++i) {
    const std::string& dump = dumps[i - 1];
    std::string n = std::to_string(i);
    EXPECT_NE(dump.find("X-Mail-Args: <sender@x.test> RET=HDRS ENVID=env" + n + "\n"), std::string::npos) << dump;
    EXPECT_NE(dump.find("X-Rcpt-Args: <r" + n + "@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;r" + n + "@y.test\n"),
              std::string::npos)
        << dump;
    EXPECT_NE(dump.find("X-Rcpt-Args: <all@y.test>\n"), std::string::npos) << dump;
    EXPECT_NE(dump.find("Subject: message " + n + "\n\n.dot line\nbody " + n + "\n"), std::string::npos) << dump;
  }
}

}  // namespace
}  // namespace tern::smtp::client
