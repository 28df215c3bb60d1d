// storage.snapshot and storage.snapshot_every: what is accepted, and each refusal with its
// FILE:LINE:COL. Lines of `storage:` start at 7 (after the base).
#include "lacquer/config/load.h"

#include <cstdlib>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::config {
namespace {

constexpr std::string_view kBase = R"(listen:
  - address: 127.0.0.1:8080
origins:
  api:
    servers:
      - address: 127.0.0.1:9000
)";

Config load(std::string_view storage) {
    return load_config_string(std::string(kBase) + std::string(storage), "t.yaml");
}

std::string error_of(std::string_view storage) {
    try {
        (void)load(storage);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "accepted";
}

TEST(StorageSnapshotConfig, IsOffByDefault) {
    const Config config = load("");
    EXPECT_TRUE(config.storage.snapshot.empty());
    EXPECT_EQ(config.storage.snapshot_every, Duration(0));
}

TEST(StorageSnapshotConfig, ReadsThePathAndThePeriod) {
    const Config config =
        load("storage:\n  snapshot: /var/lib/lacquer/cache.snap\n  snapshot_every: 5m\n");
    EXPECT_EQ(config.storage.snapshot, "/var/lib/lacquer/cache.snap");
    EXPECT_EQ(config.storage.snapshot_every, std::chrono::minutes(5));
    EXPECT_EQ(config.storage.snapshot_mark.line, 8);
}

TEST(StorageSnapshotConfig, RefusesARelativePath) {
    EXPECT_EQ(error_of("storage:\n  snapshot: cache.snap\n"),
              "t.yaml:8:13: storage.snapshot: expected an absolute file path, got \"cache.snap\"");
}

TEST(StorageSnapshotConfig, RefusesADirectory) {
    EXPECT_EQ(error_of("storage:\n  snapshot: /var/lib/lacquer/\n"),
              "t.yaml:8:13: storage.snapshot: expected an absolute file path, got "
              "\"/var/lib/lacquer/\"");
}

TEST(StorageSnapshotConfig, RefusesAPeriodWithoutAFile) {
    EXPECT_EQ(error_of("storage:\n  snapshot_every: 1m\n"),
              "t.yaml:8:19: storage.snapshot_every: needs storage.snapshot (the file to write)");
}

TEST(StorageSnapshotConfig, RefusesAPeriodUnderASecond) {
    EXPECT_EQ(error_of("storage:\n  snapshot: /s\n  snapshot_every: 500ms\n"),
              "t.yaml:9:19: storage.snapshot_every: must be at least 1s, got \"500ms\"");
}

TEST(StorageSnapshotConfig, RefusesAnUnknownKey) {
    EXPECT_EQ(error_of("storage:\n  snapshots: /s\n").substr(0, 12), "t.yaml:8:3: ");
}

TEST(StorageSnapshotConfig, TheFullExampleSetsBoth) {
    const char* env = std::getenv("LACQUER_SOURCE_DIR");
    const std::string dir = env != nullptr ? env : LACQUER_SOURCE_DIR_DEFAULT;
    const Config config = load_config_file(dir + "/vcl-like-config/examples/full.yaml");
    EXPECT_EQ(config.storage.snapshot, "/var/lib/lacquer/cache.snap");
    EXPECT_EQ(config.storage.snapshot_every, std::chrono::minutes(10));
}

} // namespace
} // namespace lacquer::config
