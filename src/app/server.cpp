#include "app/server.hpp"

#include "app/check.hpp"
#include "app/control.hpp"
#include "app/dmarc.hpp"
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <set>
#include <thread>
#include <functional>
#include <map>

#include <boost/asio.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "api/api.hpp"
#include "auth/authenticator.hpp"
#include "base/fault.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"
#include "base/strings.hpp"
#include "config/config.hpp"
#include "dns/resolver.hpp"
#include "filter/policy.hpp"
#include "http/assets.hpp"
#include "http/session.hpp"
#include "http/wellknown.hpp"
#include "net/net.hpp"
#include "pop3d/session.hpp"
#include "imapd/session.hpp"
#include "imap/message/message.hpp"
#include "smtpd/session.hpp"
#include "spool/spool.hpp"
#include "stats/stats.hpp"
#include "store/directory.hpp"
#include "store/files.hpp"
#include "store/mailstore.hpp"

namespace tern::app {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// The service table: each daemon describes itself once. A listener key of [listen] names an Endpoint
// kind; a connection accepted there starts a session of its daemon, or, over the connection limits,
// gets the daemon's busy reply. Adding a service (http, sieve) is one entry in Server::services().
using StartSession = std::function<net::awaitable<void>(std::unique_ptr<net::Stream>, std::string id)>;

struct Endpoint {
  std::string_view key;         // in [listen]
  std::string_view busy_reply;  // over the limits; "" where the client expects a TLS handshake first
  StartSession start;
  // At the end of the stop's grace period a session still open is interrupted, so that it says why
  // (SMTP's 421 4.3.2), instead of closed.
  bool interrupt_at_stop = false;
  // Its sessions are interrupted as soon as the stop begins: between requests they only wait (HTTP
  // keep-alive), and a request being answered still gets its answer (Stream::interrupt never cuts a
  // write), after which the session ends.
  bool interrupt_at_once = false;
};

struct Service {
  std::string_view name;  // the daemon, for logs
  std::vector<Endpoint> endpoints;
};

// What a connection over the limits is told before it is closed: RFC 5321 3.8's 421 for SMTP, an
// untagged BYE [UNAVAILABLE] for IMAP (RFC 5530), a [SYS/TEMP] -ERR for POP3 (RFC 3206); nothing on
// implicit-TLS ports, whose clients expect a TLS handshake.
namespace busy {
constexpr std::string_view smtp = "421 4.7.0 Too many connections, try again later\r\n";
constexpr std::string_view imap = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n";
constexpr std::string_view pop3 = "-ERR [SYS/TEMP] Too many connections, try again later\r\n";
constexpr std::string_view http =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 37\r\nConnection: close\r\n"
    "Retry-After: 10\r\n\r\nToo many connections, try again later";
constexpr std::string_view tls_first = "";
}  // namespace busy

struct Listener {
  const Endpoint* endpoint;
  std::unique_ptr<tcp::acceptor> acceptor;
};

// /.well-known/mta-sts.txt and the autoconfig document (http/wellknown). Coroutines of their own, with
// their arguments by value: nothing of a mount's lambda is used after its first suspension.
net::awaitable<http::Response> serve_mta_sts(std::shared_ptr<const config::Config> cfg) {
  auto policy = http::mta_sts_policy(*cfg);
  if (policy.empty()) co_return http::error_response(http::status::not_found, "not_found", "no MTA-STS policy ([mta_sts])");
  auto r = http::text_response(http::status::ok, std::move(policy));
  r.headers.emplace_back("Cache-Control", "max-age=3600");
  co_return r;
}

net::awaitable<http::Response> serve_autoconfig(std::shared_ptr<const config::Config> cfg, store::Directory* dir,
                                                asio::thread_pool* pool, std::string address) {
  auto at = address.rfind('@');
  std::string domain = to_lower(at == std::string::npos ? cfg->hostname : address.substr(at + 1));
  auto lookup = [dir, domain] { return dir->is_local_domain(domain); };
  auto local = co_await net::offload(*pool, std::move(lookup));
  if (!local || !*local) co_return http::error_response(http::status::not_found, "not_found", "not a local domain");
  auto r = http::text_response(http::status::ok, http::autoconfig_xml(*cfg, domain), "application/xml; charset=utf-8");
  r.headers.emplace_back("Cache-Control", "max-age=3600");
  co_return r;
}

// Microsoft Autodiscover (http/wellknown): POST only; the address's domain must be local.
net::awaitable<http::Response> serve_autodiscover(std::shared_ptr<const config::Config> cfg, store::Directory* dir,
                                                  asio::thread_pool* pool, std::string method, std::string body) {
  using http::AutodiscoverError;
  auto xml = [](unsigned status, std::string text) {
    return http::text_response(status, std::move(text), "application/xml; charset=utf-8");
  };
  if (method != "POST") {
    auto r = xml(http::status::method_not_allowed,
                 http::autodiscover_error(AutodiscoverError::invalid_request, "Autodiscover takes POST"));
    r.headers.emplace_back("Allow", "POST");
    co_return r;
  }
  if (body.size() > http::autodiscover_max_request)
    co_return xml(http::status::payload_too_large,
                  http::autodiscover_error(AutodiscoverError::invalid_request, "the request is too large"));
  auto address = http::autodiscover_address(body);
  if (!address)
    co_return xml(http::status::bad_request,
                  http::autodiscover_error(AutodiscoverError::invalid_request, "the request names no e-mail address"));
  std::string domain = to_lower(address->substr(address->rfind('@') + 1));
  auto lookup = [dir, domain] { return dir->is_local_domain(domain); };
  auto local = co_await net::offload(*pool, std::move(lookup));
  if (!local || !*local)
    co_return xml(http::status::not_found,
                  http::autodiscover_error(AutodiscoverError::address_not_found, "The e-mail address cannot be found."));
  co_return xml(http::status::ok, http::autodiscover_xml(*cfg, *address));
}

class Server {
 public:
  Server(config::Config cfg, std::string config_file)
      : config_file_(std::move(config_file)),
        cfg_(std::make_shared<const config::Config>(std::move(cfg))),
        pool_(32),
        limiter_(limiter_limits(*cfg_)),
        signals_(io_, SIGTERM, SIGINT, SIGHUP) {}

