#pragma once
// The schema walk, one function per part of CONFIG.md. Each reads its YAML value into the
// plain structs or throws ConfigError at the offending node. Sections that refer to others
// (routes name origins and variants) are read after them and take the config built so far.

#include "lacquer/config/config.h"
#include "yaml_reader.h"

#include <optional>
#include <string>
#include <vector>

namespace lacquer::config::detail {

unsigned read_workers(const YamlValue& value);
std::vector<ListenerConfig> read_listen(const YamlValue& value);
// Parts of a listen entry (read_listen_tls.cc).
ListenerTls read_listener_tls(const YamlValue& value);
std::vector<AddressRange> read_address_ranges(const YamlValue& value);
// `mode` and `owner`: only on a unix: listener.
void read_unix_socket_keys(const YamlMap& map, ListenerConfig& listener);
// `value` is empty when the section is absent; the (default) address must not collide with a
// listener either way.
AdminConfig read_admin(const std::optional<YamlValue>& value,
                       const std::vector<ListenerConfig>& listen);
Limits read_limits(const YamlValue& value);
StorageConfig read_storage(const YamlValue& value);
LogConfig read_log(const YamlValue& value);

std::vector<OriginPoolConfig> read_origins(const YamlValue& value);
std::vector<VariantConfig> read_variants(const YamlValue& value);

// Precondition: config.origins and config.variants are read.
std::vector<RouteConfig> read_routes(const YamlValue& value, const Config& config);
// `value` is empty when `default_route` is absent; `fallback` is where it points then.
DefaultRouteConfig read_default_route(const std::optional<YamlValue>& value,
                                      const SourceMark& fallback, const Config& config);

} // namespace lacquer::config::detail
