#pragma once
// What a reload (SIGHUP, POST /reload) may change: everything but the store's eviction policy.
// Routes, origins, variants, limits, storage.memory (a smaller budget evicts down to it), the
// listen addresses (added ones open, removed ones close, the others stay), `workers` (threads
// start or end), `admin` (rebound; its token reread) and `log` (the writer swapped) are applied
// by the server; what cannot be applied there (an address that cannot be bound, a file that
// cannot be opened) is refused by it with the setting's FILE:LINE:COL.

#include "lacquer/config/config.h"

namespace lacquer::config {

// Throws ConfigError (at `next`'s mark of the setting) when `next` changes what no reload can
// apply: storage.eviction.
void check_reloadable(const Config& running, const Config& next);

} // namespace lacquer::config