  int run() {
    const auto& cfg = *cfg_;
    store::ensure_dir(cfg.data_dir);
    // One server per data directory: a second `tern serve` would race the first on the queue.
    std::string lock_error;
    lock_fd_ = lock_data_dir(cfg.data_dir, &lock_error);
    if (lock_fd_ >= 0) {
      auto pid = std::to_string(::getpid()) + "\n";
      if (::ftruncate(lock_fd_, 0) != 0 || ::write(lock_fd_, pid.data(), pid.size()) < 0)
        log::warn("{}: cannot write the pid", (cfg.data_dir / "tern.lock").string());
    }
    if (lock_fd_ < 0) {
      std::cerr << "tern: " << lock_error << "\n";
      return 1;
    }
    // Never on a missing or empty directory: local mail would be routed as remote (see check.hpp).
    auto dir = store::Directory::open(cfg.data_dir / "tern.db");
    if (!dir) {
      std::cerr << "tern: " << directory_refusal(cfg, dir.error(), config_file_) << "\n";
      return 1;
    }
    directory_ = std::move(*dir);
    authenticator_ = std::make_unique<auth::Authenticator>(*directory_, pool_);
    mailstore_ = std::make_unique<store::Mailstore>(cfg.data_dir / "mail" / "boxes", true);
    // IMAP's ENVELOPE, BODYSTRUCTURE and sort keys, computed once at delivery and cached in the index.
    mailstore_->set_summarizer([](std::string_view raw) { return imap::message::summarize(raw).encode(); });

    if (!cfg.tls_cert) {
      if (auto s = net::ensure_self_signed(cfg.cert_path(), cfg.key_path(), cfg.hostname); !s) {
        std::cerr << "tern: " << s.error().message << "\n";
        return 1;
      }
    }
    auto tls = net::make_server_tls(cfg.cert_path(), cfg.key_path());
    if (!tls) {
      std::cerr << "tern: " << tls.error().message << "\n";
      return 1;
    }
    tls_ = *tls;

    // One resolver for the process: the outbox, and the SMTP filters (SPF, DKIM, DNS lists) later.
    resolver_ = std::make_unique<dns::Resolver>(io_.get_executor(), cfg.dns_servers);
    dmarc_reports_ = std::make_unique<mailauth::dmarc::Recorder>(cfg.data_dir / "dmarc");
    learner_ = std::make_unique<spam::Learner>(spam::make_learner(cfg.data_dir, *mailstore_));
    pipeline_ = filter::default_pipeline(*directory_, pool_, resolver_.get(), dmarc_reports_.get(), learner_.get());
    dkim_keys_ = std::make_unique<mailauth::DkimKeys>(cfg.data_dir / "dkim");
    spool_ = std::make_unique<spool::Spool>(spool::Paths(cfg.data_dir), cfg_, *directory_, *mailstore_, pool_, io_);
    spool_->set_dkim(dkim_keys_.get());
    quarantine_ = std::make_unique<spool::Quarantine>(cfg.data_dir);
    if (auto rec = stats::Recorder::open(cfg.data_dir / "stats.db"); rec)
      stats_ = std::move(*rec);
    else
      log::warn("{}; the console's graphs stay empty", rec.error().message);
    api_ = std::make_unique<api::Api>(api::Services{directory_.get(), mailstore_.get(), spool_.get(),
                                                    authenticator_.get(), &pool_, cfg.data_dir,
                                                    [this] {
                                                      std::lock_guard lock(cfg_mu_);
                                                      return cfg_;
                                                    },
                                                    [this](bool repair) { return check_for_api(repair); },
                                                    stats_.get(), learner_.get(), dkim_keys_.get()});

    if (auto s = open_listeners(); !s) {
      std::cerr << "tern: " << s.error().message << "\n";
      return 1;
    }
    try {
      spool_->start(*resolver_);
    } catch (const std::exception& e) {
      std::cerr << "tern: cannot start the outbox: " << e.what() << "\n";
      return 1;
    }
    if (auto s = start_control(io_, pool_, Admin{*spool_, *directory_, *mailstore_}, cfg.data_dir); !s) log::warn("control socket: {}", s.error().message);
    for (auto& l : listeners_) asio::co_spawn(io_, accept_loop(l), asio::detached);
    dmarc_timer_ = std::make_unique<asio::steady_timer>(io_);
    schedule_dmarc_reports(std::chrono::minutes(1));
    stats_timer_ = std::make_unique<asio::steady_timer>(io_);
    schedule_stats_sample();
    wait_signal();

    std::string summary;
    for (auto& l : listeners_) {
      auto ep = l.acceptor->local_endpoint();
      summary += fmt::format(" {}={}", l.endpoint->key, config::Endpoint{ep.address().to_string(), ep.port()}.str());
    }
    log::info("tern ready on{} (data {})", summary, cfg.data_dir.string());
    if (auto point = fault::armed_point(); !point.empty())
      log::warn("TERN_FAULT={}: this process kills itself (SIGKILL) when it reaches that point (crash tests only)",
                point);

    unsigned threads = std::max(2u, std::thread::hardware_concurrency());
    std::vector<std::thread> runners;
    for (unsigned i = 1; i < threads; ++i) runners.emplace_back([this] { io_.run(); });
    io_.run();
    for (auto& t : runners) t.join();
    spool_->stop();
    pool_.join();
    if (stats_) sample_stats(*stats_);  // the last minute's counts (a crash loses them: stats.hpp)
    // A clean stop leaves no socket and no lock file behind (the lock is held until the close).
    std::error_code ec;
    // cfg_ itself, not the `cfg` reference taken at start: a SIGHUP reload replaced that object.
    auto data_dir = cfg_->data_dir;
    std::filesystem::remove(data_dir / "control.sock", ec);
    std::filesystem::remove(data_dir / "tern.lock", ec);
    ::close(lock_fd_);
    lock_fd_ = -1;
    log::info("tern stopped");
    return 0;
  }

