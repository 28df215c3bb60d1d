#include "lacquer/core/errno_text.h"

#include <cstring>

namespace lacquer::core {

const char* errno_text(int error) {
    // glibc 2.32+: a static, untranslated description (nullptr for an unknown value), thread- and
    // async-signal-safe. Lacquer's messages are English anyway.
    const char* text = strerrordesc_np(error);
    return text != nullptr ? text : "unknown error";
}

} // namespace lacquer::core
