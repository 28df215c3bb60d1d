// Request smuggling and desync shapes, kept as data in smuggling_corpus.txt (its header describes
// the format). Each case goes on a new connection to the real lacquerd, whose routes all pass to a
// ScriptedOrigin: a refused case gets lacquerd's own status, the connection closed and nothing at
// the origin; a forwarded case gets the origin's answer. Either way the origin sees at most one
// request, never /smuggled, and nothing it could read two ways.
#include "support/http_client.h"
#include "support/lacquer_process.h"
#include "support/scripted_origin.h"
#include "support/test_config.h"

#include <cstddef>
#include <fstream>
#include <gtest/gtest.h>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#ifndef LACQUER_SMUGGLING_CORPUS
#error "LACQUER_SMUGGLING_CORPUS must name smuggling_corpus.txt (see CMakeLists.txt)"
#endif

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;

struct SmugglingCase {
    std::string name;  // [A-Za-z0-9_], unique: the test's name
    int status = 0;    // lacquerd's own answer; 0: forwarded to the origin
    std::string bytes; // decoded
    int line = 0;      // of "case:" in the corpus
    std::string error; // the corpus could not be read: the test reports this
};

// gtest prints parameters of failing tests: the name and line say more than raw bytes.
void PrintTo(const SmugglingCase& c, std::ostream* os) {
    *os << c.name << " (smuggling_corpus.txt:" << c.line << ")";
}

constexpr std::size_t kMaxCaseBytes = 1 << 20;

// {TEXT*N} -> TEXT repeated N times. A backslash and the byte after it are copied unchanged, so
// "\{" stays for unescape() and escapes inside TEXT are decoded after the expansion.
bool expand(std::string_view in, std::string& out, std::string& error) {
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\\' && i + 1 < in.size()) {
            out.append(in.substr(i, 2));
            ++i;
        } else if (in[i] == '}') {
            error = "'}' outside a {TEXT*N} macro (write \\x7d)";
            return false;
        } else if (in[i] != '{') {
            out.push_back(in[i]);
        } else {
            const std::size_t close = in.find('}', i);
            const std::string_view body = close == std::string_view::npos
                                              ? std::string_view()
                                              : in.substr(i + 1, close - i - 1);
            const std::size_t star = body.rfind('*');
            const std::string_view count =
                star == std::string_view::npos ? "" : body.substr(star + 1);
            if (star == 0 || count.empty() || count.size() > 7 ||
                count.find_first_not_of("0123456789") != std::string_view::npos ||
                body.substr(0, star).find_first_of("{*") != std::string_view::npos) {
                error = "bad macro at column " + std::to_string(i + 1) +
                        " (want {TEXT*N}; \\{ for '{')";
                return false;
            }
            for (int n = std::stoi(std::string(count)); n > 0 && out.size() <= kMaxCaseBytes; --n) {
                out.append(body.substr(0, star));
            }
            i = close;
        }
    }
    if (out.size() > kMaxCaseBytes) {
        error = "more than 1 MiB of bytes";
        return false;
    }
    return true;
}

int hex_digit(char c) {
    const std::string_view digits = "0123456789abcdef";
    const std::size_t at = digits.find(static_cast<char>(c >= 'A' && c <= 'F' ? c + 32 : c));
    return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

// \r \n \t \0 \xHH \\ \{ -> the bytes they name.
bool unescape(std::string_view in, std::string& out, std::string& error) {
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '\\') {
            out.push_back(in[i]);
            continue;
        }
        const char e = i + 1 < in.size() ? in[i + 1] : '\0';
        const std::string_view simple = "rnt0\\{";
        const std::string_view decoded("\r\n\t\0\\{", 6);
        if (simple.find(e) != std::string_view::npos && i + 1 < in.size()) {
            out.push_back(decoded[simple.find(e)]);
            ++i;
        } else if (e == 'x' && i + 3 < in.size() && hex_digit(in[i + 2]) >= 0 &&
                   hex_digit(in[i + 3]) >= 0) {
            out.push_back(static_cast<char>(hex_digit(in[i + 2]) * 16 + hex_digit(in[i + 3])));
            i += 3;
        } else {
            error = "bad escape at column " + std::to_string(i + 1);
            return false;
        }
    }
    return true;
}

std::string sanitise(std::string_view name) {
    std::string out;
    for (char c : name) {
        const bool ok =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        out.push_back(ok ? c : '_');
    }
    return out;
}

