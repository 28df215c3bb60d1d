#pragma once
// What a reload (SIGHUP) may change. Routes, origins, variants, limits and the object size
// limit are swapped in on every worker; the rest is bound when the process starts (worker
// threads, listening sockets, the admin listener and its token, the access log, the cache's
// memory budget) and a change there refuses the reload, pointing at the setting.

#include "lacquer/config/config.h"

namespace lacquer::config {

// Throws ConfigError (at `next`'s mark of the first setting that differs) when `next` changes
// what only a restart applies.
void check_reloadable(const Config& running, const Config& next);

} // namespace lacquer::config
