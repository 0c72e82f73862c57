# cmake -DIN=docs/openapi.json -DOUT=build/api/openapi_json.cpp -P embed_openapi.cmake
# Writes docs/openapi.json into a C++ array behind tern::api::openapi_json(), as web/embed.cmake does
# for the console's files, so the served description is always the one in the source tree.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(LENGTH "${hex}" len)
math(EXPR len "${len} / 2")
file(WRITE ${OUT} "// Generated from docs/openapi.json by src/api/embed_openapi.cmake; do not edit.
#include <string_view>
namespace tern::api {
namespace {
const unsigned char bytes[] = {${bytes}0};
}
std::string_view openapi_json() { return {reinterpret_cast<const char*>(bytes), ${len}}; }
}  // namespace tern::api
")
