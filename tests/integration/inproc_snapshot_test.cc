// The warm restart (storage.snapshot) through two whole servers run in-process one after the
// other, as a stop and a start of lacquerd: what the first stored comes back to the second as
// hits without asking the origin; what expired past its stale windows does not; what is inside
// one comes back stale; a route whose key policy changed loses only its own objects; a damaged
// file is one log line and a cold start. Sockets, workers and the origin are real; the first
// server's clock is moved instead of sleeping.
#include "cache_test_support.h"
#include "lacquer/cache/snapshot.h"
#include "support/child_process.h"
#include "support/http_client.h"
#include "support/in_process_lacquer.h"
#include "support/scripted_origin.h"

#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <optional>
#include <sstream>
#include <string>
#include <unistd.h>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using namespace cache_test;
using ::testing::HasSubstr;

constexpr std::string_view kRoutes = R"(routes:
  - name: long
    match: { path_prefix: /l/ }
    cache: { key_params: [page], ttl: 10m, stale: 0s, stale_if_error: 0s }
  - name: windows
    match: { path_prefix: /s/ }
    cache: { key_params: all, ttl: 60s, stale: 10m, stale_if_error: 15m }
  - name: bounded
    match: { path_prefix: /b/ }
    cache: { key_params: all, ttl: 60s, stale: 1s, stale_if_error: 2s }
  - name: if-error
    match: { path_prefix: /e/ }
    cache: { key_params: all, ttl: 60s, stale: 0s, stale_if_error: 10m }
)";

// Requests name one host: the key holds the Host, and each server listens on a port of its own.
TestConfig with_snapshot(const ScriptedOrigin& origin, const std::string& path,
                         std::string_view routes = kRoutes) {
    return caching_config(origin, routes).workers(2).storage("snapshot", path);
}

// Lines of `text` that mention the snapshot.
std::vector<std::string> snapshot_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.find("cache snapshot") != std::string::npos) {
            lines.push_back(line);
        }
    }
    return lines;
}

TEST(WarmRestart, ObjectsComeBackAsHitsAndTheOriginIsNotAsked) {
    TempDir dir("lacquer-snapshot");
    const std::string path = (dir.path() / "cache.snap").string();
    ScriptedOrigin origin;
    origin.on_get("/l/a?page=1", numbered("a"));
    origin.on_get("/l/b", numbered("b"));
    {
        InProcessLacquer first(with_snapshot(origin, path));
        ASSERT_TRUE(first.started());
        ASSERT_EQ(first.get("/l/a?page=1", kApiHost).header("Cache-Status"), kStored);
        ASSERT_EQ(first.get("/l/b", kApiHost).header("Cache-Status"), kStored);
        first.advance(30s);
    } // stop: the snapshot is written
    ASSERT_EQ(::access(path.c_str(), F_OK), 0) << "no snapshot at " << path;
    const std::size_t asked = origin.requests().size();

    ::testing::internal::CaptureStderr();
    InProcessLacquer second(with_snapshot(origin, path));
    const std::vector<std::string> lines = snapshot_lines(::testing::internal::GetCapturedStderr());
    ASSERT_TRUE(second.started());
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_THAT(lines[0], HasSubstr("loaded 2 objects"));

    const Response a = second.get("/l/a?page=1", kApiHost);
    EXPECT_EQ(a.body, "a #1");
    EXPECT_EQ(a.header("Cache-Status"), kHit);
    EXPECT_GE(age_of(a), 30); // the age it had, not zero
    const Response b = second.get("/l/b", kApiHost);
    EXPECT_EQ(b.body, "b #1");
    EXPECT_EQ(b.header("Cache-Status"), kHit);
    EXPECT_EQ(origin.requests().size(), asked);
}

TEST(WarmRestart, ExpiredObjectsStayOutAndStaleOnesComeBackStale) {
    TempDir dir("lacquer-snapshot");
    const std::string path = (dir.path() / "cache.snap").string();
    ScriptedOrigin origin;
    origin.on_get("/s/x", numbered("s", {{"Cache-Control", "max-age=60"}}));
    origin.on_get("/b/x", numbered("b", {{"Cache-Control", "max-age=60"}}));
    {
        InProcessLacquer first(with_snapshot(origin, path));
        ASSERT_TRUE(first.started());
        ASSERT_EQ(first.get("/s/x", kApiHost).header("Cache-Status"), kStored);
        ASSERT_EQ(first.get("/b/x", kApiHost).header("Cache-Status"), kStored);
        // 90 s: /s/x is inside its 10 min stale window, /b/x past ttl + max(1 s, 2 s).
        first.advance(90s);
    }
    ::testing::internal::CaptureStderr();
    InProcessLacquer second(with_snapshot(origin, path));
    const std::vector<std::string> lines = snapshot_lines(::testing::internal::GetCapturedStderr());
    ASSERT_TRUE(second.started());
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_THAT(lines[0], HasSubstr("loaded 1 objects"));
    EXPECT_THAT(lines[0], HasSubstr("dropped 1 expired"));

    const Response stale = second.get("/s/x", kApiHost);
    EXPECT_EQ(stale.body, "s #1");
    EXPECT_THAT(stale.header("Cache-Status"), HasSubstr("fwd=stale"));
    const Response past = second.get("/b/x", kApiHost); // never served past its hard bound
    EXPECT_EQ(past.body, "b #2");
    EXPECT_EQ(past.header("Cache-Status"), kStored);
}

