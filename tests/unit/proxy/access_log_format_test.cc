// The access log's line shapes, written through the real writer thread to a file: combined with
// its `name=value` fields, JSON keyed by the names as written (aliases too), custom text, and
// every field's value for one known entry.
#include "lacquer/proxy/access_log.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <unistd.h>

namespace lacquer::proxy {
namespace {

class TempFile {
public:
    TempFile() {
        std::string dir = (std::filesystem::temp_directory_path() / "lacquer-alog-XXXXXX").string();
        dir_ = ::mkdtemp(dir.data()) != nullptr ? dir : std::string();
    }
    ~TempFile() { std::filesystem::remove_all(dir_); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    std::string path() const { return dir_ + "/access.log"; }
    std::string text() const {
        std::ifstream in(path());
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }

private:
    std::string dir_;
};

config::LogConfig log_config(const TempFile& file, config::AccessLogFormat format,
                             std::initializer_list<std::string_view> names = {}) {
    config::LogConfig c;
    c.access = config::AccessLogTarget::File;
    c.access_path = file.path();
    c.format = format;
    for (const std::string_view name : names) {
        c.fields.push_back({*config::log_field_named(name), std::string(name)});
    }
    return c;
}

// One request with every field set: 2023-11-14T22:13:20.123456Z.
AccessLogEntry entry() {
    AccessLogEntry e;
    e.client = "192.0.2.7";
    e.method = "GET";
    e.target = "/v3/listings?limit=5";
    e.status = 200;
    e.body_bytes = 1234;
    e.referer = "https://example.com/a b";
    e.user_agent = "curl/8.0";
    e.cache_status = "hit";
    e.route = "listings";
    e.origin_ms = 12.3456;
    e.total_ms = 15.5;
    e.unix_time = 1'700'000'000;
    e.unix_us = 1'700'000'000'123'456;
    e.tls_version = "TLSv1.3";
    e.sni = "api.example.com";
    e.host = "api.example.com";
    e.request_id = "abc-123";
    e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    e.upstream_addr = "127.0.0.1:9000";
    e.request_bytes = 321;
    e.term = Termination::ClientAbort;
    return e;
}

std::string one_line(const config::LogConfig& c, const AccessLogEntry& e) {
    std::unique_ptr<AccessLog> log = AccessLog::open(c, 1);
    log->write(0, e);
    log->flush();
    log.reset();
    std::ifstream in(c.access_path);
    std::string line;
    std::getline(in, line);
    return line;
}

TEST(AccessLogFormat, CustomWritesEachFieldInOrderSpaceSeparated) {
    TempFile file;
    const std::string line = one_line(
        log_config(file, config::AccessLogFormat::Custom,
                   {"time_iso8601", "time_msec",     "time",          "client",      "request",
                    "status",       "bytes",         "request_bytes", "host",        "route",
                    "cache",        "upstream_addr", "request_id",    "traceparent", "origin_ms",
                    "origin_us",    "total_ms",      "total_us",      "tls",         "sni",
                    "term",         "referer",       "user_agent"}),
        entry());
    EXPECT_EQ(line, "2023-11-14T22:13:20.123Z 1700000000.123 1700000000 192.0.2.7 "
                    "\"GET /v3/listings?limit=5 HTTP/1.1\" 200 1234 321 api.example.com listings "
                    "hit 127.0.0.1:9000 abc-123 "
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 12.346 12346 15.500 "
                    "15500 TLSv1.3 api.example.com client_abort \"https://example.com/a b\" "
                    "\"curl/8.0\"");
}

TEST(AccessLogFormat, CustomMarksAbsentValuesAndEscapesWhatCouldSplitALine) {
    TempFile file;
    AccessLogEntry e = entry();
    e.origin_ms = -1;
    e.tls_version = {};
    e.referer = {};
    e.request_id = {};
    e.target = "/a b\"c\n";
    e.user_agent = "x\" y";
    e.term = Termination::Ok;
    const std::string line =
        one_line(log_config(file, config::AccessLogFormat::Custom,
                            {"target", "origin_ms", "origin_us", "tls", "request_id", "referer",
                             "user_agent", "term", "time_local"}),
                 e);
    EXPECT_EQ(line, "/a\\x20b\\x22c\\x0a - - - - \"-\" \"x\\x22 y\" ok "
                    "[14/Nov/2023:22:13:20 +0000]");
}

TEST(AccessLogFormat, JsonUsesTheNamesAsWrittenForKeysAliasesIncluded) {
    TempFile file;
    AccessLogEntry e = entry();
    e.sni = {};
    const std::string line =
        one_line(log_config(file, config::AccessLogFormat::Json,
                            {"time_iso8601", "url", "status", "cache_status", "tls_version", "sni",
                             "request_length", "total_us", "term", "upstream_addr"}),
                 e);
    EXPECT_EQ(line, "{\"time_iso8601\":\"2023-11-14T22:13:20.123Z\","
                    "\"url\":\"/v3/listings?limit=5\",\"status\":200,\"cache_status\":\"hit\","
                    "\"tls_version\":\"TLSv1.3\",\"sni\":null,\"request_length\":321,"
                    "\"total_us\":15500,\"term\":\"client_abort\","
                    "\"upstream_addr\":\"127.0.0.1:9000\"}");
}

TEST(AccessLogFormat, DefaultJsonKeepsRoundOneKeysThenAddsTheNewOnes) {
    TempFile file;
    const std::string line = one_line(log_config(file, config::AccessLogFormat::Json), entry());
    EXPECT_EQ(line.find("{\"time\":1700000000,\"client\":\"192.0.2.7\",\"method\":\"GET\","
                        "\"target\":\"/v3/listings?limit=5\",\"protocol\":\"HTTP/1.1\","
                        "\"status\":200,\"bytes\":1234,"),
              0u)
        << line;
    for (const char* part :
         {"\"time_iso8601\":\"2023-11-14T22:13:20.123Z\"", "\"host\":\"api.example.com\"",
          "\"request_bytes\":321", "\"upstream_addr\":\"127.0.0.1:9000\"",
          "\"request_id\":\"abc-123\"", "\"term\":\"client_abort\"", "\"steps\":null"}) {
        EXPECT_NE(line.find(part), std::string::npos) << part << " in " << line;
    }
}

TEST(AccessLogFormat, CombinedAppendsNameValueFieldsAfterItsOwn) {
    TempFile file;
    const std::string dflt = one_line(log_config(file, config::AccessLogFormat::Combined), entry());
    EXPECT_EQ(dflt, "192.0.2.7 - - [14/Nov/2023:22:13:20 +0000] \"GET /v3/listings?limit=5 "
                    "HTTP/1.1\" 200 1234 \"https://example.com/a b\" \"curl/8.0\" cache=hit "
                    "route=listings origin_ms=12.346 total_ms=15.500 tls=TLSv1.3 "
                    "sni=api.example.com request_id=abc-123 term=client_abort");
    TempFile other;
    const std::string picked = one_line(
        log_config(other, config::AccessLogFormat::Combined, {"upstream_addr", "total_us"}),
        entry());
    EXPECT_NE(picked.find("sni=api.example.com upstream_addr=127.0.0.1:9000 total_us=15500"),
              std::string::npos)
        << picked;
}

TEST(AccessLogFormat, EveryTerminationHasItsName) {
    EXPECT_EQ(termination_name(Termination::Ok), "ok");
    EXPECT_EQ(termination_name(Termination::ClientAbort), "client_abort");
    EXPECT_EQ(termination_name(Termination::ClientTimeout), "client_timeout");
    EXPECT_EQ(termination_name(Termination::ClientError), "client_error");
    EXPECT_EQ(termination_name(Termination::OriginAbort), "origin_abort");
    EXPECT_EQ(termination_name(Termination::Shutdown), "shutdown");
    EXPECT_EQ(termination_name(Termination::Internal), "internal");
}

} // namespace
} // namespace lacquer::proxy
