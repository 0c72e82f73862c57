#include "filter/filter.hpp"

#include <algorithm>

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

std::string edited(std::string_view message, std::vector<Verdict::Edit> edits) {
  std::sort(edits.begin(), edits.end(), [](const auto& a, const auto& b) { return a.offset > b.offset; });
  std::string out(message);
  for (const auto& e : edits) out.replace(e.offset, e.length, e.text);
  return out;
}

net::awaitable<Verdict> Pipeline::run(Step step, const Context& ctx) const {
  Verdict out;
  // After a stage replaced parts (a stripped attachment), the later stages judge the message as it
  // will be stored, not the file that is no longer in it.
  Context changed = ctx;
  std::string changed_message;
  const Context* now = &ctx;
  for (const auto& stage : stages_) {
    Verdict v;
    switch (step) {
      case Step::connect: v = co_await stage->connect(*now); break;
      case Step::helo: v = co_await stage->helo(*now); break;
      case Step::mail: v = co_await stage->mail(*now); break;
      case Step::rcpt: v = co_await stage->rcpt(*now); break;
      case Step::data: v = co_await stage->data(*now); break;
    }
    out.headers += v.headers;
    out.drop.insert(out.drop.end(), v.drop.begin(), v.drop.end());
    for (auto& r : v.reasons) out.reasons.push_back(std::string(stage->name()) + ": " + r);
    if (!v.replace.empty()) {
      out.replace.insert(out.replace.end(), std::make_move_iterator(v.replace.begin()),
                         std::make_move_iterator(v.replace.end()));
      changed_message = edited(ctx.message, out.replace);
      changed.message = changed_message;
      now = &changed;
    }
    if (v.refused()) {
      out.action = v.action;
      out.reply = std::move(v.reply);
      co_return out;
    }
    auto because = [&](std::string& into, const std::string& why) {
      into += (into.empty() ? "" : "; ") + std::string(stage->name()) + ": " + why;
    };
    if (v.action == Verdict::Action::junk) because(out.junk, v.junk);
    if (v.action == Verdict::Action::quarantine) because(out.quarantine, v.quarantine);
    // An allow list ends the round, but what earlier stages found (a virus to hold) stands.
    if (v.action == Verdict::Action::accept) {
      out.action = Verdict::Action::accept;
      break;
    }
  }
  if (!out.quarantine.empty()) out.action = Verdict::Action::quarantine;
  else if (!out.junk.empty()) out.action = Verdict::Action::junk;
  co_return out;
}

}  // namespace tern::filter
