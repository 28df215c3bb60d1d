#include "lacquer/config/reload.h"

#include "lacquer/config/load.h"

#include <string>

namespace lacquer::config {

namespace {

[[noreturn]] void refuse(const SourceMark& mark, const std::string& what) {
    throw ConfigError(mark, what + " cannot change on reload (restart lacquerd to apply it); "
                                   "the running config stays");
}

SourceMark file_start(const Config& c) {
    SourceMark mark;
    mark.file = c.file;
    mark.line = 1;
    mark.column = 1;
    return mark;
}

bool same_listeners(const Config& a, const Config& b, std::size_t& differs) {
    const std::size_t n = std::max(a.listen.size(), b.listen.size());
    for (differs = 0; differs < n; ++differs) {
        if (differs >= a.listen.size() || differs >= b.listen.size() ||
            a.listen[differs].address.text() != b.listen[differs].address.text() ||
            a.listen[differs].tls.has_value() != b.listen[differs].tls.has_value()) {
            return false;
        }
    }
    return true;
}

} // namespace

void check_reloadable(const Config& running, const Config& next) {
    if (running.workers != next.workers) {
        refuse(next.workers_mark.line != 0 ? next.workers_mark : file_start(next), "`workers`");
    }
    std::size_t at = 0;
    if (!same_listeners(running, next, at)) {
        refuse(at < next.listen.size() ? next.listen[at].mark : file_start(next), "`listen`");
    }
    if (running.admin.present != next.admin.present ||
        running.admin.address.text() != next.admin.address.text() ||
        running.admin.token_file != next.admin.token_file) {
        refuse(next.admin.present ? next.admin.mark : file_start(next), "`admin`");
    }
    if (running.storage.memory != next.storage.memory) {
        refuse(next.storage.present ? next.storage.mark : file_start(next), "`storage.memory`");
    }
    if (running.log.access != next.log.access || running.log.access_path != next.log.access_path ||
        running.log.format != next.log.format) {
        refuse(file_start(next), "`log`");
    }
}

} // namespace lacquer::config
