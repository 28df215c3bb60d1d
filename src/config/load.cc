// Entry points: read the file, parse the YAML, walk the schema. Every failure, whether from
// the file system, the YAML parser or the schema, leaves here as a ConfigError; a Config is
// returned only when it is whole and valid.
#include "lacquer/config/load.h"

#include "field_syntax.h"
#include "lacquer/core/errno_text.h"
#include "sections.h"
#include "yaml_reader.h"

#include <cerrno>
#include <cstdio>
#include <memory>

namespace lacquer::config {

namespace {

using detail::YamlMap;
using detail::YamlValue;

// Far above any real config; keeps a mistaken path (a log, a disk image) from being slurped.
constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;

std::string read_file(const std::string& path) {
    const SourceMark start{path, 1, 1};
    const auto fail = [&start](const std::string& why) {
        throw ConfigError(start, "cannot read file: " + why);
    };
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                               &std::fclose);
    if (!file) {
        fail(core::errno_text(errno));
    }
    std::string text;
    char buffer[64 * 1024];
    for (;;) {
        const std::size_t got = std::fread(buffer, 1, sizeof buffer, file.get());
        text.append(buffer, got);
        if (text.size() > kMaxFileBytes) {
            fail("larger than " + std::to_string(kMaxFileBytes / (1024 * 1024)) + " MiB");
        }
        if (got < sizeof buffer) {
            if (std::ferror(file.get()) != 0) {
                fail(core::errno_text(errno)); // e.g. EISDIR: fopen() accepts a directory
            }
            return text;
        }
    }
}

Config read_root(const YAML::Node& root, const std::string& name) {
    Config config;
    config.file = name;
    const YamlValue top(root, detail::to_source_mark(root.Mark(), name), "");
    const YamlMap map = YamlMap::with_keys(top, {"workers", "listen", "admin", "limits", "storage",
                                                 "log", "origins", "variants", "routes",
                                                 "default_route", "merge_slashes"});
    config.workers_mark = map.mark();
    config.routes_mark = map.mark();
    if (const std::optional<YamlValue> workers = map.find("workers")) {
        config.workers_mark = workers->mark();
        config.workers = detail::read_workers(*workers);
    }
    config.listen = detail::read_listen(map.require("listen"));
    if (const std::optional<YamlValue> merge = map.find("merge_slashes")) {
        config.merge_slashes = merge->as_bool();
    }
    config.admin = detail::read_admin(map.find("admin"), config.listen);
    if (const std::optional<YamlValue> limits = map.find("limits")) {
        config.limits = detail::read_limits(*limits);
    }
    config.storage.mark = map.mark();
    if (const std::optional<YamlValue> storage = map.find("storage")) {
        config.storage = detail::read_storage(*storage);
    }
    if (const std::optional<YamlValue> log = map.find("log")) {
        config.log = detail::read_log(*log);
    }
    config.origins = detail::read_origins(map.require("origins"));
    if (const std::optional<YamlValue> variants = map.find("variants")) {
        config.variants = detail::read_variants(*variants);
    }
    if (const std::optional<YamlValue> routes = map.find("routes")) {
        config.routes_mark = routes->mark();
        config.routes = detail::read_routes(*routes, config);
    }
    config.default_route =
        detail::read_default_route(map.find("default_route"), map.mark(), config);
    return config;
}

} // namespace

Config load_config_string(std::string_view yaml, const std::string& name) {
    const YAML::Node root = detail::parse_one_document(yaml, name);
    if (!root.IsDefined() || root.IsNull()) {
        throw ConfigError(SourceMark{name, 1, 1},
                          "the config is empty: `listen` and `origins` are required");
    }
    try {
        return read_root(root, name);
    } catch (const YAML::Exception& error) {
        // Not expected once parsed, but whatever yaml-cpp raises must still be a ConfigError.
        throw ConfigError(detail::to_source_mark(error.mark, name),
                          "invalid YAML: " + detail::escaped(error.msg));
    }
}

Config load_config_file(const std::string& path) {
    return load_config_string(read_file(path), path);
}

} // namespace lacquer::config
