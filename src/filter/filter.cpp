#include "filter/filter.hpp"

namespace tern::filter {

std::string_view step_name(Step s) {
  switch (s) {
    case Step::connect: return "connect";
    case Step::helo: return "HELO";
    case Step::mail: return "MAIL";
    case Step::rcpt: return "RCPT";
    case Step::data: return "DATA";
  }
  return "?";
}

Verdict Verdict::refuse(smtp::proto::Reply r, std::string reason) {
  Verdict v;
  v.action = r.code >= 500 ? Action::reject : Action::tempfail;
  v.reply = std::move(r);
  v.reasons.push_back(std::move(reason));
  return v;
}

net::awaitable<Verdict> Stage::connect(const Context&) { co_return Verdict::next(); }
net::awaitable<Verdict> Stage::helo(const Context&) { co_return Verdict::next(); }
net::awaitable<Verdict> Stage::mail(const Context&) { co_return Verdict::next(); }
net::awaitable<Verdict> Stage::rcpt(const Context&) { co_return Verdict::next(); }
net::awaitable<Verdict> Stage::data(const Context&) { co_return Verdict::next(); }

net::awaitable<Verdict> Pipeline::run(Step step, const Context& ctx) const {
  Verdict out;
  for (const auto& stage : stages_) {
    Verdict v;
    switch (step) {
      case Step::connect: v = co_await stage->connect(ctx); break;
      case Step::helo: v = co_await stage->helo(ctx); break;
      case Step::mail: v = co_await stage->mail(ctx); break;
      case Step::rcpt: v = co_await stage->rcpt(ctx); break;
      case Step::data: v = co_await stage->data(ctx); break;
    }
    out.headers += v.headers;
    out.drop.insert(out.drop.end(), v.drop.begin(), v.drop.end());
    for (auto& r : v.reasons) out.reasons.push_back(std::string(stage->name()) + ": " + r);
    if (v.refused() || v.action == Verdict::Action::accept) {
      out.action = v.action;
      out.reply = std::move(v.reply);
      co_return out;
    }
    if (v.action == Verdict::Action::junk) {
      out.action = Verdict::Action::junk;
      out.junk += (out.junk.empty() ? "" : "; ") + std::string(stage->name()) + ": " + v.junk;
    }
  }
  co_return out;
}

}  // namespace tern::filter
