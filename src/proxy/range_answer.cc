// Which part of a stored body a range request gets (range_answer.h).
#include "range_answer.h"

namespace lacquer::proxy {

bool asks_for_range(const http::RequestHead& request) {
    return request.is_get() && request.headers.find("Range") != nullptr;
}

http::RangePlan plan_range_answer(const http::RequestHead& request,
                                  const cache::StoredObject& object) {
    const http::Header* range = request.is_get() ? request.headers.find("Range") : nullptr;
    if (range == nullptr || object.status() != 200) {
        return {};
    }
    if (const http::Header* if_range = request.headers.find("If-Range");
        if_range != nullptr && !http::if_range_matches(if_range->value, object.etag(),
                                                       object.last_modified(), object.date())) {
        return {}; // the client's copy is another version: it gets the whole new one
    }
    return http::plan_byte_range(range->value, object.body_size());
}

} // namespace lacquer::proxy
