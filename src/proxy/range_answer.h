#pragma once
// Range requests answered from a stored object (RFC 9110 §14, RFC 9111 §3.4): which part of the
// stored body a request gets. Decided here, written by object_delivery.cc (the part goes out by
// reference from the object, like a whole body). Pure: a function of the request and the object.

#include "lacquer/cache/stored_object.h"
#include "lacquer/http/byte_range.h"
#include "lacquer/http/head.h"

namespace lacquer::proxy {

// The plan for `request` against `object`: Whole unless the request is a GET with a bytes
// Range, the object a complete 200, and If-Range (when sent) matches the object's strong
// validator (§13.1.5; a failed If-Range gets the whole 200). A HEAD never gets a range: range
// handling is defined for GET only (§14.2).
http::RangePlan plan_range_answer(const http::RequestHead& request,
                                  const cache::StoredObject& object);

// True when the request asks for a range: a range miss fetches the whole object, stores it, and
// answers from the stored object rather than relaying the origin's 200.
bool asks_for_range(const http::RequestHead& request);

} // namespace lacquer::proxy
