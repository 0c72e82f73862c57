// app/control: the administration socket (data_dir/control.sock) through which `tern queue
// retry|hold|release|delete|bounce` and `tern user|archive del` reach a running server, so that queue
// and mailbox changes never race the deliveries and sessions in progress. The CLI runs the same
// execute_control directly when no server runs. One request line, one reply line ("ok ..." or "error ...").
// The socket is created with mode 0600: only the user running Tern may administer it.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/admin.hpp"
#include "base/result.hpp"
#include "spool/spool.hpp"
#include "store/directory.hpp"
#include "store/mailstore.hpp"

namespace tern::app {

// The administration actions themselves live in api/admin, shared with the JSON API.
using api::Admin;

// True when a `tern serve` holds the data directory's lock.
bool server_running(const std::filesystem::path& data_dir);
// Takes data_dir/tern.lock (held until the fd is closed); -1 when another process holds it or the
// file cannot be opened, with why (naming the other server's PID when one holds it) in *why.
int lock_data_dir(const std::filesystem::path& data_dir, std::string* why = nullptr);

// Starts accepting on data_dir/control.sock (replacing a stale socket file).
Status start_control(boost::asio::io_context& io, boost::asio::thread_pool& pool, Admin admin,
                     const std::filesystem::path& data_dir);

// Executes a request: "retry [ID...]", "hold ID", "release ID", "delete ID", "bounce ID",
// "user-add ADDRESS HASH [admin]", "archive-add ADDRESS", "user-del ADDRESS keep|purge",
// "archive-del ADDRESS keep|purge".
Result<std::string> execute_control(Admin& admin, const std::string& line);

// Sends a request to the running server; nullopt when no server answers on the socket.
std::optional<Result<std::string>> control_request(const std::filesystem::path& data_dir, const std::string& line);

}  // namespace tern::app
