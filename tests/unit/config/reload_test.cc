// check_reloadable: everything may change on reload but storage.eviction, and that refusal
// points at the setting in the new file (or where the storage section starts).
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

TEST(Reloadable, WorkersAdminAndLogMayChangeToo) {
    EXPECT_EQ(refusal(replaced("workers: 2", "workers: 3")), "");
    EXPECT_EQ(refusal(replaced("workers: 2", "workers: auto")), "");
    EXPECT_EQ(refusal(replaced("127.0.0.1:9190", "127.0.0.1:9191")), "");
    EXPECT_EQ(refusal(replaced("127.0.0.1:9190", "127.0.0.1:9190\n  token_file: /t")), "");
    EXPECT_EQ(refusal(std::string(kRunning) + "log:\n  access: off\n"), "");
    EXPECT_EQ(refusal(std::string(kRunning) + "log:\n  access: /x.log\n  format: json\n"), "");
}

TEST(Reloadable, OnlyTheEvictionSwitchIsRefusedAtTheSetting) {
    // The store's queues are built for one policy (issue 22).
    EXPECT_EQ(refusal(replaced("memory: 64MiB", "memory: 64MiB\n  eviction: clock")),
              "t.yaml:8:13: `storage.eviction` cannot change on reload (restart lacquerd to apply "
              "it); the running config stays");
    EXPECT_EQ(refusal(replaced("memory: 64MiB", "memory: 64MiB\n  eviction: s3fifo")),
              "t.yaml:8:13: `storage.eviction` cannot change on reload (restart lacquerd to apply "
              "it); the running config stays");
    const std::string tinylfu = replaced("memory: 64MiB", "memory: 64MiB\n  eviction: tinylfu");
    EXPECT_NO_THROW(check_reloadable(load(tinylfu), load(tinylfu)));
    // Back to the default by removing the line: refused where the storage section starts.
    const std::string clock = replaced("memory: 64MiB", "memory: 64MiB\n  eviction: clock");
    try {
        check_reloadable(load(clock), load(kRunning));
        ADD_FAILURE() << "the switch back to tinylfu was not refused";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()).substr(0, 30), "t.yaml:7:3: `storage.eviction`");
    }
}

} // namespace
} // namespace lacquer::config
