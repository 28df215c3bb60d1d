// write_config_yaml (GET /config, `lacquerctl config`): what it prints loads again into the same
// effective config, for the repository's example configs (every section, TLS, Unix sockets,
// variants, routes, the default route) and for quoting traps; secrets are never printed.
#include "lacquer/config/load.h"
#include "lacquer/config/write_config.h"

#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>

namespace lacquer::config {
namespace {

std::string source_dir() {
    const char* env = std::getenv("LACQUER_SOURCE_DIR");
    return env != nullptr && *env != '\0' ? env : LACQUER_SOURCE_DIR_DEFAULT;
}

// The printed text without its first comment lines (they name the file it came from).
std::string settings(const std::string& printed) {
    return printed.substr(printed.find("\nworkers"));
}

// Prints `config`, loads the print, prints that: both prints must be the same settings.
void expect_round_trip(const Config& config) {
    const std::string printed = write_config_yaml(config);
    Config again;
    try {
        again = load_config_string(printed, "printed.yaml");
    } catch (const ConfigError& e) {
        FAIL() << e.what() << "\n" << printed;
    }
    EXPECT_EQ(settings(write_config_yaml(again)), settings(printed)) << printed;
}

TEST(WriteConfig, TheRepositoryExamplesLoadAgainIntoTheSameConfig) {
    for (const char* file : {"/vcl-like-config/examples/full.yaml", "/packaging/lacquer.yaml"}) {
        SCOPED_TRACE(file);
        expect_round_trip(load_config_file(source_dir() + file));
    }
}

TEST(WriteConfig, TlsOcspFilesSurvive) {
    const Config c = load_config_string(R"(listen:
  - address: 127.0.0.1:8443
    tls:
      certificate: /c.pem
      private_key: /c.key
      ocsp: /c.ocsp.der
      sni:
        - names: [api.example.com]
          certificate: /a.pem
          private_key: /a.key
          ocsp: /a.ocsp.der
origins:
  api:
    servers:
      - address: 127.0.0.1:9000
)",
                                        "t.yaml");
    ASSERT_TRUE(c.listen[0].tls);
    EXPECT_EQ(c.listen[0].tls->certificates.at(0).ocsp, "/c.ocsp.der");
    EXPECT_EQ(c.listen[0].tls->certificates.at(0).ocsp_mark.line, 6);
    EXPECT_EQ(c.listen[0].tls->certificates.at(1).ocsp, "/a.ocsp.der");
    const std::string printed = write_config_yaml(c);
    EXPECT_NE(printed.find("ocsp: \"/a.ocsp.der\""), std::string::npos) << printed;
    expect_round_trip(c);
}

TEST(WriteConfig, EveryKindOfSettingSurvivesIncludingQuotingTraps) {
    const Config c = load_config_string(R"(workers: 3
merge_slashes: false
listen:
  - address: 127.0.0.1:8080
    proxy_protocol: true
    proxy_from: [10.0.0.0/8, "::1"]
  - address: "unix:/tmp/a \"b\".sock"
    mode: "0660"
admin:
  address: "[::1]:9190"
  token_file: /etc/lacquer/admin.token
  purge_from: [127.0.0.1/32]
limits: { drain_timeout: 250ms, max_header_bytes: 3000B }
storage: { memory: 10MiB, eviction: clock }
log: { access: "/var/log/x: y.log", format: json }
origins:
  "a.b-c":
    servers: [{ address: "localhost:9000", weight: 3 }]
    balance: consistent_hash
    tls: { verify: false, server_name: origin.test }
    health: { path: "/h?x=1#y", interval: 1500ms }
    outlier_detection: false
    slow_start: 30s
    retries: 2
    retry_budget: 5%
    retry_on_503: true
    max_in_flight: 100
variants:
  locale:
    sources: [query:locale, "header:Accept-Language"]
    values: [en, de]
    default: de
routes:
  - name: "r.1"
    match: { host: "*.example.com", path_regex: '^/v[0-9]+/"x"$', methods: [GET] }
    origin: "a.b-c"
    cache:
      key_params: [a, b]
      variants: [locale]
      forward_headers: [Accept]
      wait_timeout: 3s
      tags_header: Surrogate-Key
      targeted_cache_control: []
  - name: p
    match: { path_prefix: /p }
    pass: true
default_route: reject
)",
                                        "t.yaml");
    expect_round_trip(c);
    const std::string printed = write_config_yaml(c);
    EXPECT_NE(printed.find("token_file: \"/etc/lacquer/admin.token\""), std::string::npos);
    EXPECT_NE(printed.find("default_route: reject"), std::string::npos);
    EXPECT_NE(printed.find("workers: 3\n"), std::string::npos);
}

TEST(WriteConfig, EveryEvictionPolicySurvives) {
    for (const char* policy : {"s3fifo", "tinylfu", "clock"}) {
        const Config c = load_config_string(std::string(R"(listen: [{ address: 127.0.0.1:0 }]
origins: { api: { servers: [{ address: 127.0.0.1:9000 }] } }
storage: { memory: 64MiB, eviction: )") + policy +
                                                " }\n",
                                            "t.yaml");
        const std::string printed = write_config_yaml(c);
        EXPECT_NE(printed.find(std::string("  eviction: ") + policy + "\n"), std::string::npos)
            << printed;
        expect_round_trip(c);
    }
}

TEST(WriteConfig, DefaultsAreFilledIn) {
    const Config c = load_config_string(R"(listen: [{ address: 127.0.0.1:0 }]
origins: { api: { servers: [{ address: 127.0.0.1:9000 }] } }
)",
                                        "t.yaml");
    const std::string printed = write_config_yaml(c);
    for (const char* line : {"workers: auto\n", "  client_idle_timeout: 1m\n", "  memory: 1GiB\n",
                             "  eviction: tinylfu\n", "  access: stdout\n", "  format: combined\n",
                             "    max_connections_per_server: 256\n", "default_route:\n"}) {
        EXPECT_NE(printed.find(line), std::string::npos) << line << printed;
    }
    expect_round_trip(c);
}

} // namespace
} // namespace lacquer::config
