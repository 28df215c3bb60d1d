// check_reloadable: routes, origins, variants, limits, storage and listen may change on reload;
// workers, admin and log may not, and the refusal points at the setting in the new file.
#include "lacquer/config/load.h"
#include "lacquer/config/reload.h"

#include <gtest/gtest.h>
#include <string>

namespace lacquer::config {
namespace {

constexpr std::string_view kRunning = R"(workers: 2
listen:
  - address: 127.0.0.1:8080
admin:
  address: 127.0.0.1:9190
storage:
  memory: 64MiB
  max_object_size: 1MiB
origins:
  api:
    servers:
      - address: 127.0.0.1:9000
routes:
  - name: a
    match: { path_prefix: /a/ }
    cache: { key_params: all }
)";

Config load(std::string_view yaml) {
    return load_config_string(yaml, "t.yaml");
}

std::string replaced(std::string_view from, std::string_view to) {
    std::string out(kRunning);
    out.replace(out.find(from), from.size(), to);
    return out;
}

// The refusal's "FILE:LINE:COL: ..." text, or "" when the change is allowed.
std::string refusal(const std::string& next_yaml) {
    try {
        check_reloadable(load(kRunning), load(next_yaml));
    } catch (const ConfigError& e) {
        return e.what();
    }
    return {};
}

TEST(Reloadable, RoutesOriginsLimitsStorageAndListenMayChange) {
    EXPECT_EQ(refusal(std::string(kRunning)), "");
    EXPECT_EQ(refusal(replaced("path_prefix: /a/", "path_prefix: /b/")), "");
    EXPECT_EQ(refusal(replaced("127.0.0.1:9000", "127.0.0.1:9001")), "");
    EXPECT_EQ(refusal(replaced("max_object_size: 1MiB", "max_object_size: 2MiB")), "");
    EXPECT_EQ(refusal(std::string(kRunning) + "limits:\n  max_connections: 10\n"), "");
    EXPECT_EQ(refusal(replaced("memory: 64MiB", "memory: 32MiB")), "");
    EXPECT_EQ(refusal(replaced("127.0.0.1:8080", "127.0.0.1:8081")), "");
}

TEST(Reloadable, WhatOnlyARestartAppliesIsRefusedAtTheSetting) {
    EXPECT_EQ(refusal(replaced("workers: 2", "workers: 3")),
              "t.yaml:1:10: `workers` cannot change on reload (restart lacquerd to apply it); "
              "the running config stays");
    EXPECT_EQ(refusal(replaced("127.0.0.1:9190", "127.0.0.1:9191")).substr(0, 19),
              "t.yaml:5:3: `admin`");
    EXPECT_EQ(refusal(std::string(kRunning) + "log:\n  access: off\n").substr(0, 17),
              "t.yaml:1:1: `log`");
    // The store's queues are built for one policy (issue 22).
    EXPECT_EQ(refusal(replaced("memory: 64MiB", "memory: 64MiB\n  eviction: clock")).substr(0, 31),
              "t.yaml:8:13: `storage.eviction`");
}

} // namespace
} // namespace lacquer::config
