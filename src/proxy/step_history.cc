// The request's step trace as text ("Recv:0.000 Route:0.004 ..."), for the access log and
// the live transaction log.
#include "lacquer/proxy/request_fsm.h"

#include <chrono>
#include <cstdio>

namespace lacquer::proxy {

std::string_view step_name(Step step) {
    static constexpr std::string_view kNames[] = {
#define LACQUER_AS_NAME(name) #name,
        LACQUER_REQUEST_STEPS(LACQUER_AS_NAME)
#undef LACQUER_AS_NAME
    };
    const auto index = static_cast<std::size_t>(step);
    return index < std::size(kNames) ? kNames[index] : std::string_view("?");
}

void StepHistory::append_trace(std::string& out) const {
    for (std::size_t i = 0; i < size(); ++i) {
        if (i > 0) {
            out.push_back(' ');
        }
        out.append(step_name(at(i).step));
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(at(i).at - at(0).at);
        char buf[32];
        const int n =
            std::snprintf(buf, sizeof buf, ":%.3f", static_cast<double>(us.count()) / 1e3);
        out.append(buf, static_cast<std::size_t>(n));
    }
}

} // namespace lacquer::proxy