TEST(WarmRestart, AnObjectInsideItsStaleIfErrorWindowServesAFailingOrigin) {
    TempDir dir("lacquer-snapshot");
    const std::string path = (dir.path() / "cache.snap").string();
    ScriptedOrigin origin;
    origin.on_get("/e/x", numbered("e", {{"Cache-Control", "max-age=60"}}));
    {
        InProcessLacquer first(with_snapshot(origin, path));
        ASSERT_TRUE(first.started());
        ASSERT_EQ(first.get("/e/x", kApiHost).header("Cache-Status"), kStored);
        first.advance(90s); // expired, inside stale_if_error: 10m only
    }
    origin.on_get("/e/x", numbered("failure", {}, 500));
    InProcessLacquer second(with_snapshot(origin, path));
    ASSERT_TRUE(second.started());
    const Response r = second.get("/e/x", kApiHost);
    EXPECT_EQ(r.body, "e #1");
    EXPECT_EQ(r.header("Cache-Status"), stale_on_error(500));
}

TEST(WarmRestart, AChangedRouteKeyPolicyDropsThatRoutesObjectsOnly) {
    TempDir dir("lacquer-snapshot");
    const std::string path = (dir.path() / "cache.snap").string();
    ScriptedOrigin origin;
    origin.on_get("/l/a?page=1", numbered("l"));
    origin.on_get("/s/a", numbered("s"));
    {
        InProcessLacquer first(with_snapshot(origin, path));
        ASSERT_TRUE(first.started());
        ASSERT_EQ(first.get("/l/a?page=1", kApiHost).header("Cache-Status"), kStored);
        ASSERT_EQ(first.get("/s/a", kApiHost).header("Cache-Status"), kStored);
    }
    std::string changed(kRoutes);
    changed.replace(changed.find("key_params: [page]"), 18, "key_params: [page, size]");
    ::testing::internal::CaptureStderr();
    InProcessLacquer second(with_snapshot(origin, path, changed));
    const std::vector<std::string> lines = snapshot_lines(::testing::internal::GetCapturedStderr());
    ASSERT_TRUE(second.started());
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_THAT(lines[0], HasSubstr("1 of changed route key policies"));

    EXPECT_EQ(second.get("/s/a", kApiHost).header("Cache-Status"), kHit);
    const Response l = second.get("/l/a?page=1", kApiHost);
    EXPECT_EQ(l.body, "l #2");
    EXPECT_EQ(l.header("Cache-Status"), kStored);
}

TEST(WarmRestart, ADamagedSnapshotIsOneLogLineAndAColdStart) {
    TempDir dir("lacquer-snapshot");
    const std::string path = (dir.path() / "cache.snap").string();
    ScriptedOrigin origin;
    origin.on_get("/l/a", numbered("a"));
    {
        InProcessLacquer first(with_snapshot(origin, path));
        ASSERT_TRUE(first.started());
        ASSERT_EQ(first.get("/l/a", kApiHost).header("Cache-Status"), kStored);
    }
    {
        std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(-40, std::ios::end); // inside the last object's bytes
        file.put('#');
    }
    ::testing::internal::CaptureStderr();
    InProcessLacquer second(with_snapshot(origin, path));
    const std::vector<std::string> lines = snapshot_lines(::testing::internal::GetCapturedStderr());
    ASSERT_TRUE(second.started());
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_THAT(lines[0], HasSubstr("ignored (cold start): block checksum mismatch"));
    const Response a = second.get("/l/a", kApiHost);
    EXPECT_EQ(a.body, "a #2");
    EXPECT_EQ(a.header("Cache-Status"), kStored);
}

TEST(WarmRestart, SnapshotEveryWritesWhileRunning) {
    TempDir dir("lacquer-snapshot");
    const std::string path = (dir.path() / "cache.snap").string();
    ScriptedOrigin origin;
    origin.on_get("/l/a", numbered("a"));
    InProcessLacquer proxy(with_snapshot(origin, path).storage("snapshot_every", "1s"));
    ASSERT_TRUE(proxy.started());
    ASSERT_EQ(proxy.get("/l/a", kApiHost).header("Cache-Status"), kStored);
    // The periodic thread writes within about a second (it looks once a second); the file
    // appears whole, by rename, so whatever is there can be read.
    cache::ObjectStore copy(1 << 20);
    const auto loaded_one = [&] {
        return ::access(path.c_str(), F_OK) == 0 &&
               cache::read_snapshot_file(path, copy, proxy.clock(), {}).loaded == 1;
    };
    EXPECT_TRUE(eventually(5s, loaded_one)) << "no periodic snapshot with the object at " << path;
    EXPECT_EQ(proxy.get("/l/a", kApiHost).header("Cache-Status"), kHit);
}

} // namespace
} // namespace lacquer::test
