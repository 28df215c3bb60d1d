#pragma once
// What a reload (SIGHUP) may change. Routes, origins, variants, limits, storage (a smaller
// memory budget evicts down to it) and the listen addresses (added ones open, removed ones
// close, the others stay as they are) are applied; the rest is bound when the process starts
// (worker threads, the admin listener and its token, the access log) and a change there
// refuses the reload, pointing at the setting.

#include "lacquer/config/config.h"

namespace lacquer::config {

// Throws ConfigError (at `next`'s mark of the first setting that differs) when `next` changes
// what only a restart applies.
void check_reloadable(const Config& running, const Config& next);

} // namespace lacquer::config
