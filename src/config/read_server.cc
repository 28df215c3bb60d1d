// The process-level sections: workers, listen, admin, limits, storage and log.
#include "field_syntax.h"
#include "lacquer/config/load.h"
#include "lacquer/config/units.h"
#include "sections.h"

#include <limits>
#include <unordered_map>

namespace lacquer::config::detail {

namespace {

constexpr unsigned kMaxWorkers = 256;

HostPort read_address(const YamlValue& value, std::uint16_t min_port) {
    const std::string text = value.as_string();
    std::string problem;
    std::optional<HostPort> address = parse_host_port(text, min_port, problem);
    if (!address) {
        value.fail(problem + ", got " + quoted(text));
    }
    return *address;
}

// Two sockets that cannot both be bound, or that would silently share traffic: same port and
// the same host, or a wildcard of the other's family. Port 0 never conflicts (the kernel picks).
bool conflicts(const HostPort& a, const HostPort& b) {
    if (a.port == 0 || a.port != b.port) {
        return false;
    }
    const bool a_v6 = a.host.find(':') != std::string::npos;
    const bool b_v6 = b.host.find(':') != std::string::npos;
    return a.host == b.host || a.host == "::" || b.host == "::" || (a.host == "0.0.0.0" && !b_v6) ||
           (b.host == "0.0.0.0" && !a_v6);
}

std::string positional(const SourceMark& mark) {
    return "line " + std::to_string(mark.line);
}

} // namespace

unsigned read_workers(const YamlValue& value) {
    if (value.is_scalar() && value.node().Scalar() == "auto") {
        return 0;
    }
    const std::optional<std::uint64_t> count = value.uint_value();
    if (!count || *count < 1 || *count > kMaxWorkers) {
        value.fail("expected auto or an integer from 1 to " + std::to_string(kMaxWorkers) +
                   ", got " + value.describe());
    }
    return static_cast<unsigned>(*count);
}

std::vector<ListenerConfig> read_listen(const YamlValue& value) {
    std::vector<ListenerConfig> listen;
    std::unordered_map<std::uint16_t, std::vector<std::size_t>> by_port; // only these can clash
    const std::vector<YamlValue> items =
        value.is_null() ? std::vector<YamlValue>{} : value.as_list();
    for (const YamlValue& item : items) {
        const YamlMap map = YamlMap::with_keys(
            item, {"address", "tls", "proxy_protocol", "proxy_from", "mode", "owner", "balance"});
        ListenerConfig listener;
        listener.mark = item.mark();
        const YamlValue address = map.require("address");
        const std::string text = address.as_string();
        if (text.rfind("unix:", 0) == 0) {
            listener.unix_path = text.substr(5);
            // sun_path holds 108 bytes with its NUL.
            if (listener.unix_path.empty() || listener.unix_path.front() != '/' ||
                listener.unix_path.size() > 107) {
                address.fail("expected unix:/absolute/path (at most 107 bytes), got " +
                             quoted(text));
            }
            for (std::size_t i = 0; i < listen.size(); ++i) {
                if (listen[i].unix_path == listener.unix_path) {
                    address.fail(text + " conflicts with listen[" + std::to_string(i) + "] (" +
                                 positional(listen[i].mark) + ")");
                }
            }
        } else {
            listener.address = read_address(address, 0);
            std::vector<std::size_t>& same_port = by_port[listener.address.port];
            for (std::size_t i : same_port) {
                if (conflicts(listener.address, listen[i].address)) {
                    address.fail(listener.address.text() + " conflicts with listen[" +
                                 std::to_string(i) + "] (" + listen[i].address.text() + ", " +
                                 positional(listen[i].mark) + ")");
                }
            }
            same_port.push_back(listen.size());
        }
        read_unix_socket_keys(map, listener);
        if (const std::optional<YamlValue> tls = map.find("tls")) {
            listener.tls = read_listener_tls(*tls);
        }
        if (const std::optional<YamlValue> proxy = map.find("proxy_protocol")) {
            listener.proxy_protocol = proxy->as_bool();
        }
        if (const std::optional<YamlValue> from = map.find("proxy_from")) {
            if (!listener.proxy_protocol) {
                from->fail("proxy_from needs proxy_protocol: true");
            }
            listener.proxy_from = read_address_ranges(*from);
        } else if (listener.proxy_protocol) {
            map.require("proxy_from"); // who may send the header must be said
        }
        if (const std::optional<YamlValue> balance = map.find("balance")) {
            const std::string how = balance->as_string();
            if (how != "exact" && how != "kernel") {
                balance->fail("expected exact or kernel, got " + quoted(how));
            }
            listener.balance_exact = how == "exact";
        }
        listen.push_back(std::move(listener));
    }
    if (listen.empty()) {
        value.fail("at least one listener is required");
    }
    return listen;
}

AdminConfig read_admin(const std::optional<YamlValue>& value,
                       const std::vector<ListenerConfig>& listen) {
    AdminConfig admin;
    std::optional<YamlValue> address;
    if (value) {
        const YamlMap map = YamlMap::with_keys(*value, {"address", "token_file", "purge_from"});
        admin.present = true;
        admin.mark = value->mark();
        if (std::optional<YamlValue> found = map.find("address")) {
            address.emplace(std::move(*found)); // YamlValue cannot be assigned (yaml_reader.h)
            admin.address = read_address(*address, 0);
        }
        if (const std::optional<YamlValue> token = map.find("token_file")) {
            admin.token_file = token->as_string();
            if (admin.token_file.empty()) {
                token->fail("expected a file path (leave the key out for no token), got \"\"");
            }
        }
        if (const std::optional<YamlValue> from = map.find("purge_from")) {
            admin.purge_from = read_address_ranges(*from);
        }
    }
    // Safe by default: the admin API purges and bans, and a scrape shows the traffic. Beyond
    // this machine it needs its token (the default address is loopback: no `address`, no error).
    if (address && admin.token_file.empty() && !is_loopback_host(admin.address.host)) {
        address->fail(admin.address.text() +
                      " is reachable from other machines: set admin.token_file too (or listen on "
                      "127.0.0.1 or [::1])");
    }
    for (std::size_t i = 0; i < listen.size(); ++i) {
        if (!conflicts(admin.address, listen[i].address)) {
            continue;
        }
        if (address) {
            address->fail(admin.address.text() + " conflicts with listen[" + std::to_string(i) +
                          "] (" + listen[i].address.text() + ", " + positional(listen[i].mark) +
                          ")");
        }
        throw ConfigError(listen[i].mark, "listen[" + std::to_string(i) +
                                              "]: " + listen[i].address.text() +
                                              " conflicts with the default admin.address (" +
                                              admin.address.text() + ")");
    }
    return admin;
}

Limits read_limits(const YamlValue& value) {
    const YamlMap map = YamlMap::with_keys(
        value,
        {"max_header_bytes", "max_uri_bytes", "max_body_bytes", "max_connections",
         "client_header_timeout", "client_body_timeout", "client_request_timeout",
         "client_body_buffer", "client_body_temp_dir", "client_idle_timeout", "drain_timeout"});
    Limits limits;
    for (auto [key, field] : {std::pair{"max_header_bytes", &limits.max_header_bytes},
                              std::pair{"max_uri_bytes", &limits.max_uri_bytes},
                              std::pair{"max_body_bytes", &limits.max_body_bytes}}) {
        if (const std::optional<YamlValue> size = map.find(key)) {
            *field = size->as_size(1);
        }
    }
    if (const std::optional<YamlValue> max = map.find("max_connections")) {
        limits.max_connections =
            static_cast<std::uint32_t>(max->as_uint(1, std::numeric_limits<std::uint32_t>::max()));
    }
    for (auto [key, field] : {std::pair{"client_header_timeout", &limits.client_header_timeout},
                              std::pair{"client_body_timeout", &limits.client_body_timeout},
                              std::pair{"client_request_timeout", &limits.client_request_timeout},
                              std::pair{"client_idle_timeout", &limits.client_idle_timeout}}) {
        if (const std::optional<YamlValue> timeout = map.find(key)) {
            *field = timeout->as_duration(Duration(1));
        }
    }
    if (const std::optional<YamlValue> buffer = map.find("client_body_buffer")) {
        // Held per request while its body arrives: more than this is a file's job.
        constexpr std::uint64_t kMaxBuffer = 64 * 1024 * 1024;
        limits.client_body_buffer = buffer->as_size(1);
        if (limits.client_body_buffer > kMaxBuffer) {
            buffer->fail("must be at most 64MiB (larger bodies go to client_body_temp_dir), got " +
                         quoted(buffer->as_string()));
        }
    }
    if (const std::optional<YamlValue> dir = map.find("client_body_temp_dir")) {
        limits.client_body_temp_dir = dir->as_string();
        if (limits.client_body_temp_dir.empty() || limits.client_body_temp_dir.front() != '/') {
            dir->fail("expected an absolute directory path, got " +
                      quoted(limits.client_body_temp_dir));
        }
    }
    if (const std::optional<YamlValue> drain = map.find("drain_timeout")) {
        limits.drain_timeout = drain->as_duration(Duration(0)); // 0s: cut at once
    }
    return limits;
}

StorageConfig read_storage(const YamlValue& value) {
    const YamlMap map = YamlMap::with_keys(
        value, {"memory", "max_object_size", "eviction", "snapshot", "snapshot_every"});
    StorageConfig storage;
    storage.present = true;
    storage.mark = value.mark();
    const std::optional<YamlValue> memory = map.find("memory");
    const std::optional<YamlValue> max_object = map.find("max_object_size");
    if (memory) {
        storage.memory = memory->as_size(1);
    }
    if (max_object) {
        storage.max_object_size = max_object->as_size(1);
    }
    if (const std::optional<YamlValue> eviction = map.find("eviction")) {
        storage.eviction_mark = eviction->mark();
        const std::string policy = eviction->as_string();
        if (policy == "s3fifo") {
            storage.eviction = Eviction::S3Fifo;
        } else if (policy == "clock") {
            storage.eviction = Eviction::Clock;
        } else if (policy == "tinylfu") {
            storage.eviction = Eviction::TinyLfu;
        } else {
            eviction->fail("expected s3fifo, tinylfu or clock, got " + quoted(policy));
        }
    }
    const std::optional<YamlValue> snapshot = map.find("snapshot");
    if (snapshot) {
        storage.snapshot_mark = snapshot->mark();
        storage.snapshot = snapshot->as_string();
        if (storage.snapshot.empty() || storage.snapshot.front() != '/' ||
            storage.snapshot.back() == '/') {
            snapshot->fail("expected an absolute file path, got " + quoted(storage.snapshot));
        }
    }
    if (const std::optional<YamlValue> every = map.find("snapshot_every")) {
        // Each write is a pass over the whole store: minutes make sense, a second is the floor.
        storage.snapshot_every = every->as_duration(std::chrono::seconds(1));
        if (!snapshot) {
            every->fail("needs storage.snapshot (the file to write)");
        }
    }
    // The defaults fit each other, so a misfit always involves a key that was written.
    if (storage.max_object_size > storage.memory) {
        const std::string sizes =
            format_size(storage.max_object_size) + " > " + format_size(storage.memory) + ")";
        if (max_object) {
            max_object->fail("must not exceed storage.memory (" + sizes);
        }
        memory->fail("must be at least max_object_size (" + sizes);
    }
    return storage;
}

} // namespace lacquer::config::detail
