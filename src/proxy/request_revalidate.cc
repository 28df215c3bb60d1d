// RequestFsm, Revalidate: an expired stored object that may not be served (past its stale
// window, or marked must-revalidate, proxy-revalidate, s-maxage or no-cache) and that has
// validators is not fetched again whole: the fill asks the origin with If-None-Match /
// If-Modified-Since (RFC 9111 §4.3.1). A 304 freshens the object (CacheFill, not_modified.h),
// which answers this request (Relay -> Deliver) and every request waiting on the key; any other
// answer replaces it as a miss would.
#include "lacquer/proxy/request_fsm.h"

namespace lacquer::proxy {

Next RequestFsm::step_revalidate() {
    add_validators(*revalidate_);
    return go(Step::Fetch); // lead the key's fill (start_fill passes revalidate_), or wait on it
}

} // namespace lacquer::proxy
