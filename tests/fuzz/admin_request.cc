// libFuzzer target: request heads -> HeadParser -> AdminServer::answer, the admin API's whole
// decision (the listener only parses and writes). Beyond "no crash":
// - the status is one the API documents (200, 400, 401, 404, 405, 503), with a body and a type;
// - with a token configured, nothing on /purge, /ban or /stats runs without exactly
//   `Authorization: Bearer <token>`: the answer is 401;
// - at most one cache action per request, only for POST (purge, ban) or GET/HEAD (stats), and
//   only on the path that names it; purge URLs and prefixes start with '/'; a 200 purge or ban
//   reports the count the action returned;
// - answering is deterministic: the same head gives the same answer.
//
// Input: byte 0 = flags (bit 0: a token is configured, bit 1: ready, bit 2: origin up); the rest
// is a request head (and whatever follows it, ignored).
#include "lacquer/admin/admin_server.h"
#include "lacquer/core/assert.h"
#include "lacquer/http/head_parser.h"
#include "lacquer/metrics/registry.h"
#include "lacquer/net/address.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace lacquer;

constexpr std::string_view kToken = "s3cret";

struct Actions {
    int calls = 0;
    std::string last; // which action ran
    std::string arg;  // its main argument
    std::size_t result = 0;
};

struct Fixture {
    metrics::Registry registry;
    metrics::Shard shard{64};
    std::atomic<bool> ready{false};
    bool origin_up = false;
    Actions actions;
    std::unique_ptr<admin::AdminServer> open;    // no token
    std::unique_ptr<admin::AdminServer> guarded; // token kToken

    Fixture() {
        const std::uint32_t slot = registry.counter("lacquer_fuzz_total", "Fuzzed requests.");
        shard.add(slot, 3);
        open = std::make_unique<admin::AdminServer>(address(), state(""));
        guarded = std::make_unique<admin::AdminServer>(address(), state(kToken));
    }

    static net::SocketAddress address() {
        std::string error;
        const std::optional<net::SocketAddress> a = net::resolve("127.0.0.1", 0, error);
        LACQUER_ASSERT(a.has_value());
        return *a;
    }

    std::size_t act(std::string_view name, std::string_view arg) {
        ++actions.calls;
        actions.last = name;
        actions.arg = arg;
        actions.result = arg.size() % 7;
        return actions.result;
    }

    admin::AdminState state(std::string_view token) {
        admin::AdminState s;
        s.registry = &registry;
        s.shards = {&shard};
        s.ready = &ready;
        s.origin_up = [this] { return origin_up; };
        s.token = token;
        s.cache.purge_url = [this](std::string_view url, std::string_view, bool) {
            return act("purge_url", url);
        };
        s.cache.purge_prefix = [this](std::string_view p, bool) { return act("purge_prefix", p); };
        s.cache.purge_tag = [this](std::string_view t, bool) { return act("purge_tag", t); };
        s.cache.ban = [this](std::string_view re,
                             std::string& error) -> std::optional<std::size_t> {
            if (re.find('(') != std::string_view::npos) {
                ++actions.calls;
                actions.last = "ban";
                error = "missing )"; // stands for "does not compile"
                return std::nullopt;
            }
            return act("ban", re);
        };
        s.cache.purge_all = [this] { return act("purge_all", ""); };
        s.cache.stats_json = [this] {
            act("stats", "");
            return std::string("{\"objects\": 0}\n");
        };
        return s;
    }
};

Fixture& fixture() {
    static Fixture* f = new Fixture(); // lives for the process; binds two loopback ports once
    return *f;
}

bool is_cache_api(std::string_view path) {
    return path.starts_with("/purge/") || path == "/ban" || path == "/stats";
}

// What needs the token besides the cache API: route usage, the transaction log, inspection,
// reload and the running config.
bool is_token_api(std::string_view path) {
    return is_cache_api(path) || path == "/routes" || path == "/log" || path == "/debug/object" ||
           path == "/reload" || path == "/config";
}

// `text` without the lines of the process_* series (their samples, HELP and TYPE).
std::string without_process_series(std::string_view text) {
    std::string out;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        if (!line.starts_with("process_") && !line.starts_with("# HELP process_") &&
            !line.starts_with("# TYPE process_")) {
            out.append(line).push_back('\n');
        }
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    Fixture& f = fixture();
    const bool with_token = (data[0] & 1) != 0;
    f.ready = (data[0] & 2) != 0;
    f.origin_up = (data[0] & 4) != 0;
    http::HeadParser parser(http::HeadKind::Request, http::HeadLimits{});
    const auto fed = parser.feed(reinterpret_cast<const char*>(data + 1), size - 1);
    if (fed.status != http::HeadParser::Status::Complete) {
        return 0;
    }
    const http::RequestHead& request = parser.request();
    const admin::AdminServer& server = with_token ? *f.guarded : *f.open;

    f.actions = Actions();
    const admin::AdminServer::Answer a = server.answer(request);
    const Actions acted = f.actions;
    const int s = a.status;
    LACQUER_ASSERT(s == 200 || s == 400 || s == 401 || s == 404 || s == 405 || s == 503);
    LACQUER_ASSERT(!a.body.empty() && !a.content_type.empty());
    LACQUER_ASSERT(acted.calls <= 1);

    const std::string_view target = request.target;
    const std::string_view path = target.substr(0, target.find('?'));
    const http::Header* auth = request.headers.find("Authorization");
    const bool authorised = !with_token || (auth != nullptr && auth->value == "Bearer s3cret");
    if (is_token_api(path) && !authorised) {
        LACQUER_ASSERT(s == 401 && acted.calls == 0);
    }
    if (acted.calls == 1) {
        LACQUER_ASSERT(authorised);
        if (acted.last == "stats") {
            LACQUER_ASSERT(path == "/stats" && (request.is_get() || request.is_head()));
        } else {
            LACQUER_ASSERT(request.method == "POST");
            LACQUER_ASSERT(path == (acted.last == "ban"         ? "/ban"
                                    : acted.last == "purge_url" ? "/purge/url"
                                    : acted.last == "purge_all" ? "/purge/all"
                                    : acted.last == "purge_tag" ? "/purge/tag"
                                                                : "/purge/prefix"));
            if (acted.last == "purge_url" || acted.last == "purge_prefix") {
                LACQUER_ASSERT(acted.arg.starts_with('/'));
            }
            if (s == 200) {
                const std::string key = acted.last == "ban" ? "banned" : "purged";
                LACQUER_ASSERT(a.body ==
                               "{\"" + key + "\": " + std::to_string(acted.result) + "}\n");
            }
        }
    } else if (s == 200) {
        // Read-only answers; /routes is empty without a registry of route usage.
        LACQUER_ASSERT(path == "/metrics" || path == "/healthz" || path == "/readyz" ||
                       path == "/routes");
    }
    if (path == "/readyz" && s == 200) {
        LACQUER_ASSERT(f.ready && f.origin_up);
    }

    f.actions = Actions();
    const admin::AdminServer::Answer again = server.answer(request);
    LACQUER_ASSERT(again.status == a.status && again.content_type == a.content_type);
    // The same answer again, but for the process_* series of /metrics (memory, CPU seconds and
    // open files move between two scrapes).
    LACQUER_ASSERT(without_process_series(again.body) == without_process_series(a.body));
    return 0;
}
