// app/control: the administration socket (data_dir/control.sock) through which `tern queue
// retry|hold|release|delete|bounce` reach a running server, so that queue changes and deliveries in
// progress never race. One request line, one reply line ("ok ..." or "error ...").
// The socket is created with mode 0600: only the user running Tern may administer it.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "base/result.hpp"
#include "spool/spool.hpp"

namespace tern::app {

// True when a `tern serve` holds the data directory's lock.
bool server_running(const std::filesystem::path& data_dir);
// Takes data_dir/tern.lock (held until the fd is closed); -1 when another process holds it.
int lock_data_dir(const std::filesystem::path& data_dir);

// Starts accepting on data_dir/control.sock (replacing a stale socket file).
Status start_control(boost::asio::io_context& io, boost::asio::thread_pool& pool, spool::Spool& spool,
                     const std::filesystem::path& data_dir);

// Executes a request against a spool: "retry [ID...]", "hold ID", "release ID", "delete ID", "bounce ID".
Result<std::string> execute_control(spool::Spool& spool, const std::string& line);

// Sends a request to the running server; nullopt when no server answers on the socket.
std::optional<Result<std::string>> control_request(const std::filesystem::path& data_dir, const std::string& line);

}  // namespace tern::app
