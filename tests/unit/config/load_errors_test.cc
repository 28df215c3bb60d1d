// Every way a config is refused, each with the exact "FILE:LINE:COL: message" it must give.
// Cases that append to kBase start at line 7. Columns count from 1, as editors show them.
#include "lacquer/config/load.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace lacquer::config {
namespace {

constexpr std::string_view kBase = R"(listen:
  - address: 127.0.0.1:8080
origins:
  api:
    servers:
      - address: 127.0.0.1:9000
)";

// A route list ahead of each route case, so route lines start at 8 ("  - name: r").
std::string with_base(std::string_view extra) {
    return std::string(kBase) + std::string(extra);
}

struct ErrorCase {
    std::string name;
    std::string yaml;
    std::string expected; // the whole what(); for `prefix_only`, how it must begin
    bool prefix_only = false;
};

std::vector<ErrorCase> error_cases() {
    return {
        // --- YAML itself
        {"EmptyText", "", "t.yaml:1:1: the config is empty: `listen` and `origins` are required"},
        {"OnlyComments", "# nothing yet\n\n",
         "t.yaml:1:1: the config is empty: `listen` and `origins` are required"},
        {"SyntaxErrorUnclosedFlowList", with_base("routes: [\n"),
         "t.yaml:8:1: invalid YAML: end of sequence flow not found"},
        {"SyntaxErrorBadIndentation", "listen:\n  - address: a:1\n   bad: 1\n",
         "t.yaml:3:4: invalid YAML: end of sequence not found"},
        {"UndefinedAlias", with_base("workers: *n\n"),
         "t.yaml:7:10: invalid YAML: the referenced anchor is not defined"},
        {"TwoDocuments", with_base("---\nworkers: 2\n"),
         "t.yaml:7:1: only one YAML document is allowed"},
        {"NestedTooDeeply", "a: " + std::string(3000, '[') + std::string(3000, ']') + "\n",
         "t.yaml:1:6004: invalid YAML: nested too deeply"},
        {"LoneComma", ",\n", "t.yaml:1:1: invalid YAML: unexpected \",\""},
        {"CommaAfterMap", with_base(",\n"), "t.yaml:7:1: invalid YAML: end of map not found"},
        {"TopLevelList", "- listen\n", "t.yaml:1:1: expected a map, got a list"},
        {"TopLevelScalar", "hello\n", "t.yaml:1:1: expected a map, got \"hello\""},
        {"DuplicateTopLevelKey", with_base("workers: 2\nworkers: 3\n"),
         "t.yaml:8:1: duplicate key `workers` (first at line 7)"},
        {"DuplicateNestedKey", with_base("limits:\n  max_uri_bytes: 1KiB\n  max_uri_bytes: 2KiB\n"),
         "t.yaml:9:3: duplicate key `limits.max_uri_bytes` (first at line 8)"},
        {"DuplicateQuotedKey", with_base("log:\n  format: json\n  \"format\": json\n"),
         "t.yaml:9:3: duplicate key `log.format` (first at line 8)"},
        {"NonStringKey", with_base("[a]: 1\n"), "t.yaml:7:1: keys must be strings, got a list"},
        {"ControlCharacterInKey", with_base("limits:\n  \"a\\tb\": 1\n"),
         "t.yaml:8:3: limits: keys must not contain control characters"},

        // --- unknown keys, at every level, pointing at the key
        {"UnknownTopLevelKey", with_base("lsiten: []\n"),
         "t.yaml:7:1: unknown key `lsiten` (known keys: workers, listen, admin, limits, storage, "
         "log, origins, variants, routes, default_route, merge_slashes)"},
        {"UnknownLimitsKey", with_base("limits:\n  max_header: 1KiB\n"),
         "t.yaml:8:3: unknown key `limits.max_header` (known keys: max_header_bytes, "
         "max_uri_bytes, max_body_bytes, max_connections, client_header_timeout, "
         "client_body_timeout, client_request_timeout, client_body_buffer, "
         "client_body_temp_dir, client_idle_timeout, drain_timeout)"},
        {"UnknownListenerKey", "listen:\n  - address: 127.0.0.1:8080\n    port: 1\n",
         "t.yaml:3:5: unknown key `listen[0].port` (known keys: address, tls, proxy_protocol, "
         "proxy_from, mode, owner, balance)"},
        {"ProxyProtocolWithoutRanges",
         "listen:\n  - address: 127.0.0.1:8080\n    proxy_protocol: true\n",
         "t.yaml:2:5: listen[0]: missing required key `proxy_from`"},
        {"ProxyFromWithoutProxyProtocol",
         "listen:\n  - address: 127.0.0.1:8080\n    proxy_from: [10.0.0.0/8]\n",
         "t.yaml:3:17: listen[0].proxy_from: proxy_from needs proxy_protocol: true"},
        {"BadProxyRange",
         "listen:\n  - address: 127.0.0.1:8080\n    proxy_protocol: true\n"
         "    proxy_from: [10.0.0.0/33]\n",
         "t.yaml:4:18: listen[0].proxy_from[0]: expected an address or a CIDR range (10.0.0.0/8, "
         "::1/128), got \"10.0.0.0/33\""},
        {"UnixModeOnTcp", "listen:\n  - address: 127.0.0.1:8080\n    mode: \"0660\"\n",
         "t.yaml:3:11: listen[0].mode: mode and owner apply to a unix: listener only"},
        {"RelativeUnixPath", "listen:\n  - address: unix:http.sock\n",
         "t.yaml:2:14: listen[0].address: expected unix:/absolute/path (at most 107 bytes), got "
         "\"unix:http.sock\""},
        {"BadUnixMode", "listen:\n  - address: unix:/run/x.sock\n    mode: \"0999\"\n",
         "t.yaml:3:11: listen[0].mode: expected an octal file mode such as \"0660\", got "
         "\"0999\""},
        {"BadSniName",
         "listen:\n  - address: 127.0.0.1:8443\n    tls:\n      certificate: /c\n"
         "      private_key: /k\n      sni:\n        - names: [\"a.*.example.com\"]\n"
         "          certificate: /c2\n          private_key: /k2\n",
         "t.yaml:7:19: listen[0].tls.sni[0].names[0]: expected a host name or *.suffix, got "
         "\"a.*.example.com\""},
        {"UnknownPoolKey", with_base("    timeout: 1s\n"),
         "t.yaml:7:5: unknown key `origins.api.timeout` (known keys: servers, balance, tls, "
         "connect_timeout, first_byte_timeout, between_bytes_timeout, "
         "max_connections_per_server, health, outlier_detection, slow_start, resolve_every, "
         "retries, retry_budget, retry_on_503, retry_non_idempotent, max_in_flight, max_queue, "
         "queue_timeout)"},
        {"UnknownServerKey", with_base("        wieght: 2\n"),
         "t.yaml:7:9: unknown key `origins.api.servers[0].wieght` (known keys: address, weight)"},
        {"UnknownHealthKey", with_base("    health:\n      every: 2s\n"),
         "t.yaml:8:7: unknown key `origins.api.health.every` (known keys: path, interval, "
         "timeout, unhealthy_after, healthy_after, expect_status)"},
        {"UnknownOriginTlsKey", with_base("    tls: { verfy: true }\n"),
         "t.yaml:7:12: unknown key `origins.api.tls.verfy` (known keys: verify, ca_file, "
         "server_name, certificate, private_key)"},
        {"UnknownVariantKey",
         with_base("variants:\n  lang:\n    sources: [query:l]\n    values: [en]\n    header: X\n"),
         "t.yaml:11:5: unknown key `variants.lang.header` (known keys: sources, values, default, "
         "forward_header)"},
        {"UnknownRouteKey", with_base("routes:\n  - name: r\n    pass: true\n    orgin: api\n"),
         "t.yaml:10:5: unknown key `routes[0].orgin` (known keys: name, match, origin, pass, "
         "cache, underscores_in_headers, retry_non_idempotent)"},
        {"UnknownMatchKey", with_base("routes:\n  - match: { prefix: /a }\n    pass: true\n"),
         "t.yaml:8:14: unknown key `routes[0].match.prefix` (known keys: host, path_prefix, "
         "path_regex, methods)"},
        {"UnknownCacheKey", with_base("routes:\n  - cache: { max_age: 1m }\n"),
         "t.yaml:8:14: unknown key `routes[0].cache.max_age` (known keys: key_params, "
         "unknown_params, variants, forward_headers, ttl, override_ttl, stale, stale_if_error, "
         "hit_for_miss, wait_timeout, tags_header, refuse_5xx, targeted_cache_control, "
         "remove_targeted_cache_control)"},
        {"ZeroWaitTimeout", with_base("routes:\n  - cache: { wait_timeout: 0s }\n"),
         "t.yaml:8:28: routes[0].cache.wait_timeout: expected a duration above zero, got \"0s\""},
        {"MatchInDefaultRoute", with_base("default_route:\n  match: {}\n"),
         "t.yaml:8:3: unknown key `default_route.match` (known keys: origin, pass, cache, "
         "underscores_in_headers, retry_non_idempotent)"},

        // --- required sections
        {"MissingListen", "origins:\n  api:\n    servers: [{ address: a:1 }]\n",
         "t.yaml:1:1: missing required key `listen`"},
        {"MissingOrigins", "workers: 1\nlisten:\n  - address: 127.0.0.1:8080\n",
         "t.yaml:1:1: missing required key `origins`"},
        {"EmptyListen", "listen: []\norigins: { api: { servers: [{ address: a:1 }] } }\n",
         "t.yaml:1:9: listen: at least one listener is required"},
        {"NullListen", "listen:\norigins: { api: { servers: [{ address: a:1 }] } }\n",
         "t.yaml:1:1: listen: at least one listener is required"},
        {"ListenIsAMap", "listen: { address: a:1 }\n",
         "t.yaml:1:9: listen: expected a list, got a map"},
        {"EmptyOrigins", "listen: [{ address: 127.0.0.1:1 }]\norigins: {}\n",
         "t.yaml:2:10: origins: at least one origin pool is required"},
        {"OriginsIsAList", "listen: [{ address: 127.0.0.1:1 }]\norigins: [api]\n",
         "t.yaml:2:10: origins: expected a map, got a list"},
        {"EmptyServers", "listen: [{ address: 127.0.0.1:1 }]\norigins: { api: { servers: [] } }\n",
         "t.yaml:2:28: origins.api.servers: at least one server is required"},
        {"MissingServers",
         "listen: [{ address: 127.0.0.1:1 }]\norigins:\n  api:\n    balance: round_robin\n",
         "t.yaml:4:5: origins.api: missing required key `servers`"},
        {"MissingServerAddress",
         "listen: [{ address: 127.0.0.1:1 }]\norigins: { api: { servers: [{ weight: 2 }] } }\n",
         "t.yaml:2:29: origins.api.servers[0]: missing required key `address`"},
        {"ListenerTlsWithoutKey",
         "listen:\n  - address: 127.0.0.1:8443\n    tls:\n      certificate: /c.pem\n",
         "t.yaml:4:7: listen[0].tls: missing required key `private_key`"},

        // --- wrong types and numbers
        {"MapWhereStringExpected", with_base("log:\n  access: {a: 1}\n"),
         "t.yaml:8:11: log.access: expected a string, got a map"},
        {"ListWhereStringExpected", with_base("admin:\n  token_file: [a]\n"),
         "t.yaml:8:15: admin.token_file: expected a string, got a list"},
        {"EmptyValueWhereStringExpected", with_base("admin:\n  token_file:\n"),
         "t.yaml:8:3: admin.token_file: expected a string, got nothing"},
        {"ControlCharacterInString", with_base("admin:\n  token_file: \"a\\tb\"\n"),
         "t.yaml:8:15: admin.token_file: control characters are not allowed, got \"a\\x09b\""},
        {"LimitsIsAList", with_base("limits: [1]\n"),
         "t.yaml:7:9: limits: expected a map, got a list"},
        {"IntegerNotANumber", with_base("limits:\n  max_connections: abc\n"),
         "t.yaml:8:20: limits.max_connections: expected an integer from 1 to 4294967295, got "
         "\"abc\""},
        {"IntegerNegative", with_base("limits:\n  max_connections: -5\n"),
         "t.yaml:8:20: limits.max_connections: expected an integer from 1 to 4294967295, got "
         "\"-5\""},
        {"IntegerTooLarge", with_base("limits:\n  max_connections: 4294967296\n"),
         "t.yaml:8:20: limits.max_connections: expected an integer from 1 to 4294967295, got "
         "\"4294967296\""},
        {"IntegerHex", with_base("limits:\n  max_connections: 0x10\n"),
         "t.yaml:8:20: limits.max_connections: expected an integer from 1 to 4294967295, got "
         "\"0x10\""},
        {"WorkersZero", with_base("workers: 0\n"),
         "t.yaml:7:10: workers: expected auto or an integer from 1 to 256, got \"0\""},
        {"WorkersTooMany", with_base("workers: 257\n"),
         "t.yaml:7:10: workers: expected auto or an integer from 1 to 256, got \"257\""},
        {"WorkersWord", with_base("workers: all\n"),
         "t.yaml:7:10: workers: expected auto or an integer from 1 to 256, got \"all\""},
        {"WeightZero", with_base("        weight: 0\n"),
         "t.yaml:7:17: origins.api.servers[0].weight: expected an integer from 1 to 1000, got "
         "\"0\""},
        {"RetriesTooMany", with_base("    retries: 11\n"),
         "t.yaml:7:14: origins.api.retries: expected an integer from 0 to 10, got \"11\""},
        {"RetryBudgetWithoutPercent", with_base("    retry_budget: 20\n"),
         "t.yaml:7:19: origins.api.retry_budget: expected a percentage from 0% to 100%, got "
         "\"20\""},
        {"RetryBudgetOver100", with_base("    retry_budget: 150%\n"),
         "t.yaml:7:19: origins.api.retry_budget: expected a percentage from 0% to 100%, got "
         "\"150%\""},
        {"RetryBudgetFraction", with_base("    retry_budget: 2.5%\n"),
         "t.yaml:7:19: origins.api.retry_budget: expected a percentage from 0% to 100%, got "
         "\"2.5%\""},
        {"RetryOn503Word", with_base("    retry_on_503: sometimes\n"),
         "t.yaml:7:19: origins.api.retry_on_503: expected true or false, got \"sometimes\""},
        {"MaxInFlightNegative", with_base("    max_in_flight: -1\n"),
         "t.yaml:7:20: origins.api.max_in_flight: expected an integer from 0 to 1000000, got "
         "\"-1\""},
        {"QueueTimeoutZero", with_base("    queue_timeout: 0s\n"),
         "t.yaml:7:20: origins.api.queue_timeout: must be at least 1ms, got \"0s\""},
        {"BoolYes", with_base("routes:\n  - pass: yes\n"),
         "t.yaml:8:11: routes[0].pass: expected true or false, got \"yes\""},
        {"BadBalance", with_base("    balance: random\n"),
         "t.yaml:7:14: origins.api.balance: expected one of round_robin, least_connections, "
         "consistent_hash, got \"random\""},
        {"BadOriginTls", with_base("    tls: yes\n"),
         "t.yaml:7:10: origins.api.tls: expected true, false or a map with verify, ca_file, "
         "server_name, certificate and private_key, got \"yes\""},
        {"BadLogFormat", with_base("log:\n  format: xml\n"),
         "t.yaml:8:11: log.format: expected one of combined, json, custom, got \"xml\""},
        {"UnknownLogField", with_base("log:\n  format: json\n  fields: [status, bytez]\n"),
         "t.yaml:9:20: log.fields[1]: unknown log field \"bytez\" (known: time, time_iso8601, ",
         true},
        {"RepeatedLogField",
         with_base("log:\n  format: custom\n  fields:\n    - status\n    - status\n"),
         "t.yaml:11:7: log.fields[1]: log field \"status\" is listed twice"},
        {"CustomLogWithoutFields", with_base("log:\n  format: custom\n"),
         "t.yaml:8:11: log.format: format: custom needs `fields`, the list of what each line "
         "says"},
        {"EmptyLogFields", with_base("log:\n  fields: []\n"),
         "t.yaml:8:11: log.fields: expected at least one field name"},
        {"BadTraceparentMode", with_base("log:\n  traceparent: always\n"),
         "t.yaml:8:16: log.traceparent: expected one of pass, start, got \"always\""},
        {"RequestIdNotABool", with_base("log:\n  request_id: yes please\n"),
         "t.yaml:8:15: log.request_id: expected true or false, got \"yes please\""},
        {"EmptyLogAccess", with_base("log:\n  access: ''\n"),
         "t.yaml:8:11: log.access: expected stdout, off or a file path, got \"\""},

        // --- durations and sizes
        {"DurationWithoutUnit", with_base("limits:\n  client_idle_timeout: 10\n"),
         "t.yaml:8:24: limits.client_idle_timeout: expected a duration such as 250ms, 30s, 10m "
         "or 1h, got \"10\""},
        {"DurationDecimal", with_base("    connect_timeout: 1.5s\n"),
         "t.yaml:7:22: origins.api.connect_timeout: expected a duration such as 250ms, 30s, 10m "
         "or 1h, got \"1.5s\""},
        {"DurationZeroTimeout", with_base("limits:\n  client_header_timeout: 0s\n"),
         "t.yaml:8:26: limits.client_header_timeout: must be at least 1ms, got \"0s\""},
        {"BodyTimeoutZero", with_base("limits:\n  client_body_timeout: 0ms\n"),
         "t.yaml:8:24: limits.client_body_timeout: must be at least 1ms, got \"0ms\""},
        {"BodyTimeoutWithoutUnit", with_base("limits:\n  client_body_timeout: 10\n"),
         "t.yaml:8:24: limits.client_body_timeout: expected a duration such as 250ms, 30s, 10m "
         "or 1h, got \"10\""},
        {"RequestTimeoutNotADuration", with_base("limits:\n  client_request_timeout: [1s]\n"),
         "t.yaml:8:27: limits.client_request_timeout: expected a duration such as 250ms, 30s, "
         "10m or 1h, got a list"},
        {"BodyBufferZero", with_base("limits:\n  client_body_buffer: 0B\n"),
         "t.yaml:8:23: limits.client_body_buffer: must be at least 1B, got \"0B\""},
        {"BodyBufferTooLarge", with_base("limits:\n  client_body_buffer: 1GiB\n"),
         "t.yaml:8:23: limits.client_body_buffer: must be at most 64MiB (larger bodies go to "
         "client_body_temp_dir), got \"1GiB\""},
        {"BodyTempDirRelative", with_base("limits:\n  client_body_temp_dir: tmp/bodies\n"),
         "t.yaml:8:25: limits.client_body_temp_dir: expected an absolute directory path, got "
         "\"tmp/bodies\""},
        {"DrainTimeoutWithoutUnit", with_base("limits:\n  drain_timeout: 300\n"),
         "t.yaml:8:18: limits.drain_timeout: expected a duration such as 250ms, 30s, 10m or 1h, "
         "got \"300\""},
        {"DrainTimeoutNegative", with_base("limits:\n  drain_timeout: -1s\n"),
         "t.yaml:8:18: limits.drain_timeout: expected a duration such as 250ms, 30s, 10m or 1h, "
         "got \"-1s\""},
        {"DurationOverflow", with_base("    first_byte_timeout: 99999999999999999999h\n"),
         "t.yaml:7:25: origins.api.first_byte_timeout: expected a duration such as 250ms, 30s, "
         "10m or 1h, got \"99999999999999999999h\""},
        {"TargetedFieldNotAName",
         with_base("routes:\n  - cache:\n      targeted_cache_control: [\"CDN Cache\"]\n"),
         "t.yaml:9:32: routes[0].cache.targeted_cache_control[0]: expected an HTTP field name, "
         "got \"CDN Cache\""},
        {"StaleIfErrorNegative", with_base("routes:\n  - cache:\n      stale_if_error: -1s\n"),
         "t.yaml:9:23: routes[0].cache.stale_if_error: expected a duration such as 250ms, 30s, "
         "10m or 1h, got \"-1s\""},
        {"SizeDecimalUnit", with_base("storage:\n  memory: 1GB\n"),
         "t.yaml:8:11: storage.memory: expected a size such as 512B, 64KiB, 16MiB or 1GiB, got "
         "\"1GB\""},
        {"SizeZero", with_base("limits:\n  max_body_bytes: 0B\n"),
         "t.yaml:8:19: limits.max_body_bytes: must be at least 1B, got \"0B\""},
        {"MaxObjectAboveMemory", with_base("storage:\n  memory: 1MiB\n  max_object_size: 2MiB\n"),
         "t.yaml:9:20: storage.max_object_size: must not exceed storage.memory (2MiB > 1MiB)"},
        {"EvictionUnknown", with_base("storage:\n  eviction: lru\n"),
         "t.yaml:8:13: storage.eviction: expected s3fifo, tinylfu or clock, got \"lru\""},
        {"MemoryBelowDefaultMaxObject", with_base("storage:\n  memory: 1MiB\n"),
         "t.yaml:8:11: storage.memory: must be at least max_object_size (8MiB > 1MiB)"},
        {"HealthTimeoutAboveInterval", with_base("    health: { interval: 1s, timeout: 2s }\n"),
         "t.yaml:7:38: origins.api.health.timeout: the timeout must not exceed the interval "
         "(timeout 2s > interval 1s)"},

        // --- addresses
        {"AddressWithoutPort", "listen:\n  - address: localhost\n",
         "t.yaml:2:14: listen[0].address: expected host:port, got \"localhost\""},
        {"AddressPortTooLarge", "listen:\n  - address: 127.0.0.1:70000\n",
         "t.yaml:2:14: listen[0].address: the port must be a number from 0 to 65535, got "
         "\"127.0.0.1:70000\""},
        {"AddressPortNotANumber", "listen:\n  - address: 127.0.0.1:http\n",
         "t.yaml:2:14: listen[0].address: the port must be a number from 0 to 65535, got "
         "\"127.0.0.1:http\""},
        {"AddressEmptyHost", "listen:\n  - address: ':8080'\n",
         "t.yaml:2:14: listen[0].address: expected host:port with a host name or IPv4 address, "
         "got \":8080\""},
        {"AddressBadIpv4", "listen:\n  - address: 300.1.1.1:80\n",
         "t.yaml:2:14: listen[0].address: expected host:port with a host name or IPv4 address, "
         "got \"300.1.1.1:80\""},
        {"AddressIpv6WithoutBrackets", "listen:\n  - address: '::1:8080'\n",
         "t.yaml:2:14: listen[0].address: an IPv6 address needs brackets, as in [::1]:8080, got "
         "\"::1:8080\""},
        {"AddressBadIpv6", "listen:\n  - address: '[zz::1]:80'\n",
         "t.yaml:2:14: listen[0].address: not an IPv6 address in brackets, got \"[zz::1]:80\""},
        {"AddressIpv6WithoutPort", "listen:\n  - address: '[::1]'\n",
         "t.yaml:2:14: listen[0].address: expected [IPv6]:port, got \"[::1]\""},
        {"OriginServerPortZero",
         "listen: [{ address: 127.0.0.1:1 }]\norigins:\n  api:\n    servers:\n"
         "      - address: 127.0.0.1:0\n",
         "t.yaml:5:18: origins.api.servers[0].address: the port must be a number from 1 to "
         "65535, got \"127.0.0.1:0\""},
        {"DuplicateServer", with_base("      - address: 127.0.0.1:9000\n"),
         "t.yaml:7:18: origins.api.servers[1].address: 127.0.0.1:9000 is listed twice (use "
         "`weight` instead)"},
        {"DuplicateListen", "listen:\n  - address: 127.0.0.1:8080\n  - address: 127.0.0.1:8080\n",
         "t.yaml:3:14: listen[1].address: 127.0.0.1:8080 conflicts with listen[0] "
         "(127.0.0.1:8080, line 2)"},
        {"ListenOverlapsWildcard",
         "listen:\n  - address: 0.0.0.0:8080\n  - address: 10.0.0.1:8080\n",
         "t.yaml:3:14: listen[1].address: 10.0.0.1:8080 conflicts with listen[0] (0.0.0.0:8080, "
         "line 2)"},
        {"AdminOnAListener", with_base("admin:\n  address: 127.0.0.1:8080\n"),
         "t.yaml:8:12: admin.address: 127.0.0.1:8080 conflicts with listen[0] (127.0.0.1:8080, "
         "line 2)"},
        {"ListenerOnDefaultAdmin", "listen:\n  - address: 127.0.0.1:9190\n",
         "t.yaml:2:5: listen[0]: 127.0.0.1:9190 conflicts with the default admin.address "
         "(127.0.0.1:9190)"},
        {"PurgeFromNotARange", with_base("admin:\n  purge_from: [127.0.0.1/32, 10.0.0.1/8]\n"),
         "t.yaml:8:30: admin.purge_from[1]: expected an address or a CIDR range (10.0.0.0/8, "
         "::1/128), got \"10.0.0.1/8\""},
        {"PurgeFromNotAList", with_base("admin:\n  purge_from: 10.0.0.0/8\n"),
         "t.yaml:8:15: admin.purge_from: expected a list of address ranges, got \"10.0.0.0/8\""},
        {"AdminWildcardWithoutToken", with_base("admin:\n  address: 0.0.0.0:9190\n"),
         "t.yaml:8:12: admin.address: 0.0.0.0:9190 is reachable from other machines: set "
         "admin.token_file too (or listen on 127.0.0.1 or [::1])"},
        {"AdminPublicIpv6WithoutToken", with_base("admin: { address: '[::]:9190' }\n"),
         "t.yaml:7:19: admin.address: [::]:9190 is reachable from other machines: set "
         "admin.token_file too (or listen on 127.0.0.1 or [::1])"},
        {"AdminNameWithoutToken",
         with_base("admin:\n  address: admin.internal:9190\n  purge_from: [10.0.0.0/8]\n"),
         "t.yaml:8:12: admin.address: admin.internal:9190 is reachable from other machines: "
         "set admin.token_file too (or listen on 127.0.0.1 or [::1])"},
        {"EmptyTokenFile", with_base("admin: { token_file: '' }\n"),
         "t.yaml:7:22: admin.token_file: expected a file path (leave the key out for no token), "
         "got \"\""},

        // --- origins and variants
        {"BadPoolName", "listen: [{ address: 127.0.0.1:1 }]\norigins:\n  'my pool': {}\n",
         "t.yaml:3:3: origins: \"my pool\" is not a valid pool name (1 to 64 letters, digits, "
         "'_', '-' or '.')"},
        {"BadServerName", with_base("    tls: { server_name: 'a b' }\n"),
         "t.yaml:7:25: origins.api.tls.server_name: expected a host name, got \"a b\""},
        {"HealthExpectStatusOutOfRange", with_base("    health: { expect_status: 99 }\n"),
         "t.yaml:7:30: origins.api.health.expect_status: ", true},
        {"OutlierDetectionNotAMap", with_base("    outlier_detection: often\n"),
         "t.yaml:7:24: origins.api.outlier_detection: expected true, false or a map with "
         "consecutive_failures, base_ejection_time, max_ejection_time and max_ejected_percent, "
         "got ",
         true},
        {"OutlierMaxBelowBase",
         with_base("    outlier_detection: { base_ejection_time: 1m, max_ejection_time: 10s }\n"),
         "t.yaml:7:69: origins.api.outlier_detection.max_ejection_time: max_ejection_time must "
         "not be below base_ejection_time (10s < 1m)"},
        {"OutlierPercentAbove100",
         with_base("    outlier_detection: { max_ejected_percent: 101 }\n"),
         "t.yaml:7:47: origins.api.outlier_detection.max_ejected_percent: ", true},
        {"SlowStartNotADuration", with_base("    slow_start: soon\n"),
         "t.yaml:7:17: origins.api.slow_start: ", true},
        {"ResolveEveryBelowOneSecond", with_base("    resolve_every: 500ms\n"),
         "t.yaml:7:20: origins.api.resolve_every: resolve_every: at least 1s (or 0 to resolve at "
         "start and reload only)"},
        {"HealthPathWithoutSlash", with_base("    health: { path: healthz }\n"),
         "t.yaml:7:21: origins.api.health.path: expected a path starting with '/' and without "
         "spaces, got \"healthz\""},
        {"VariantDefaultNotInValues",
         with_base("variants:\n  locale:\n    sources: [query:locale]\n    values: [en, de]\n"
                   "    default: fr\n"),
         "t.yaml:11:14: variants.locale.default: \"fr\" is not one of the values (en, de)"},
        {"VariantDuplicateValue",
         with_base("variants:\n  locale:\n    sources: [query:locale]\n    values: [en, de, en]\n"),
         "t.yaml:10:22: variants.locale.values[2]: \"en\" is listed twice"},
        {"VariantEmptyValues",
         with_base("variants:\n  locale:\n    sources: [query:locale]\n    values: []\n"),
         "t.yaml:10:13: variants.locale.values: at least one value is required"},
        {"VariantEmptyStringValue",
         with_base("variants:\n  locale:\n    sources: [query:locale]\n    values: [en, '']\n"),
         "t.yaml:10:18: variants.locale.values[1]: expected a non-empty token (letters, digits, "
         "-._~ ...), got \"\""},
        {"VariantMissingValues", with_base("variants:\n  locale:\n    sources: [query:locale]\n"),
         "t.yaml:9:5: variants.locale: missing required key `values`"},
        {"VariantBadSource",
         with_base("variants:\n  locale:\n    sources: [query-locale]\n    values: [en]\n"),
         "t.yaml:9:15: variants.locale.sources[0]: expected query:NAME, cookie:NAME or "
         "header:NAME, got \"query-locale\""},
        {"VariantSourceWithoutName",
         with_base("variants:\n  locale:\n    sources: ['cookie:']\n    values: [en]\n"),
         "t.yaml:9:15: variants.locale.sources[0]: expected cookie:NAME, got \"cookie:\""},
        {"VariantBadHeaderSource",
         with_base(
             "variants:\n  locale:\n    sources: ['header:Accept Language']\n    values: [en]\n"),
         "t.yaml:9:15: variants.locale.sources[0]: expected header:NAME with NAME an HTTP field "
         "name, got \"header:Accept Language\""},
        {"VariantEmptySources",
         with_base("variants:\n  locale:\n    sources: []\n    values: [en]\n"),
         "t.yaml:9:14: variants.locale.sources: at least one source is required"},
        {"VariantForwardHeaderTaken",
         with_base("variants:\n  a:\n    sources: [query:a]\n    values: [x]\n"
                   "    forward_header: X-Dim\n  b:\n    sources: [query:b]\n    values: [y]\n"
                   "    forward_header: x-dim\n"),
         "t.yaml:15:21: variants.b.forward_header: x-dim is already the forward_header of "
         "variant `a`"},
        {"VariantDefaultForwardHeaderTaken",
         with_base("variants:\n  a:\n    sources: [query:a]\n    values: [x]\n"
                   "    forward_header: X-Lacquer-B\n  b:\n    sources: [query:b]\n"
                   "    values: [y]\n"),
         "t.yaml:12:3: variants.b: X-Lacquer-B is already the forward_header of variant `a`"},

        // --- routes
        {"RouteUnknownOrigin",
         with_base("routes:\n  - name: r\n    origin: nope\n    pass: true\n"),
         "t.yaml:9:13: routes[0].origin: expected a defined origin (api), got \"nope\""},
        {"RouteUnknownVariant",
         with_base("routes:\n  - name: r\n    cache:\n      variants: [lang]\n"),
         "t.yaml:10:18: routes[0].cache.variants[0]: expected a defined variant (none are "
         "defined), got \"lang\""},
        {"RouteDuplicateVariant",
         with_base("variants:\n  lang:\n    sources: [query:l]\n    values: [en]\n"
                   "routes:\n  - cache: { variants: [lang, lang] }\n"),
         "t.yaml:12:31: routes[0].cache.variants[1]: \"lang\" is listed twice"},
        {"RoutePrefixAndRegex",
         with_base("routes:\n  - name: r\n    match:\n      path_prefix: /a\n"
                   "      path_regex: ^/a\n    pass: true\n"),
         "t.yaml:11:19: routes[0].match: set path_prefix or path_regex, not both"},
        {"RouteRegexBeforePrefix",
         with_base("routes:\n  - match: { path_regex: ^/a, path_prefix: /a }\n    pass: true\n"),
         "t.yaml:8:44: routes[0].match: set path_prefix or path_regex, not both"},
        // (A path_regex that is not RE2 syntax is refused when the routes compile:
        // tests/unit/proxy/route_table_test.cc.)
        {"RouteRegexTooLong",
         with_base("routes:\n  - name: r\n    match:\n      path_regex: '" +
                   std::string(1025, 'a') + "'\n    pass: true\n"),
         "t.yaml:10:19: routes[0].match.path_regex: the regex is longer than 1024 bytes"},
        {"RoutePrefixWithoutSlash",
         with_base("routes:\n  - match: { path_prefix: v3 }\n    pass: true\n"),
         "t.yaml:8:27: routes[0].match.path_prefix: expected a path starting with '/' and "
         "without spaces, got \"v3\""},
        {"RouteLowercaseMethod",
         with_base("routes:\n  - match: { methods: [GET, post] }\n    pass: true\n"),
         "t.yaml:8:29: routes[0].match.methods[1]: expected an HTTP method in upper case, such "
         "as GET, got \"post\""},
        {"RouteEmptyMethods", with_base("routes:\n  - match: { methods: [] }\n    pass: true\n"),
         "t.yaml:8:23: routes[0].match.methods: at least one method is required"},
        {"RouteBadHost",
         with_base("routes:\n  - match: { host: 'api.example.com:80' }\n    pass: true\n"),
         "t.yaml:8:20: routes[0].match.host: expected a host name or *.suffix (without a port), "
         "got \"api.example.com:80\""},
        {"RoutePassWithCache",
         with_base("routes:\n  - name: r\n    pass: true\n    cache: { ttl: 1m }\n"),
         "t.yaml:10:5: routes[0]: `cache` is not allowed with `pass: true`"},
        {"RouteWithoutPassOrCache", with_base("routes:\n  - name: r\n    origin: api\n"),
         "t.yaml:8:5: routes[0]: a route needs `pass: true` or `cache`"},
        {"RoutePassFalseWithoutCache", with_base("routes:\n  - name: r\n    pass: false\n"),
         "t.yaml:8:5: routes[0]: a route needs `pass: true` or `cache`"},
        {"RouteDuplicateName",
         with_base("routes:\n  - name: r\n    pass: true\n  - name: r\n    pass: true\n"),
         "t.yaml:10:11: routes[1].name: \"r\" is already the name of routes[0] (line 8)"},
        {"RouteBadName", with_base("routes:\n  - name: 'my route'\n    pass: true\n"),
         "t.yaml:8:11: routes[0].name: expected 1 to 64 letters, digits, '_', '-' or '.', got "
         "\"my route\""},
        {"RoutesIsAMap", with_base("routes: { a: 1 }\n"),
         "t.yaml:7:9: routes: expected a list, got a map"},
        {"KeyParamsBadWord", with_base("routes:\n  - cache: { key_params: every }\n"),
         "t.yaml:8:26: routes[0].cache.key_params: expected `all` or a list of parameter names, "
         "got \"every\""},
        {"KeyParamsBadName", with_base("routes:\n  - cache: { key_params: ['a=b'] }\n"),
         "t.yaml:8:27: routes[0].cache.key_params[0]: expected a query parameter name without "
         "spaces, '&', '=' or '#', got \"a=b\""},
        {"BadUnknownParams", with_base("routes:\n  - cache: { unknown_params: drop }\n"),
         "t.yaml:8:30: routes[0].cache.unknown_params: expected one of strip, pass, reject, got "
         "\"drop\""},
        {"ForwardHeadersTwice",
         with_base("routes:\n  - cache: { forward_headers: [Accept, accept] }\n"),
         "t.yaml:8:40: routes[0].cache.forward_headers[1]: \"accept\" is listed twice"},
        {"BadTagsHeader", with_base("routes:\n  - cache: { tags_header: 'Surrogate Key' }\n"),
         "t.yaml:8:27: routes[0].cache.tags_header: expected an HTTP field name, got "
         "\"Surrogate Key\""},
        {"DefaultRouteBadWord", with_base("default_route: drop\n"),
         "t.yaml:7:16: default_route: expected `reject` or a map with origin, pass and cache, "
         "got \"drop\""},
        {"DefaultRouteUnknownOrigin", with_base("default_route: { origin: web }\n"),
         "t.yaml:7:26: default_route.origin: expected a defined origin (api), got \"web\""},
        {"DefaultRoutePassWithCache",
         with_base("default_route:\n  pass: true\n  cache: { ttl: 1m }\n"),
         "t.yaml:9:3: default_route: `cache` is not allowed with `pass: true`"},
    };
}