// The cases of the corpus, or one case carrying the reason it could not be read (test
// instantiation runs before main(), where failures cannot be reported yet).
std::vector<SmugglingCase> load_cases(const std::string& path) {
    std::vector<SmugglingCase> cases;
    const auto failed = [&](int line, const std::string& why) {
        SmugglingCase c;
        c.name = "corpus_error";
        c.line = line;
        c.error = path + ":" + std::to_string(line) + ": " + why;
        return std::vector<SmugglingCase>{c};
    };
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return failed(0, "cannot open the corpus");
    }
    const char* const keys[] = {"case: ", "expect: ", "bytes: "};
    std::set<std::string> names;
    SmugglingCase current;
    int next_key = 0;
    int number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back(); // a CRLF checkout; CR in the bytes is always written as \r
        }
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const std::string_view key = keys[next_key];
        if (line.compare(0, key.size(), key) != 0) {
            return failed(number, "expected a line starting with \"" + std::string(key) + "\"");
        }
        const std::string value = line.substr(key.size());
        std::string error;
        if (next_key == 0) {
            current = SmugglingCase();
            current.name = sanitise(value);
            current.line = number;
            if (value.empty() || !names.insert(current.name).second) {
                return failed(number, "empty or repeated case name \"" + current.name + "\"");
            }
        } else if (next_key == 1 && value != "forward") {
            if (value.size() != 3 || value.find_first_not_of("0123456789") != std::string::npos ||
                value < "100" || value > "599") {
                return failed(number, "expect is \"forward\" or a status, not \"" + value + "\"");
            }
            current.status = std::stoi(value);
        } else if (next_key == 2) {
            std::string expanded;
            if (!expand(value, expanded, error) || !unescape(expanded, current.bytes, error)) {
                return failed(number, error);
            }
            cases.push_back(current);
        }
        next_key = (next_key + 1) % 3;
    }
    if (next_key != 0) {
        return failed(number, "the last case is incomplete");
    }
    if (cases.empty()) {
        return failed(number, "no cases");
    }
    return cases;
}

bool is_token(std::string_view s) {
    return !s.empty() &&
           s.find_first_not_of("!#$%&'*+-.^_`|~0123456789"
                               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
               std::string_view::npos;
}

// One framing and one Host, nothing a second parser could read another way.
void expect_unambiguous(const ReceivedRequest& request) {
    SCOPED_TRACE("origin received " + request.method + " " + request.target);
    EXPECT_EQ(request.header_count("Host"), 1u);
    EXPECT_LE(request.header_count("Content-Length"), 1u);
    const std::size_t te = request.header_count("Transfer-Encoding");
    EXPECT_FALSE(te > 0 && request.has_header("Content-Length"));
    if (te > 0) {
        EXPECT_EQ(te, 1u);
        EXPECT_EQ(request.header("Transfer-Encoding"), "chunked");
        EXPECT_TRUE(request.chunked);
    }
    for (const auto& [name, value] : request.headers) {
        EXPECT_TRUE(is_token(name)) << "field name \"" << name << "\"";
        EXPECT_EQ(name.find_first_of(std::string_view("\r\n\0", 3)), std::string::npos) << name;
        EXPECT_EQ(value.find_first_of(std::string_view("\r\n\0", 3)), std::string::npos)
            << name << ": " << value;
    }
}

class Smuggling : public ::testing::TestWithParam<SmugglingCase> {};

TEST_P(Smuggling, IsRefusedOrForwardedUnambiguously) {
    const SmugglingCase& c = GetParam();
    ASSERT_TRUE(c.error.empty()) << c.error;
    ScriptedOrigin origin;
    origin.on_any([](OriginExchange& x) { x.respond(200, {}, "from the origin"); });
    LacquerProcess proxy(TestConfig()
                             .origin(origin.address())
                             .limit("max_header_bytes", "4KiB")
                             .limit("max_uri_bytes", "1KiB")
                             .limit("max_body_bytes", "1KiB")
                             .extra("default_route: { pass: true }\n"));
    ASSERT_TRUE(proxy.started());
    HttpClient client;
    ASSERT_TRUE(client.connect(proxy.port()));
    ASSERT_TRUE(client.send_raw(c.bytes));
    Response r = client.read_response();
    if (c.status != 0) {
        EXPECT_EQ(r.status, c.status) << r.summary();
        // lacquerd's own answer ("400 Bad Request\n"), not an origin's relayed refusal.
        EXPECT_EQ(r.body.rfind(std::to_string(c.status) + " ", 0), 0u) << r.body;
        EXPECT_EQ(r.header("Connection"), "close");
        EXPECT_TRUE(client.is_closed_by_peer(5s));
        EXPECT_EQ(client.received(), "") << "bytes after the refusal";
        // Anything forwarded before the refusal has had time to arrive (bounded wait).
        EXPECT_FALSE(origin.wait_for_requests(1, 200ms));
        EXPECT_EQ(origin.total_requests(), 0u);
    } else {
        EXPECT_TRUE(r.status >= 200 && r.status < 300) << r.summary();
        EXPECT_EQ(r.body, "from the origin");
        // A request split in two would get a second answer here (bounded wait).
        EXPECT_FALSE(client.received_contains("HTTP/", 200ms)) << client.received();
        EXPECT_EQ(origin.total_requests(), 1u);
    }
    const std::vector<ReceivedRequest> received = origin.requests();
    EXPECT_LE(received.size(), 1u);
    for (const ReceivedRequest& request : received) {
        EXPECT_NE(request.path, "/smuggled");
        expect_unambiguous(request);
    }
}

INSTANTIATE_TEST_SUITE_P(Corpus, Smuggling,
                         ::testing::ValuesIn(load_cases(LACQUER_SMUGGLING_CORPUS)),
                         [](const auto& param_info) { return param_info.param.name; });

} // namespace
} // namespace lacquer::test
