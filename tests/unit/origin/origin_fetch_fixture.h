#pragma once
// What the OriginFetch tests share: an observer that records every call the fetch makes, and a
// fixture with a real worker loop, a LoopbackOrigin, a pool over it (its counters wired) and the
// fetch under test. Timeouts default to long ones; a test shortens the one it is about.

#include "lacquer/metrics/registry.h"
#include "lacquer/origin/origin_fetch.h"
#include "loopback_origin.h"

#include <array>
#include <atomic>
#include <functional>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace lacquer::origin::fetch_testing {

using namespace std::chrono_literals;
using loopback::LoopbackOrigin;
using loopback::run_until;
using loopback::settle;

constexpr core::Millis kLong{5000}; // a timeout that must not be the one that fires
constexpr core::Millis kShort{150}; // the timeout under test
// Well below kLong: a fault that comes from the wrong (long) timer misses this deadline.
constexpr auto kFaultDeadline = 2500ms;

// Every call the fetch makes, in order: "head 200", "body" (consecutive body calls count once:
// their sizes depend on TCP segmentation), "done", "failed Closed after head".
struct RecordingObserver final : FetchObserver {
    std::vector<std::string> calls;
    std::string body;
    int drained = 0;
    std::function<void(OriginFetch&)> on_head = [](OriginFetch&) {};
    std::function<void(OriginFetch&)> on_body = [](OriginFetch&) {};
    // Writes the request body when the fetch asks (a body_follows exchange), each time.
    std::function<void(OriginFetch&)> on_body_wanted = [](OriginFetch&) {};
    int body_wanted = 0;

    void fetch_head(OriginFetch& fetch) override {
        calls.push_back("head " + std::to_string(fetch.response().status));
        on_head(fetch);
    }
    void fetch_body(OriginFetch& fetch, net::Connection& from, std::size_t n) override {
        std::string part(n, '\0');
        EXPECT_EQ(from.copy_input(part.data(), n), n); // the bytes stand at the front
        from.drain(n);
        body += part;
        if (calls.empty() || calls.back() != "body") {
            calls.emplace_back("body");
        }
        on_body(fetch);
    }
    void fetch_done(OriginFetch&) override { calls.emplace_back("done"); }
    void fetch_failed(OriginFetch&, FetchFault fault, bool head_delivered) override {
        calls.push_back("failed " + std::string(fetch_fault_name(fault)) +
                        (head_delivered ? " after head" : " before head"));
    }
    void fetch_upstream_drained(OriginFetch&) override { ++drained; }
    void fetch_body_wanted(OriginFetch& fetch) override {
        ++body_wanted;
        on_body_wanted(fetch);
    }

    bool ended() const {
        return !calls.empty() && (calls.back() == "done" || calls.back().starts_with("failed"));
    }
    void clear() {
        calls.clear();
        body.clear();
    }
};

