// api/openapi: GET /api/v1/openapi.json, the OpenAPI 3.1 description of every /api/v1 route
// (docs/openapi.json, embedded at build time by embed_openapi.cmake). Served without authentication:
// it holds no data.
#include "api/api.hpp"

namespace tern::api {

std::string_view openapi_json();  // generated

http::Response Api::openapi(Call&) {
  return http::text_response(http::status::ok, std::string(openapi_json()), "application/json");
}

}  // namespace tern::api
