// http/router: a table of routes, "METHOD /pattern" to a handler, matched on a request's decoded
// path segments. A pattern segment "{name}" matches any one non-empty segment and is passed to the
// handler in order; every other segment must be equal. HEAD matches the GET routes (RFC 9110 9.3.2).
// The handler type is the caller's (the API's handlers run on the worker pool, the site's on the loop).
//
// match() tells apart "no such path" (404) from "path known, method not" (405, with the Allow list).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.hpp"

namespace tern::http {

template <typename Handler>
class Router {
 public:
  struct Match {
    const Handler* handler = nullptr;  // null: see allow
    std::vector<std::string> params;   // the "{...}" segments, in order
    std::string allow;                 // handler null: the methods this path has ("" : no such path)
  };

  void add(std::string_view method, std::string_view pattern, Handler handler) {
    Route r{std::string(method), {}, std::move(handler)};
    for (auto seg : split(pattern, '/'))
      if (!seg.empty()) r.pattern.emplace_back(seg);
    routes_.push_back(std::move(r));
  }

  Match match(std::string_view method, const std::vector<std::string>& path) const {
    Match m;
    std::string_view wanted = method == "HEAD" ? "GET" : method;
    for (auto& r : routes_) {
      std::vector<std::string> params;
      if (!fits(r.pattern, path, params)) continue;
      if (r.method == wanted) {
        m.handler = &r.handler;
        m.params = std::move(params);
        m.allow.clear();
        return m;
      }
      if (m.allow.find(r.method) == std::string::npos) m.allow += (m.allow.empty() ? "" : ", ") + r.method;
      if (r.method == "GET" && m.allow.find("HEAD") == std::string::npos) m.allow += ", HEAD";
    }
    return m;
  }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> pattern;
    Handler handler;
  };

  static bool fits(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
                   std::vector<std::string>& params) {
    if (pattern.size() != path.size()) return false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i].size() > 1 && pattern[i].front() == '{' && pattern[i].back() == '}') {
        if (path[i].empty()) return false;
        params.push_back(path[i]);
      } else if (pattern[i] != path[i]) {
        return false;
      }
    }
    return true;
  }

  std::vector<Route> routes_;
};

}  // namespace tern::http
