#pragma once
// TestConfig: builds the small lacquerd YAML configs that integration tests need (CONFIG.md shape),
// always listening on 127.0.0.1:0 with the access log off unless asked. Anything the builder does
// not cover goes in verbatim through extra().

#include <string>
#include <utility>
#include <vector>

namespace lacquer::test {

class TestConfig {
public:
    TestConfig& workers(int count);                 // 0: auto
    TestConfig& listeners(int count);               // client listeners, each on 127.0.0.1:0
    TestConfig& listener_setting(std::string line); // "balance: kernel" under each listener
    TestConfig& origin(std::string address);        // adds a server to the origin pool "api"
    TestConfig& origin_setting(std::string line);   // "connect_timeout: 200ms" under origins.api
    TestConfig& limit(std::string key, std::string value);   // limits.<key>: <value>
    TestConfig& storage(std::string key, std::string value); // storage.<key>: <value>
    TestConfig& admin(bool enabled = true);                  // admin listener on 127.0.0.1:0
    TestConfig& access_log(std::string where);               // stdout | off | a path
    TestConfig& extra(std::string yaml);                     // appended at top level, verbatim

    int listener_count() const { return listeners_; }
    bool has_admin() const { return admin_; }
    std::string yaml() const;

private:
    int workers_ = 2;
    int listeners_ = 1;
    bool admin_ = false;
    std::string access_log_ = "off";
    std::vector<std::string> origin_servers_;
    std::vector<std::string> origin_settings_;
    std::vector<std::string> listener_settings_;
    std::vector<std::pair<std::string, std::string>> limits_;
    std::vector<std::pair<std::string, std::string>> storage_;
    std::string extra_;
};

} // namespace lacquer::test
