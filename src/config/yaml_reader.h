#pragma once
// A thin, strict view over yaml-cpp nodes for the schema walk: every value knows where it is
// (SourceMark) and what it is called ("origins.api.servers[0].weight"), so every conversion
// failure becomes a ConfigError with FILE:LINE:COL. Maps are checked when opened: keys must be
// plain strings, appear once, and (for fixed-shape maps) be known. yaml-cpp stays in here and
// in the loader; it never reaches a public header.

#include "lacquer/config/config.h"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace lacquer::config::detail {

// yaml-cpp marks are 0-based and may be unset (-1); ours are 1-based and always >= 1.
SourceMark to_source_mark(const YAML::Mark& mark, const std::string& file);

// The one YAML document in `text` (a null node when there is none). Throws ConfigError for
// syntax errors and for a second document. Used instead of YAML::LoadAll, which in yaml-cpp
// 0.7 loops forever, allocating, on inputs such as "," (jbeder/yaml-cpp#1040, fixed in 0.8).
YAML::Node parse_one_document(std::string_view text, const std::string& file);

class YamlValue {
public:
    YamlValue(const YAML::Node& node, SourceMark mark, std::string path);
    YamlValue(const YamlValue&) = default;
    YamlValue(YamlValue&&) = default;
    // No assignment: YAML::Node's operator= writes through to the node it refers to instead of
    // rebinding, so assigning a YamlValue would change the document being read.
    YamlValue& operator=(const YamlValue&) = delete;
    YamlValue& operator=(YamlValue&&) = delete;

    const SourceMark& mark() const { return mark_; }
    const std::string& path() const { return path_; }
    const YAML::Node& node() const { return node_; }

    // Throws ConfigError at this value: "PATH: problem".
    [[noreturn]] void fail(const std::string& problem) const;

    bool is_null() const { return node_.IsNull(); }
    bool is_map() const { return node_.IsMap(); }
    bool is_list() const { return node_.IsSequence(); }
    bool is_scalar() const { return node_.IsScalar(); }
    // "a map", "a list", "nothing" or the quoted scalar, for "expected X, got Y".
    std::string describe() const;

    // The conversions fail (throw) unless the value has the asked-for shape.
    std::string as_string() const;                   // any scalar without control characters
    bool as_bool() const;                            // true | false
    std::optional<bool> bool_value() const;          // as_bool() without the throw
    std::optional<std::uint64_t> uint_value() const; // decimal digits only; no throw
    std::uint64_t as_uint(std::uint64_t min, std::uint64_t max) const;
    Duration as_duration(Duration min = Duration::zero()) const;
    std::uint64_t as_size(std::uint64_t min = 0) const;
    std::vector<YamlValue> as_list() const;
    // A list of distinct strings; `check` returns the problem with one item, or "" when fine.
    using ItemCheck = std::function<std::string(std::string_view)>;
    std::vector<std::string> as_string_set(const ItemCheck& check, bool ignore_case = false) const;

    // One of the given names, e.g. round_robin | least_connections.
    template <typename E>
    E as_enum(std::initializer_list<std::pair<std::string_view, E>> names) const {
        const std::string text = is_scalar() ? node_.Scalar() : std::string();
        std::string expected;
        for (const auto& [name, value] : names) {
            if (text == name) {
                return value;
            }
            expected += expected.empty() ? "" : ", ";
            expected += name;
        }
        fail("expected one of " + expected + ", got " + describe());
    }

private:
    YAML::Node node_;
    SourceMark mark_;
    std::string path_;
};

class YamlMap {
public:
    struct Entry {
        std::string key;
        SourceMark key_mark;
        YamlValue value;
    };

    // A map whose keys are fixed by the schema; any other key is an error at that key.
    // A null value (`section:` with nothing after it) reads as an empty map.
    static YamlMap with_keys(const YamlValue& value, std::initializer_list<std::string_view> known);
    // A map whose keys are user-chosen names (origins, variants).
    static YamlMap with_any_keys(const YamlValue& value);

    const Entry* find_entry(std::string_view key) const;
    std::optional<YamlValue> find(std::string_view key) const;
    // Fails at the map itself when the key is absent.
    YamlValue require(std::string_view key) const;

    const std::vector<Entry>& entries() const { return entries_; }
    const SourceMark& mark() const { return mark_; }
    const std::string& path() const { return path_; }

private:
    explicit YamlMap(const YamlValue& value);

    std::vector<Entry> entries_; // file order
    SourceMark mark_;
    std::string path_;
};

} // namespace lacquer::config::detail