// Keeps gtest from printing the struct as bytes when a case fails.
void PrintTo(const ErrorCase& c, std::ostream* out) {
    *out << c.name;
}

class LoadError : public testing::TestWithParam<ErrorCase> {};

TEST_P(LoadError, IsReportedAtFileLineColumn) {
    const ErrorCase& c = GetParam();
    try {
        const Config config = load_config_string(c.yaml, "t.yaml");
        FAIL() << "loaded without error; expected: " << c.expected;
    } catch (const ConfigError& error) {
        const std::string what = error.what();
        if (c.prefix_only) {
            EXPECT_EQ(what.substr(0, c.expected.size()), c.expected) << what;
        } else {
            EXPECT_EQ(what, c.expected);
        }
        // what() and the parts agree, and the mark is always a real position.
        EXPECT_EQ(what, error.mark().text() + ": " + error.message());
        EXPECT_GE(error.mark().line, 1);
        EXPECT_GE(error.mark().column, 1);
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, LoadError, testing::ValuesIn(error_cases()),
                         [](const testing::TestParamInfo<ErrorCase>& param) {
                             return param.param.name;
                         });

TEST(LoadErrorKind, OnlyConfigErrorEscapes) {
    // Shapes that make yaml-cpp itself unhappy in different ways all surface as ConfigError.
    for (const char* text : {"{", "[", "\"", "a: 'b", "&a a: *a", "? : :", "%YAML 9.9\n---\na: 1",
                             "!<tag> {a: 1}", "\t- a", "- a\nb: 1"}) {
        EXPECT_THROW(static_cast<void>(load_config_string(text, "t.yaml")), ConfigError) << text;
    }
}

TEST(LoadErrorKind, YamlParserMessagesCarryNoRawControlBytes) {
    // yaml-cpp quotes the offending input byte in its message; a NUL used to cut what() short.
    const std::string yaml = std::string("a: \"\\") + '\0' + "\"\n";
    try {
        static_cast<void>(load_config_string(yaml, "t.yaml"));
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& error) {
        EXPECT_EQ(std::string(error.what()),
                  "t.yaml:1:7: invalid YAML: unknown escape character: \\x00");
    }
}

} // namespace
} // namespace lacquer::config
