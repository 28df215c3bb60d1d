#pragma once
// The admin token check shared by every token-protected endpoint (admin_answer.cc).

#include <string_view>

namespace lacquer::admin {

// `Bearer <token>`, compared in time that does not depend on where the bytes differ.
bool bearer_matches(std::string_view value, std::string_view token);

} // namespace lacquer::admin
