#pragma once
// The whole of a small kernel file (/proc, /sys): read in a few read(2)s, no stream.

#include <string>

namespace lacquer::core {

// Its content; empty when it cannot be read. At most 256 KiB (/proc/stat of a large machine is
// a few pages).
std::string read_proc_file(const char* path);

} // namespace lacquer::core
