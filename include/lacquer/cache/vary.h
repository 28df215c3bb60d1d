#pragma once
// The origin's Vary as a secondary key. An object fetched for a request remembers, for each
// request header its response varies on, the value that request had (or that it had none); a
// later request may use the object only when its own values are the same.
// Spec encoding, one entry per header in Vary order: "<name>\n=<value>\n" or "<name>\n!\n".

#include "lacquer/http/head.h"

#include <string>
#include <string_view>

namespace lacquer::cache {

// Appends the entry of header `name` as `request` has it.
void append_vary_entry(std::string& spec, std::string_view name, const http::HeaderList& request);

// True when `request` has the values recorded in `spec` (an empty spec matches every request).
bool vary_matches(std::string_view spec, const http::HeaderList* request);

// True when both specs name the same headers in the same order, whatever the values.
bool vary_names_equal(std::string_view a, std::string_view b);

} // namespace lacquer::cache
