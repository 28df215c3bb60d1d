#pragma once
// JSON string values for everything Lacquer writes as JSON (access log, transaction log, admin
// answers, lacquerctl --json): one escaping, so no writer turns UTF-8 into Latin-1 escapes.

#include <cstddef>
#include <string>
#include <string_view>

namespace lacquer::core {

// The length of the well-formed UTF-8 sequence at the front of `s` (RFC 3629: no overlong
// forms, no surrogates, nothing past U+10FFFF), or 0 when there is none (or `s` is empty).
std::size_t utf8_sequence(std::string_view s);

// `text` escaped for the inside of a JSON string: \" \\ \n \r \t, other control bytes and DEL as
// \u00XX; well-formed UTF-8 as it is (a parser reads back the same characters); a byte that is
// not part of a sequence as \udcXX, the lone surrogate that Python's surrogateescape and others
// read back as that byte (strict parsers read U+FFFD): nothing is lost or read as Latin-1.
void append_json_escaped(std::string& out, std::string_view text);

// `text` as a JSON string, quotes included.
void append_json_string(std::string& out, std::string_view text);
std::string json_string(std::string_view text);

} // namespace lacquer::core
