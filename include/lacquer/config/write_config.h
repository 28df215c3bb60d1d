#pragma once
// The effective config as YAML (`GET /config`, `lacquerctl config`, as `nginx -T` prints its
// own): every setting with its default filled in, in CONFIG.md's shape, so that the text loads
// again (--check-config) into the same effective config. It holds no secret: the admin token is
// named by its file, never read; certificates and keys by their paths, never their content.

#include "lacquer/config/config.h"

#include <string>

namespace lacquer::config {

std::string write_config_yaml(const Config& config);

} // namespace lacquer::config
