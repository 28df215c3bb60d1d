// NameBook: every address of a server name becomes a server; names are re-resolved when due; a
// name that stops resolving keeps its last addresses (and says so once).

#include "lacquer/config/load.h"
#include "lacquer/origin/name_book.h"
#include "lacquer/origin/origin_pool.h"

#include <gtest/gtest.h>
#include <map>
#include <sstream>

namespace lacquer::origin {
namespace {

using namespace std::chrono_literals;

net::SocketAddress at(const std::string& ip, std::uint16_t port) {
    std::string error;
    std::optional<net::SocketAddress> a = net::resolve(ip, port, error);
    EXPECT_TRUE(a.has_value()) << error;
    return a.value_or(net::SocketAddress{});
}

// A resolver whose answers the test sets: name -> IP literals; a missing name does not resolve.
struct FakeDns {
    std::map<std::string, std::vector<std::string>> answers;
    int lookups = 0;
    NameBook::Resolver resolver() {
        return [this](const std::string& host, std::uint16_t port, std::string& error) {
            ++lookups;
            std::vector<net::SocketAddress> out;
            if (net::is_numeric_host(host)) {
                out.push_back(at(host, port));
                return out;
            }
            auto it = answers.find(host);
            if (it == answers.end()) {
                error = "Name or service not known";
                return out;
            }
            for (const std::string& ip : it->second) {
                out.push_back(at(ip, port));
            }
            return out;
        };
    }
};

std::vector<std::string> texts(const std::vector<net::SocketAddress>& addresses) {
    std::vector<std::string> out;
    for (const net::SocketAddress& a : addresses) {
        out.push_back(a.text());
    }
    return out;
}

TEST(NameBook, ANameIsResolvedOnceAndTakenFromTheBookAfterwards) {
    FakeDns dns;
    dns.answers["api.internal"] = {"10.0.0.1", "10.0.0.2"};
    NameBook book(dns.resolver());
    std::string error;
    EXPECT_EQ(texts(book.addresses({"api.internal", 9000}, 30s, error)),
              (std::vector<std::string>{"10.0.0.1:9000", "10.0.0.2:9000"}));
    EXPECT_EQ(texts(book.addresses({"api.internal", 9000}, 30s, error)).size(), 2u);
    EXPECT_EQ(dns.lookups, 1);
    EXPECT_TRUE(book.addresses({"gone.internal", 9000}, 30s, error).empty());
    EXPECT_EQ(error, "Name or service not known");
}

TEST(NameBook, RefreshReResolvesDueNamesAndReportsAChange) {
    FakeDns dns;
    dns.answers["api.internal"] = {"10.0.0.1"};
    NameBook book(dns.resolver());
    std::string error;
    ASSERT_EQ(book.addresses({"api.internal", 9000}, 30s, error).size(), 1u);
    const core::Instant t0 = core::Instant{} + 1h;
    std::ostringstream log;
    EXPECT_FALSE(book.refresh(t0, log)); // schedules it: due at t0 + 30 s
    ASSERT_TRUE(book.next_due().has_value());
    EXPECT_EQ(*book.next_due(), t0 + 30s);
    dns.answers["api.internal"] = {"10.0.0.1", "10.0.0.3"};
    EXPECT_FALSE(book.refresh(t0 + 29s, log)); // not due yet
    EXPECT_EQ(dns.lookups, 1);
    EXPECT_TRUE(book.refresh(t0 + 30s, log));
    EXPECT_EQ(texts(book.addresses({"api.internal", 9000}, 30s, error)),
              (std::vector<std::string>{"10.0.0.1:9000", "10.0.0.3:9000"}));
    EXPECT_NE(log.str().find("api.internal:9000 now resolves to 10.0.0.1:9000, 10.0.0.3:9000"),
              std::string::npos)
        << log.str();
    EXPECT_FALSE(book.refresh(t0 + 60s, log)); // same answer: no change
    EXPECT_EQ(dns.lookups, 3);
}

TEST(NameBook, ANameThatStopsResolvingKeepsItsLastAddressesAndLogsOnce) {
    FakeDns dns;
    dns.answers["api.internal"] = {"10.0.0.1"};
    NameBook book(dns.resolver());
    std::string error;
    ASSERT_EQ(book.addresses({"api.internal", 9000}, 10s, error).size(), 1u);
    const core::Instant t0 = core::Instant{} + 1h;
    std::ostringstream log;
    book.refresh(t0, log);
    dns.answers.erase("api.internal");
    EXPECT_FALSE(book.refresh(t0 + 10s, log));
    EXPECT_FALSE(book.refresh(t0 + 20s, log));
    EXPECT_EQ(texts(book.addresses({"api.internal", 9000}, 10s, error)),
              std::vector<std::string>{"10.0.0.1:9000"});
    const std::string text = log.str();
    const std::size_t first = text.find("no longer resolves");
    ASSERT_NE(first, std::string::npos) << text;
    EXPECT_EQ(text.find("no longer resolves", first + 1), std::string::npos) << text;
    dns.answers["api.internal"] = {"10.0.0.1"};
    EXPECT_FALSE(book.refresh(t0 + 30s, log)); // back, same address
    EXPECT_NE(log.str().find("api.internal:9000 resolves again"), std::string::npos);
}

TEST(NameBook, LiteralsAndZeroIntervalsAreNeverWatched) {
    FakeDns dns;
    dns.answers["static.internal"] = {"10.0.0.9"};
    NameBook book(dns.resolver());
    std::string error;
    EXPECT_EQ(texts(book.addresses({"127.0.0.1", 80}, 30s, error)),
              std::vector<std::string>{"127.0.0.1:80"});
    EXPECT_EQ(book.addresses({"static.internal", 80}, 0s, error).size(), 1u);
    std::ostringstream log;
    EXPECT_FALSE(book.refresh(core::Instant{} + 1h, log));
    EXPECT_FALSE(book.next_due().has_value());
}

TEST(NameBook, TheShortestIntervalAskedForANameWins) {
    FakeDns dns;
    dns.answers["api.internal"] = {"10.0.0.1"};
    NameBook book(dns.resolver());
    std::string error;
    book.addresses({"api.internal", 9000}, 60s, error);
    book.addresses({"api.internal", 9000}, 5s, error);
    book.addresses({"api.internal", 9000}, 0s, error);
    std::ostringstream log;
    const core::Instant t0 = core::Instant{} + 1h;
    book.refresh(t0, log);
    EXPECT_EQ(*book.next_due(), t0 + 5s);
}

// build_pool_specs: each address of a name is a server of its own, named by both.
TEST(NameBook, EveryAddressOfANameBecomesAServer) {
    FakeDns dns;
    dns.answers["api.internal"] = {"10.0.0.1", "10.0.0.2"};
    dns.answers["one.internal"] = {"10.0.0.7"};
    NameBook book(dns.resolver());
    config::Config c;
    config::OriginPoolConfig pool;
    pool.name = "api";
    pool.servers.push_back({{"api.internal", 9000}, 3, {}});
    pool.servers.push_back({{"one.internal", 9001}, 1, {}});
    c.origins.push_back(pool);
    const std::vector<OriginPoolSpec> specs = build_pool_specs(c, nullptr, nullptr, &book);
    ASSERT_EQ(specs[0].servers.size(), 3u);
    EXPECT_EQ(specs[0].servers[0].name, "api.internal:9000@10.0.0.1:9000");
    EXPECT_EQ(specs[0].servers[0].weight, 3u);
    EXPECT_EQ(specs[0].servers[1].name, "api.internal:9000@10.0.0.2:9000");
    EXPECT_EQ(specs[0].servers[1].address.text(), "10.0.0.2:9000");
    EXPECT_EQ(specs[0].servers[2].name, "one.internal:9001"); // one address: the name alone

    c.origins[0].servers.push_back({{"missing.internal", 1}, 1, {}});
    EXPECT_THROW(build_pool_specs(c, nullptr, nullptr, &book), config::ConfigError);
}

} // namespace
} // namespace lacquer::origin