 private:
  // The service table (see Service above).
  std::vector<Service> services() {
    auto smtp = [this](smtpd::ListenerKind kind) -> StartSession {
      return [this, kind](std::unique_ptr<net::Stream> s, std::string id) {
        return smtpd::run_session(std::move(s), kind, smtp_services(), std::move(id));
      };
    };
    auto imap = [this](imapd::ListenerKind kind) -> StartSession {
      return [this, kind](std::unique_ptr<net::Stream> s, std::string id) {
        return imapd::run_session(std::move(s), kind, imap_services(), std::move(id));
      };
    };
    auto pop3 = [this](pop3d::ListenerKind kind) -> StartSession {
      return [this, kind](std::unique_ptr<net::Stream> s, std::string id) {
        return pop3d::run_session(std::move(s), kind, pop3_services(), std::move(id));
      };
    };
    auto web = [this](http::ListenerKind kind) -> StartSession {
      return [this, kind](std::unique_ptr<net::Stream> s, std::string id) {
        return http::run_session(std::move(s), kind, http_services(), std::move(id));
      };
    };
    return {
        {"smtpd",
         {{"smtp", busy::smtp, smtp(smtpd::ListenerKind::smtp), true},
          {"submission", busy::smtp, smtp(smtpd::ListenerKind::submission), true},
          {"submissions", busy::tls_first, smtp(smtpd::ListenerKind::submissions), true}}},
        {"pop3d", {{"pop3", busy::pop3, pop3(pop3d::ListenerKind::pop3)}, {"pop3s", busy::tls_first, pop3(pop3d::ListenerKind::pop3s)}}},
        {"imapd", {{"imap", busy::imap, imap(imapd::ListenerKind::imap)}, {"imaps", busy::tls_first, imap(imapd::ListenerKind::imaps)}}},
        {"http",
         {{"http", busy::http, web(http::ListenerKind::http), false, true},
          {"https", busy::tls_first, web(http::ListenerKind::https), false, true}}},
    };
  }

