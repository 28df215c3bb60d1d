#include "lacquer/proxy/url_pattern.h"

#include <cstdint>
#include <re2/re2.h>
#include <string>

namespace lacquer::proxy {

struct UrlPattern::Compiled {
    explicit Compiled(std::string_view pattern, const RE2::Options& options)
        : re(re2::StringPiece(pattern.data(), pattern.size()), options) {}
    RE2 re;
};

namespace {

std::string too_complex() {
    return "the regex is too complex (it compiles to over " +
           std::to_string(UrlPattern::kMaxProgramSize) + " instructions)";
}

// Says what a backtracking engine would have accepted in words an operator can act on; RE2's
// own message ("invalid perl operator: (?=") names the symptom, not the reason.
std::string explain(const RE2& re) {
    const std::string& arg = re.error_arg();
    if (re.error_code() == RE2::ErrorBadPerlOp && (arg == "(?=" || arg == "(?!" || arg == "(?<")) {
        return "lookaround " + arg + " is not supported (RE2 syntax: no lookahead or lookbehind, " +
               "so that matching is linear in the input)";
    }
    if (re.error_code() == RE2::ErrorBadEscape && arg.size() == 2 &&
        ((arg[1] >= '1' && arg[1] <= '9') || arg[1] == 'k')) {
        return "backreference " + arg + " is not supported (RE2 syntax: no backreferences, " +
               "so that matching is linear in the input)";
    }
    if (re.error_code() == RE2::ErrorPatternTooLarge) {
        return too_complex();
    }
    return re.error() + " (RE2 syntax)";
}

} // namespace

std::optional<UrlPattern> UrlPattern::compile(std::string_view pattern, std::string& error) {
    if (pattern.size() > kMaxBytes) {
        error = "the regex is longer than " + std::to_string(kMaxBytes) + " bytes";
        return std::nullopt;
    }
    RE2::Options options;
    options.set_log_errors(false); // the caller reports the error where it belongs
    options.set_max_mem(static_cast<std::int64_t>(kMaxMemory));
    options.set_encoding(RE2::Options::EncodingLatin1); // a path is bytes, not UTF-8
    options.set_dot_nl(true);
    auto compiled = std::make_unique<const Compiled>(pattern, options);
    if (!compiled->re.ok()) {
        error = explain(compiled->re);
        return std::nullopt;
    }
    if (compiled->re.ProgramSize() > kMaxProgramSize) {
        error = too_complex();
        return std::nullopt;
    }
    return UrlPattern(std::move(compiled));
}

UrlPattern::UrlPattern(std::unique_ptr<const Compiled> compiled) : compiled_(std::move(compiled)) {}
UrlPattern::UrlPattern(UrlPattern&&) noexcept = default;
UrlPattern& UrlPattern::operator=(UrlPattern&&) noexcept = default;
UrlPattern::~UrlPattern() = default;

bool UrlPattern::matches(std::string_view text) const {
    return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), compiled_->re);
}

const std::string& UrlPattern::pattern() const {
    return compiled_->re.pattern();
}

} // namespace lacquer::proxy
