#include "lacquer/core/proc_file.h"

#include <cstddef>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

namespace lacquer::core {

std::string read_proc_file(const char* path) {
    std::string out;
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return out;
    }
    char buf[4096];
    for (int reads = 0; reads < 64; ++reads) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

} // namespace lacquer::core
