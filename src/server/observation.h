#pragma once
// The admin API's GET /log and GET /debug/object (admin::ObservationControl) on a running
// server: the workers' transaction log, and the store and coalescer seen through the key the
// current routes build for a URL (proxy/purge_target.h, the one key builder for a named URL).

#include "cache_control.h"
#include "lacquer/admin/admin_server.h"
#include "lacquer/cache/coalescer.h"
#include "lacquer/cache/object_store.h"
#include "lacquer/core/clock.h"
#include "lacquer/proxy/transaction_log.h"

#include <cstddef>

namespace lacquer::server {

// Runs on the admin thread (the log's one reader). `log`, `store`, `coalescer` and `clock` must
// outlive the result.
admin::ObservationControl
make_observation_control(proxy::TransactionLog& log, const CurrentRoutes& routes,
                         const cache::ObjectStore& store, const cache::Coalescer& coalescer,
                         const core::Clock& clock, std::size_t max_uri_bytes);

} // namespace lacquer::server
