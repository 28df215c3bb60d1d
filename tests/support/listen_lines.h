#pragma once
// Reads the "listening on HOST:PORT ..." lines that lacquerd and lacquer-demo-origin print at
// start, which is how tests learn the ports chosen for :0.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::test {

struct ListenLine {
    std::string host;
    std::uint16_t port = 0;
    bool admin = false;     // the line names the admin listener ("admin ... listening on ...")
    int worker_threads = 0; // from "(worker threads: N)" when present
    std::string line;
};

// Every complete line (ending in '\n') of `output` that contains "listening on HOST:PORT".
std::vector<ListenLine> parse_listen_lines(std::string_view output);

// How many of the lines are client (non-admin) listeners.
std::size_t count_client_listeners(std::string_view output);

} // namespace lacquer::test
