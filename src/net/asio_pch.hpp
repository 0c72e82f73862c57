// Precompiled header: Asio and its SSL layer are the heaviest includes of the project.
#pragma once
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
