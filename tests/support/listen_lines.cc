// Tolerant on purpose about the text around "listening on": only the address is a contract.
#include "support/listen_lines.h"

#include <charconv>

namespace lacquer::test {

namespace {

constexpr std::string_view kMarker = "listening on ";
constexpr std::string_view kWorkers = "worker threads: ";

bool parse_line(std::string_view line, ListenLine& out) {
    const std::size_t at = line.find(kMarker);
    if (at == std::string_view::npos) {
        return false;
    }
    std::string_view address = line.substr(at + kMarker.size());
    address = address.substr(0, address.find_first_of(" \t\r("));
    const std::size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
        return false;
    }
    unsigned port = 0;
    const std::string_view port_text = address.substr(colon + 1);
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
        return false;
    }
    out.host = std::string(address.substr(0, colon));
    out.port = static_cast<std::uint16_t>(port);
    out.admin = line.substr(0, at).find("admin") != std::string_view::npos;
    out.line = std::string(line);
    const std::size_t workers = line.find(kWorkers);
    if (workers != std::string_view::npos) {
        const std::string_view count = line.substr(workers + kWorkers.size());
        (void)std::from_chars(count.data(), count.data() + count.size(), out.worker_threads);
    }
    return true;
}

} // namespace

std::vector<ListenLine> parse_listen_lines(std::string_view output) {
    std::vector<ListenLine> lines;
    while (!output.empty()) {
        const std::size_t end = output.find('\n');
        if (end == std::string_view::npos) {
            break; // a partial line may still be growing
        }
        ListenLine parsed;
        if (parse_line(output.substr(0, end), parsed)) {
            lines.push_back(std::move(parsed));
        }
        output.remove_prefix(end + 1);
    }
    return lines;
}

std::size_t count_client_listeners(std::string_view output) {
    std::size_t count = 0;
    for (const ListenLine& line : parse_listen_lines(output)) {
        count += line.admin ? 0 : 1;
    }
    return count;
}

} // namespace lacquer::test
