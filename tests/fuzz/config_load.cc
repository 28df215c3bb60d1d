// libFuzzer target: YAML bytes -> load_config_string. Either a whole, valid Config comes back
// or a ConfigError whose mark is a real position in the input; nothing else may escape.
#include "lacquer/config/load.h"
#include "lacquer/core/assert.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace lacquer::config;

bool has_variant(const Config& config, const std::string& name) {
    return std::any_of(config.variants.begin(), config.variants.end(),
                       [&name](const VariantConfig& v) { return v.name == name; });
}

// What a returned Config promises to the modules that consume it.
void check_whole(const Config& config) {
    LACQUER_ASSERT(!config.listen.empty());
    LACQUER_ASSERT(!config.origins.empty());
    LACQUER_ASSERT(config.workers <= 256);
    for (const OriginPoolConfig& pool : config.origins) {
        LACQUER_ASSERT(!pool.servers.empty());
        for (const OriginServerConfig& server : pool.servers) {
            LACQUER_ASSERT(server.address.port != 0);
            LACQUER_ASSERT(server.weight >= 1 && server.weight <= 1000);
        }
    }
    for (const VariantConfig& variant : config.variants) {
        LACQUER_ASSERT(!variant.values.empty() && !variant.sources.empty());
        LACQUER_ASSERT(std::find(variant.values.begin(), variant.values.end(),
                                 variant.default_value) != variant.values.end());
        LACQUER_ASSERT(!variant.forward_header.empty());
    }
    for (const RouteConfig& route : config.routes) {
        LACQUER_ASSERT(config.find_origin(route.origin) != nullptr);
        LACQUER_ASSERT(route.pass != route.cache.has_value());
        LACQUER_ASSERT(route.match.path_prefix.empty() || route.match.path_regex.empty());
        LACQUER_ASSERT(!route.match.methods.empty());
        if (route.cache) {
            for (const std::string& name : route.cache->variants) {
                LACQUER_ASSERT(has_variant(config, name));
            }
            LACQUER_ASSERT(route.cache->stale.count() >= 0 &&
                           route.cache->stale_if_error.count() >= 0);
        }
        LACQUER_ASSERT(route.mark.line >= 1 && route.mark.column >= 1);
    }
    LACQUER_ASSERT(config.find_origin(config.default_route.origin) != nullptr);
    LACQUER_ASSERT(config.storage.max_object_size <= config.storage.memory);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::string name = "fuzz.yaml";
    try {
        check_whole(load_config_string(text, name));
    } catch (const ConfigError& error) {
        const SourceMark& mark = error.mark();
        const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
        LACQUER_ASSERT(mark.file == name);
        LACQUER_ASSERT(mark.line >= 1 && mark.line <= lines + 1);
        LACQUER_ASSERT(mark.column >= 1);
        LACQUER_ASSERT(std::string(error.what()) == mark.text() + ": " + error.message());
    }
    return 0;
}
