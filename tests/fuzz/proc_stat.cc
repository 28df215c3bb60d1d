// libFuzzer target: the /proc parsers behind process_* (metrics/process_collector.h). Whatever
// the bytes, no crash; a stat line that parses keeps parsing when a command name with spaces
// and parentheses stands before it (fields are counted after the last ')'), and btime parses
// only from a line that says so.
#include "lacquer/core/assert.h"
#include "metrics/process_collector.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto stat = lacquer::metrics::parse_proc_stat(text);
    if (stat && text.find(')') != std::string_view::npos) {
        const std::string renamed = "1 (a) b (c)" + std::string(text.substr(text.rfind(')')));
        const auto again = lacquer::metrics::parse_proc_stat(renamed);
        LACQUER_ASSERT(again && again->utime_ticks == stat->utime_ticks &&
                       again->resident_pages == stat->resident_pages);
    }
    if (lacquer::metrics::parse_boot_time(text)) {
        LACQUER_ASSERT(text.find("btime ") != std::string_view::npos);
    }
    return 0;
}