// Sends what the socket takes now, if anything: for a peer that may already have gone.
inline void poke(int fd, std::string_view bytes) {
    [[maybe_unused]] const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

inline std::string get_head(std::string_view target) {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: origin.test\r\n\r\n";
}

class OriginFetchTest : public ::testing::Test {
protected:
    static constexpr std::size_t kMaxServers = 4;
    OriginFetchTest() {
        spec_.name = "pool";
        spec_.servers.push_back({origin_.address(), "origin.test:80", 1, {}, {"origin.test", 80}});
        spec_.connect_timeout = kLong;
        spec_.first_byte_timeout = kLong;
        spec_.between_bytes_timeout = kLong;
        // Only the stale-connection retry, which `retries` does not bound; the retry tests
        // (origin_fetch_retry_test.cc) set their own rules.
        spec_.retry.retries = 0;
        declare_counters();
    }
    void TearDown() override {
        fetch_.reset();
        settle(worker_); // disposed connections still point at their pool
        pool_.reset();
        settle(worker_);
    }

    OriginPool& pool() {
        if (!pool_) {
            pool_ = std::make_unique<OriginPool>(worker_, spec_, 1);
            pool_->count_into(&counters_, &shard_);
        }
        return *pool_;
    }
    OriginFetch& fetch() {
        if (!fetch_) {
            fetch_ = std::make_unique<OriginFetch>(worker_, observer_, http::HeadLimits{});
        }
        return *fetch_;
    }
    void start_get(std::string_view target = "/a") {
        fetch().start(pool(), get_head(target), "GET", false, 0);
    }
    // Starts a GET and plays the origin up to its answer: accepts, reads the head.
    int exchange(std::string_view target = "/a") {
        start_get(target);
        const int fd = origin_.accept(worker_);
        origin_.read_head(worker_, fd);
        return fd;
    }
    // Turns the loop until the fetch reports its end (done or failed).
    ::testing::AssertionResult wait_end(std::chrono::milliseconds limit = 5s) {
        if (run_until(
                worker_, [&] { return observer_.ended(); }, limit)) {
            return ::testing::AssertionSuccess();
        }
        return ::testing::AssertionFailure()
               << "the fetch did not end within " << limit.count()
               << " ms; calls so far: " << ::testing::PrintToString(observer_.calls);
    }

    std::uint64_t errors(FetchFault fault) const {
        std::uint64_t n = 0; // every server's row and the "none could be used" one
        for (const std::vector<std::uint32_t>& row : counters_.errors) {
            n += shard_.get(row[static_cast<std::size_t>(fault)]);
        }
        return n;
    }
    std::uint64_t durations_observed() const {
        // A histogram's slots: buckets, +Inf, the sum, then the count.
        return shard_.get(counters_.duration[0].first +
                          static_cast<std::uint32_t>(metrics::kLatencyBuckets.size()) + 2);
    }
    // Failed exchanges the server's shared health has seen (passive ejection counts them).
    std::uint64_t failures() { return pool().health().server(0).failures.load(); }
    std::uint64_t retries(RetryReason reason) const {
        return shard_.get(counters_.retries[static_cast<std::size_t>(reason)]);
    }
    std::uint64_t budget_exhausted() const { return shard_.get(counters_.retry_budget_exhausted); }
    std::uint64_t requests_to(std::size_t server) const {
        return shard_.get(counters_.requests[server]);
    }

    net::Worker worker_{0};
    LoopbackOrigin origin_;
    OriginPoolSpec spec_;
    metrics::Registry registry_;
    OriginCounters counters_;
    metrics::Shard shard_{256};
    std::unique_ptr<OriginPool> pool_;
    RecordingObserver observer_;
    std::unique_ptr<OriginFetch> fetch_;

private:
    void declare_counters() {
        counters_.requests.push_back(registry_.counter("requests", "h"));
        std::array<std::uint32_t, 5> classes{};
        for (std::size_t c = 0; c < classes.size(); ++c) {
            classes[c] = registry_.counter("responses", "h", {{"class", std::to_string(c + 1)}});
        }
        counters_.responses.push_back(classes);
        // A row per server a test may add, then "none could be used" (the fetch's row for that
        // is the spec's server count: a label here, no more).
        for (const char* server : {"0", "1", "2", "3", "-"}) {
            std::vector<std::uint32_t> faults;
#define LACQUER_AS_SLOT(name, status)                                                              \
    faults.push_back(registry_.counter("errors", "h", {{"server", server}, {"kind", #name}}));
            LACQUER_FETCH_FAULTS(LACQUER_AS_SLOT)
#undef LACQUER_AS_SLOT
            counters_.errors.push_back(std::move(faults));
        }
        for (std::size_t i = 0; i < kMaxServers; ++i) {
            counters_.duration.push_back(
                registry_.histogram("duration", "h", {{"server", std::to_string(i)}}));
        }
        for (std::size_t i = 1; i < kMaxServers; ++i) { // a test may add servers
            counters_.requests.push_back(
                registry_.counter("requests", "h", {{"server", std::to_string(i)}}));
            counters_.responses.push_back(classes);
        }
        for (std::size_t r = 0; r < kRetryReasonCount; ++r) {
            counters_.retries[r] = registry_.counter("retries", "h", {{"r", std::to_string(r)}});
        }
        counters_.retry_budget_exhausted = registry_.counter("budget", "h");
        counters_.queue_wait = registry_.histogram("queue_wait", "h");
    }
};

} // namespace lacquer::origin::fetch_testing
