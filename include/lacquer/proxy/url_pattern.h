#pragma once
// A regular expression that meets request input: a route's path_regex against each request's
// path, an admin ban against every stored URL. RE2 syntax, matched by automata in time linear in
// the input, so no pattern and no path can hold a worker or a store lock (backtracking engines
// such as std::regex take exponential time on `^/a/(\w+/?)*$` and a 35-byte path). What only a
// backtracking engine can do, backreferences and lookaround, is refused when compiling. The text
// is matched as bytes (Latin-1: `.` is one byte), before any percent-decoding.
// Immutable once compiled; match() may be called from any thread at once.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lacquer::proxy {

class UrlPattern {
public:
    // Longer patterns are refused: compiling is bounded like matching.
    static constexpr std::size_t kMaxBytes = 1024;
    // Memory for one compiled pattern and its match cache; a pattern that needs more is refused
    // (a cache that fills up falls back to a slower automaton, still linear).
    static constexpr std::size_t kMaxMemory = 1 << 20;
    // Instructions of the compiled program: what one input byte may cost on that slower
    // automaton. `^/v3/listings/[0-9]+$` takes 20; `[a-z]{1000}` 1,004.
    static constexpr int kMaxProgramSize = 4096;

    // nullopt and `error` set ("lookaround (?= is not supported", ...) when `pattern` is not an
    // RE2 pattern within the bounds.
    static std::optional<UrlPattern> compile(std::string_view pattern, std::string& error);

    UrlPattern(UrlPattern&&) noexcept;
    UrlPattern& operator=(UrlPattern&&) noexcept;
    ~UrlPattern();

    // True when the pattern matches somewhere in `text` (anchor it with ^ and $ for the whole).
    bool matches(std::string_view text) const;
    const std::string& pattern() const;

private:
    struct Compiled;
    explicit UrlPattern(std::unique_ptr<const Compiled> compiled);
    std::unique_ptr<const Compiled> compiled_;
};

} // namespace lacquer::proxy