  const Endpoint* find_endpoint(std::string_view key) const {
    for (auto& service : services_)
      for (auto& e : service.endpoints)
        if (e.key == key) return &e;
    return nullptr;
  }

  Status open_listeners() {
    services_ = services();
    for (auto& service : services_)
      for (auto& serves : service.endpoints)
        if (auto s = listen_on(serves); !s) return s;
    for (auto& [name, eps] : cfg_->listen)
      if (!find_endpoint(name) && !eps.empty()) log::warn("listen.{}: this service is not built yet; not listening", name);
    return ok_status();
  }

  // Opens every address of [listen] <serves.key>.
  Status listen_on(const Endpoint& serves) {
    const auto name = serves.key;
    auto it = cfg_->listen.find(std::string(name));
    if (it == cfg_->listen.end()) return ok_status();
    for (auto& ep : it->second) {
      boost::system::error_code ec;
      auto addr = asio::ip::make_address(ep.host, ec);
      if (ec) return Error{fmt::format("listen.{}: {} is not an IP address", name, ep.host)};
      auto acc = std::make_unique<tcp::acceptor>(io_);
      tcp::endpoint endpoint(addr, ep.port);
      acc->open(endpoint.protocol(), ec);
      if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) acc->bind(endpoint, ec);
      if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return Error{fmt::format("listen.{}: cannot listen on {}: {}", name, ep.str(), ec.message())};
      listeners_.push_back(Listener{&serves, std::move(acc)});
    }
    return ok_status();
  }

  net::awaitable<void> accept_loop(Listener& l) {
    for (;;) {
      boost::system::error_code ec;
      auto socket = co_await l.acceptor->async_accept(asio::make_strand(io_), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (stopping_ || ec == asio::error::operation_aborted) co_return;
        log::warn("{}: accept failed: {}", l.endpoint->key, ec.message());
        continue;
      }
      auto stream = std::make_unique<net::Stream>(std::move(socket));
      net::ConnectionLimiter::Refusal why;
      auto slot = limiter_.acquire(std::string(l.endpoint->key), stream->peer_address(), why);
      std::string id = make_unique_id();
      (slot ? metrics::connections : metrics::connections_refused).add(l.endpoint->key);
      if (!slot) {
        log::warn("{} {}: refused {}: too many connections{}", l.endpoint->key, id, stream->peer_address(),
                  refusal_text(why));
        auto ex = stream->socket().get_executor();
        asio::co_spawn(ex, refuse(std::move(stream), l.endpoint->busy_reply), asio::detached);
        continue;
      }
      // The stream holds the slot: closing the connection gives it back before the client sees EOF.
      stream->hold(std::move(slot));
      auto ex = stream->socket().get_executor();
      ++sessions_;
      asio::co_spawn(ex, session(std::move(stream), *l.endpoint, std::move(id)), asio::detached);
    }
  }

  // What every daemon's Services holds: the configuration and certificate of now (a reload replaces
  // them for later sessions), the directory, the worker pool and the one Authenticator.
  template <typename S>
  S common_services() {
    S svc;
    {
      std::lock_guard lock(cfg_mu_);
      svc.config = cfg_;
      svc.tls = tls_;
    }
    svc.directory = directory_.get();
    svc.pool = &pool_;
    svc.authenticator = authenticator_.get();
    return svc;
  }

