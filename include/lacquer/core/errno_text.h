#pragma once
// The text of an errno value, safe on any thread. std::strerror may hand every thread the same
// buffer (POSIX allows it; clang-tidy concurrency-mt-unsafe), and workers report errno values, so
// Lacquer calls this instead. The text is static: no allocation, never null.

namespace lacquer::core {

// "No such file or directory" for ENOENT; "unknown error" for a value the C library does not know.
const char* errno_text(int error);

} // namespace lacquer::core
