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

} // namespace

void check_reloadable(const Config& running, const Config& next) {
    if (running.workers != next.workers) {
        refuse(next.workers_mark.line != 0 ? next.workers_mark : file_start(next), "`workers`");
    }
    if (running.admin.present != next.admin.present ||
        running.admin.address.text() != next.admin.address.text() ||
        running.admin.token_file != next.admin.token_file) {
        refuse(next.admin.present ? next.admin.mark : file_start(next), "`admin`");
    }
    if (running.log.access != next.log.access || running.log.access_path != next.log.access_path ||
        running.log.format != next.log.format) {
        refuse(file_start(next), "`log`");
    }
    // The writer's line shape (request_id and traceparent apply per request, so they reload).
    if (running.log.fields != next.log.fields) {
        refuse(file_start(next), "`log.fields`");
    }
    if (running.storage.eviction != next.storage.eviction) {
        refuse(next.storage.eviction_mark.line != 0 ? next.storage.eviction_mark : file_start(next),
               "`storage.eviction`");
    }
}

} // namespace lacquer::config
