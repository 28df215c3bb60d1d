#include "lacquer/core/assert.h"

#include <cstdio>
#include <cstdlib>

namespace lacquer::core {

void assertion_failed(const char* expr, const char* file, int line, const char* func) {
    std::fprintf(stderr, "lacquer: assertion failed: %s (%s:%d, %s)\n", expr, file, line, func);
    std::fflush(stderr);
    std::abort();
}

} // namespace lacquer::core
