#include "lacquer/config/reload.h"

#include "lacquer/config/load.h"

#include <string>

namespace lacquer::config {

void check_reloadable(const Config& running, const Config& next) {
    // The store's eviction policy is its data structure (S3-FIFO or W-TinyLFU queues, a CLOCK
    // ring): the objects cannot move from one to the other while the workers use them.
    if (running.storage.eviction != next.storage.eviction) {
        SourceMark mark = next.storage.eviction_mark;
        if (mark.line == 0) { // not written: the default, where the storage section starts
            mark = next.storage.present ? next.storage.mark : SourceMark{next.file, 1, 1};
        }
        throw ConfigError(mark, "`storage.eviction` cannot change on reload (restart lacquerd "
                                "to apply it); the running config stays");
    }
}

} // namespace lacquer::config
