// Compiles the shared Asio precompiled header (see the top CMakeLists.txt).
