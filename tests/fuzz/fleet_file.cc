// libFuzzer target: the fleet file of `lacquerctl --fleet`. Whatever the bytes, parsing never
// crashes, every error names the file, the error list stays bounded, and the nodes it accepts
// written back one per line parse to the same nodes (addresses, token files) without errors.
#include "ctl/fleet_file.h"

#include "lacquer/core/assert.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using lacquer::ctl::FleetParse;
    using lacquer::ctl::parse_fleet;

    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const FleetParse first = parse_fleet(text, "fleet", "");
    LACQUER_ASSERT(first.errors.size() <= lacquer::ctl::kMaxFleetErrors + 1);
    LACQUER_ASSERT(first.nodes.size() <= lacquer::ctl::kMaxFleetNodes);
    for (const std::string& error : first.errors) {
        LACQUER_ASSERT(error.starts_with("fleet:"));
    }
    if (!first.errors.empty()) {
        return 0;
    }
    std::string written;
    for (const auto& node : first.nodes) {
        LACQUER_ASSERT(node.endpoint.port != 0);
        written += node.endpoint.text() + " " + node.token_file + "\n";
    }
    const FleetParse second = parse_fleet(written, "fleet", "");
    LACQUER_ASSERT(second.errors.empty());
    LACQUER_ASSERT(second.nodes.size() == first.nodes.size());
    for (std::size_t i = 0; i < first.nodes.size(); ++i) {
        LACQUER_ASSERT(second.nodes[i].endpoint.text() == first.nodes[i].endpoint.text());
        LACQUER_ASSERT(second.nodes[i].token_file == first.nodes[i].token_file);
    }
    return 0;
}