  smtpd::Services smtp_services() {
    auto svc = common_services<smtpd::Services>();
    svc.spool = spool_.get();
    svc.quarantine = quarantine_.get();
    svc.mailstore = mailstore_.get();
    svc.learner = learner_.get();
    svc.unknown_recipients = &unknown_recipients_;
    svc.pipeline = pipeline_.get();
    svc.resolver = resolver_.get();
    svc.dkim = dkim_keys_.get();
    return svc;
  }

  pop3d::Services pop3_services() {
    auto svc = common_services<pop3d::Services>();
    svc.mailstore = mailstore_.get();
    svc.shared = &pop3_;
    return svc;
  }

  imapd::Services imap_services() {
    auto svc = common_services<imapd::Services>();
    svc.mailstore = mailstore_.get();
    svc.shared = &imap_;
    svc.stopping = &stopping_;
    svc.learner = learner_.get();
    return svc;
  }

  http::Services http_services() {
    http::Services svc;
    {
      std::lock_guard lock(cfg_mu_);
      svc.config = cfg_;
      svc.tls = tls_;
    }
    svc.metrics = [this] {
      return metrics::render({{"tern_queue_messages", "Messages in the outbox (held ones too)",
                               static_cast<double>(spool_->queued())}});
    };
    auto* api = api_.get();
    svc.mounts.push_back({{"api"}, [api](http::Request& req) { return api->handle(req); }});
    // What mail software fetches from the site (http/wellknown), public and cacheable for an hour.
    auto cfg = svc.config;
    svc.mounts.push_back({{".well-known", "mta-sts.txt"}, [cfg](http::Request&) { return serve_mta_sts(cfg); }});
    auto autoconfig = [cfg, dir = directory_.get(), pool = &pool_](http::Request& req) {
      auto it = req.query.find("emailaddress");
      return serve_autoconfig(cfg, dir, pool, it == req.query.end() ? std::string() : it->second);
    };
    svc.mounts.push_back({{"mail", "config-v1.1.xml"}, autoconfig});
    svc.mounts.push_back({{".well-known", "autoconfig", "mail", "config-v1.1.xml"}, autoconfig});
    auto autodiscover = [cfg, dir = directory_.get(), pool = &pool_](http::Request& req) {
      return serve_autodiscover(cfg, dir, pool, req.method, req.body);
    };
    svc.mounts.push_back({{"autodiscover", "autodiscover.xml"}, autodiscover});
    svc.mounts.push_back({{"Autodiscover", "Autodiscover.xml"}, autodiscover});
    svc.mounts.push_back({{"admin"}, [](http::Request& req) -> net::awaitable<http::Response> {
                            co_return http::serve_asset(req, 1, web::console_assets());
                          }});
    svc.stopping = &stopping_;
    return svc;
  }

  net::awaitable<void> session(std::unique_ptr<net::Stream> stream, const Endpoint& endpoint, std::string id) {
    auto* raw = stream.get();
    {
      std::lock_guard lock(streams_mu_);
      streams_[raw] = &endpoint;
    }
    metrics::open_connections.add(endpoint.key, 1);
    co_await endpoint.start(std::move(stream), std::move(id));
    metrics::open_connections.add(endpoint.key, -1);
    {
      std::lock_guard lock(streams_mu_);
      streams_.erase(raw);
    }
    --sessions_;
  }

  // After the grace period: close every open session's connection on its own strand, so each session
  // coroutine ends (and frees its state) before the event loop stops. At the start of the stop
  // (`at_once`): only interrupt the sessions of the endpoints that ask for it.
  void cancel_sessions(bool at_once = false) {
    std::lock_guard lock(streams_mu_);
    for (auto [s, endpoint] : streams_) {
      if (at_once && !endpoint->interrupt_at_once) continue;
      bool interrupt = at_once || endpoint->interrupt_at_stop;
      asio::post(s->socket().get_executor(), [this, s, interrupt] {
        std::lock_guard inner(streams_mu_);
        if (!streams_.count(s)) return;
        if (interrupt)
          s->interrupt();
        else
          s->close();
      });
    }
  }

  static net::ConnectionLimiter::Limits limiter_limits(const config::Config& cfg) {
    return {cfg.limits.max_connections, cfg.limits.connections_per_service(), cfg.limits.max_connections_per_ip};
  }

  static std::string_view refusal_text(net::ConnectionLimiter::Refusal why) {
    switch (why) {
      case net::ConnectionLimiter::Refusal::per_service: return " on this service";
      case net::ConnectionLimiter::Refusal::per_address: return " from this address";
      default: return "";
    }
  }

  static net::awaitable<void> refuse(std::unique_ptr<net::Stream> stream, std::string_view reply) {
    try {
      if (!reply.empty()) co_await stream->write(reply);
    } catch (const boost::system::system_error& e) {
      log::debug("refused {}: the busy reply was not delivered: {}", stream->peer_address(), e.code().message());
    }
    stream->close();
  }

  void wait_signal() {
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_signal();
        return;
      }
      log::info("signal {}: stopping (no new connections; sessions and deliveries get a moment to finish)", sig);
      stopping_ = true;
      dmarc_timer_->cancel();
      stats_timer_->cancel();
      imap_.live.shutdown();  // IMAP clients waiting for a command get BYE (idling ones from IDLE)
      spool_->begin_stop();
      cancel_sessions(true);  // idle HTTP keep-alive connections
      for (auto& l : listeners_) {
        boost::system::error_code ignored;
        l.acceptor->close(ignored);
      }
      auto timer = std::make_shared<asio::steady_timer>(io_);
      drain(timer, 0);
    });
  }

  // DMARC aggregate reports of finished days (app/dmarc): a minute after the start, then every hour,
  // on the worker pool (they look up DNS and write files).
  void schedule_dmarc_reports(std::chrono::seconds after) {
    dmarc_timer_->expires_after(after);
    dmarc_timer_->async_wait([this](boost::system::error_code ec) {
      if (ec || stopping_) return;
      std::shared_ptr<const config::Config> cfg = cfg_;
      asio::post(pool_, [cfg] {
        auto r = send_dmarc_reports(*cfg, "");
        if (!r) {
          log::warn("dmarc: reports not sent: {}", r.error().message);
          return;
        }
        for (auto line : split(*r, '\n'))
          if (!line.empty()) log::info("dmarc: {}", line);
      });
      schedule_dmarc_reports(std::chrono::hours(1));
    });
  }

  static void sample_stats(stats::Recorder& rec) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    if (auto s = rec.sample(now.count()); !s) log::warn("{}", s.error().message);
  }

  // The statistics (stats/): a sample just after each minute's end, written on the worker pool.
  void schedule_stats_sample() {
    if (!stats_) return;
    auto now = std::chrono::system_clock::now().time_since_epoch();
    auto minute = std::chrono::duration_cast<std::chrono::minutes>(now) + std::chrono::minutes(1);
    stats_timer_->expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(minute - now) +
                                std::chrono::milliseconds(200));
    stats_timer_->async_wait([this](boost::system::error_code ec) {
      if (ec || stopping_) return;
      asio::post(pool_, [rec = stats_.get()] { sample_stats(*rec); });
      schedule_stats_sample();
    });
  }

  // Waits up to 5 s for sessions to finish their current command, then closes the rest and stops the
  // event loop once they have ended (or after 2 s more).
  void drain(std::shared_ptr<asio::steady_timer> timer, int rounds) {
    if (rounds == 50 && sessions_ > 0) {
      log::info("closing {} session(s) still open", sessions_.load());
      cancel_sessions();
    }
    if ((sessions_ == 0 && spool_->active_deliveries() == 0) || rounds >= 70) {
      io_.stop();
      return;
    }
    timer->expires_after(std::chrono::milliseconds(100));
    timer->async_wait([this, timer, rounds](boost::system::error_code) { drain(timer, rounds + 1); });
  }

  void reload() {
    auto fresh = config::load(cfg_->file);
    if (!fresh) {
      log::error("reload: {}; keeping the running configuration", fresh.error().message);
      return;
    }
    // The certificate and key are read again (a renewed certificate needs no restart): new
    // connections get them, open sessions keep theirs.
    if (!fresh->tls_cert) {
      if (auto s = net::ensure_self_signed(fresh->cert_path(), fresh->key_path(), fresh->hostname); !s) {
        log::error("reload: {}; keeping the running configuration", s.error().message);
        return;
      }
    }
    auto tls = net::make_server_tls(fresh->cert_path(), fresh->key_path());
    if (!tls) {
      log::error("reload: {}; keeping the running configuration", tls.error().message);
      return;
    }
    std::vector<std::string> restart;
    if (fresh->listen != cfg_->listen) restart.push_back("[listen]");
    if (fresh->data_dir != cfg_->data_dir) restart.push_back("data_dir");
    if (!restart.empty())
      log::warn("reload: {} changed: takes effect at the next restart", fmt::join(restart, ", "));
    if (fresh->log_level != cfg_->log_level) log::init(fresh->log_level);
    if (fresh->dns_servers != cfg_->dns_servers) {
      if (auto s = resolver_->set_servers(fresh->dns_servers); !s)
        log::warn("reload: [dns] servers: {}", s.error().message);
    }
    limiter_.set_limits(limiter_limits(*fresh));
    std::lock_guard lock(cfg_mu_);
    cfg_ = std::make_shared<const config::Config>(std::move(*fresh));
    tls_ = *tls;
    spool_->set_config(cfg_);
    log::info("reload: configuration reloaded from {} (log level {}, certificate {})", cfg_->file.string(),
              cfg_->log_level, cfg_->cert_path().string());
  }

  // POST /api/v1/check: `tern check` on this server's data directory (repair refused while it runs).
  Result<api::CheckReport> check_for_api(bool repair) {
    std::shared_ptr<const config::Config> cfg;
    {
      std::lock_guard lock(cfg_mu_);
      cfg = cfg_;
    }
    auto r = check_data_dir(*cfg, repair, true);
    if (!r) return r.error();
    return api::CheckReport{std::move(r->problems), std::move(r->notes)};
  }

  // Declaration order is teardown order reversed: the event loop (and any session frames it still
  // holds) goes before the limiter, directory and mailstore that sessions refer to.
  std::string config_file_;  // named in start-up errors
  std::shared_ptr<const config::Config> cfg_;
  std::mutex cfg_mu_;
  asio::thread_pool pool_;
  net::ConnectionLimiter limiter_;
  std::unique_ptr<store::Directory> directory_;
  std::unique_ptr<store::Mailstore> mailstore_;
  std::unique_ptr<auth::Authenticator> authenticator_;  // logins and their throttle, for every protocol
  std::unique_ptr<filter::Pipeline> pipeline_;          // SMTP policy stages
  pop3d::Shared pop3_;  // maildrop locks
  imapd::Shared imap_;  // sessions per user
  asio::io_context io_;
  asio::signal_set signals_;
  std::unique_ptr<dns::Resolver> resolver_;  // outlives the spool
  std::unique_ptr<mailauth::DkimKeys> dkim_keys_;  // data_dir/dkim, read by the SMTP sessions and the spool
  std::unique_ptr<spam::Learner> learner_;  // the spam classifier: trained by IMAP moves, asked by the spam stage
  std::unique_ptr<mailauth::dmarc::Recorder> dmarc_reports_;  // data_dir/dmarc: the aggregate reports' records
  std::unique_ptr<spool::Spool> spool_;
  std::unique_ptr<spool::Quarantine> quarantine_;
  filter::RateWindows unknown_recipients_;  // per client address and hour, for every SMTP session
  std::unique_ptr<stats::Recorder> stats_;  // data_dir/stats.db: the counters over time, for the console
  std::unique_ptr<api::Api> api_;  // the JSON API, mounted on the https listener
  std::shared_ptr<net::ssl::context> tls_;
  std::vector<Service> services_;
  std::vector<Listener> listeners_;  // point into services_
  std::atomic<bool> stopping_{false};
  std::unique_ptr<asio::steady_timer> dmarc_timer_;
  std::unique_ptr<asio::steady_timer> stats_timer_;
  std::atomic<int> sessions_{0};
  std::mutex streams_mu_;
  std::map<net::Stream*, const Endpoint*> streams_;  // open sessions, for the cancel after the grace period
  int lock_fd_ = -1;
};

}  // namespace

int serve(const std::filesystem::path& config_file) {
  auto cfg = config::load(config_file);
  if (!cfg) {
    std::cerr << "tern: " << cfg.error().message << "\n";
    return 1;
  }
  log::init(cfg->log_level);
  if (!std::filesystem::is_directory(cfg->data_dir)) {
    // Only `tern init` makes a data directory (and its directory database).
    std::cerr << fmt::format("tern: {}: no data directory; create it with: tern init --config {}\n",
                             cfg->data_dir.string(), config_file.string());
    return 1;
  }
  Server server(std::move(*cfg), config_file.string());
  return server.run();
}

}  // namespace tern::app
