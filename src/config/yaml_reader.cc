// Strict conversions from yaml-cpp nodes. yaml-cpp's own as<T>() is not used: it accepts
// "0x10", "yes" and "-1" for unsigned, which a config file should not.
#include "yaml_reader.h"

#include "field_syntax.h"
#include "lacquer/config/load.h"
#include "lacquer/config/units.h"

#include <algorithm>
#include <charconv>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <yaml-cpp/depthguard.h>

namespace lacquer::config::detail {

namespace {

std::string child_path(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string joined(std::initializer_list<std::string_view> names) {
    std::string out;
    for (std::string_view name : names) {
        out += out.empty() ? "" : ", ";
        out += name;
    }
    return out;
}

// Notes where documents start and builds nothing: enough to tell whether there is a second one.
class DocumentStarts final : public YAML::EventHandler {
public:
    void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}

    std::vector<YAML::Mark> starts;
};

} // namespace

YAML::Node parse_one_document(std::string_view text, const std::string& file) {
    const std::string input(text);
    try {
        YAML::Node root = YAML::Load(input); // the first document only
        // A second pass, bounded to two documents, to refuse what Load would silently drop.
        std::istringstream stream(input);
        YAML::Parser parser(stream);
        DocumentStarts documents;
        if (parser.HandleNextDocument(documents) && parser.HandleNextDocument(documents)) {
            const YAML::Mark& first = documents.starts.front();
            const YAML::Mark& second = documents.starts.back();
            if (second.pos == first.pos) {
                // The parser did not move: a token it cannot place (yaml-cpp reports nothing).
                const auto at = static_cast<std::size_t>(std::max(second.pos, 0));
                throw ConfigError(to_source_mark(second, file),
                                  "invalid YAML: unexpected " + quoted(text.substr(at, 1)));
            }
            throw ConfigError(to_source_mark(second, file), "only one YAML document is allowed");
        }
        return root;
    } catch (const YAML::DeepRecursion& error) {
        // yaml-cpp's own message for this is "bad file".
        throw ConfigError(to_source_mark(error.mark, file), "invalid YAML: nested too deeply");
    } catch (const YAML::Exception& error) {
        throw ConfigError(to_source_mark(error.mark, file), "invalid YAML: " + escaped(error.msg));
    }
}

SourceMark to_source_mark(const YAML::Mark& mark, const std::string& file) {
    return SourceMark{file, std::max(mark.line, 0) + 1, std::max(mark.column, 0) + 1};
}

YamlValue::YamlValue(const YAML::Node& node, SourceMark mark, std::string path)
    : node_(node), mark_(std::move(mark)), path_(std::move(path)) {}

void YamlValue::fail(const std::string& problem) const {
    throw ConfigError(mark_, path_.empty() ? problem : path_ + ": " + problem);
}

std::string YamlValue::describe() const {
    if (is_map()) {
        return "a map";
    }
    if (is_list()) {
        return "a list";
    }
    if (is_scalar()) {
        return quoted(node_.Scalar());
    }
    return "nothing";
}

std::string YamlValue::as_string() const {
    if (!is_scalar()) {
        fail("expected a string, got " + describe());
    }
    const std::string& text = node_.Scalar();
    if (!is_printable(text)) {
        fail("control characters are not allowed, got " + quoted(text));
    }
    return text;
}

std::optional<bool> YamlValue::bool_value() const {
    // The YAML 1.2 core schema; not yaml-cpp's YAML 1.1 yes/no/on/off.
    const std::string text = is_scalar() ? node_.Scalar() : std::string();
    if (text == "true" || text == "True" || text == "TRUE") {
        return true;
    }
    if (text == "false" || text == "False" || text == "FALSE") {
        return false;
    }
    return std::nullopt;
}

bool YamlValue::as_bool() const {
    const std::optional<bool> value = bool_value();
    if (!value) {
        fail("expected true or false, got " + describe());
    }
    return *value;
}

std::optional<std::uint64_t> YamlValue::uint_value() const {
    if (!is_scalar()) {
        return std::nullopt;
    }
    const std::string& text = node_.Scalar();
    const char* end = text.data() + text.size();
    std::uint64_t value = 0;
    const bool digits_only = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return c >= '0' && c <= '9';
    });
    if (!digits_only || std::from_chars(text.data(), end, value).ptr != end) {
        return std::nullopt;
    }
    return value;
}

std::uint64_t YamlValue::as_uint(std::uint64_t min, std::uint64_t max) const {
    const std::optional<std::uint64_t> value = uint_value();
    if (!value || *value < min || *value > max) {
        fail("expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
             ", got " + describe());
    }
    return *value;
}

Duration YamlValue::as_duration(Duration min) const {
    const std::optional<Duration> value =
        is_scalar() ? parse_duration(node_.Scalar()) : std::nullopt;
    if (!value) {
        fail("expected a duration such as 250ms, 30s, 10m or 1h, got " + describe());
    }
    if (*value < min) {
        fail("must be at least " + format_duration(min) + ", got " + describe());
    }
    return *value;
}

std::uint64_t YamlValue::as_size(std::uint64_t min) const {
    const std::optional<std::uint64_t> value =
        is_scalar() ? parse_size(node_.Scalar()) : std::nullopt;
    if (!value) {
        fail("expected a size such as 512B, 64KiB, 16MiB or 1GiB, got " + describe());
    }
    if (*value < min) {
        fail("must be at least " + format_size(min) + ", got " + describe());
    }
    return *value;
}

std::vector<YamlValue> YamlValue::as_list() const {
    if (!is_list()) {
        fail("expected a list, got " + describe());
    }
    std::vector<YamlValue> items;
    items.reserve(node_.size());
    std::size_t index = 0;
    for (const YAML::Node& item : node_) {
        items.emplace_back(item, to_source_mark(item.Mark(), mark_.file),
                           path_ + "[" + std::to_string(index++) + "]");
    }
    return items;
}

std::vector<std::string> YamlValue::as_string_set(const ItemCheck& check, bool ignore_case) const {
    std::vector<std::string> out;
    std::unordered_set<std::string> seen; // folded to lower case when case does not matter
    for (const YamlValue& item : as_list()) {
        std::string text = item.as_string();
        if (const std::string problem = check(text); !problem.empty()) {
            item.fail(problem + ", got " + quoted(text));
        }
        std::string folded = text;
        if (ignore_case) {
            std::transform(folded.begin(), folded.end(), folded.begin(), ascii_lower);
        }
        if (!seen.insert(std::move(folded)).second) {
            item.fail(quoted(text) + " is listed twice");
        }
        out.push_back(std::move(text));
    }
    return out;
}

YamlMap::YamlMap(const YamlValue& value) : mark_(value.mark()), path_(value.path()) {
    if (value.is_null()) {
        return;
    }
    if (!value.is_map()) {
        value.fail("expected a map, got " + value.describe());
    }
    std::unordered_map<std::string, int> first_lines; // key -> line, to name the first one
    // By value: yaml-cpp's iterator hands out proxies, and references into them dangle.
    for (const auto& pair : value.node()) {
        const YAML::Node key = pair.first;
        const YAML::Node item = pair.second;
        const SourceMark key_mark = to_source_mark(key.Mark(), mark_.file);
        if (!key.IsScalar()) {
            const YamlValue key_value(key, key_mark, path_);
            key_value.fail("keys must be strings, got " + key_value.describe());
        }
        const std::string& name = key.Scalar();
        if (!is_printable(name)) {
            throw ConfigError(key_mark, (path_.empty() ? "" : path_ + ": ") +
                                            "keys must not contain control characters");
        }
        // yaml-cpp keeps both pairs of a repeated key and find() would see only the first.
        if (const auto [first, added] = first_lines.emplace(name, key_mark.line); !added) {
            throw ConfigError(key_mark, "duplicate key `" + child_path(path_, name) +
                                            "` (first at line " + std::to_string(first->second) +
                                            ")");
        }
        // An empty value has no position of its own (yaml-cpp puts it at the next token), so
        // errors about it point at its key.
        SourceMark item_mark = item.IsNull() ? key_mark : to_source_mark(item.Mark(), mark_.file);
        entries_.push_back(
            Entry{name, key_mark, YamlValue(item, std::move(item_mark), child_path(path_, name))});
    }
}

YamlMap YamlMap::with_keys(const YamlValue& value, std::initializer_list<std::string_view> known) {
    YamlMap map(value);
    for (const Entry& entry : map.entries_) {
        if (std::find(known.begin(), known.end(), entry.key) == known.end()) {
            throw ConfigError(entry.key_mark, "unknown key `" + child_path(map.path_, entry.key) +
                                                  "` (known keys: " + joined(known) + ")");
        }
    }
    return map;
}

YamlMap YamlMap::with_any_keys(const YamlValue& value) {
    return YamlMap(value);
}

const YamlMap::Entry* YamlMap::find_entry(std::string_view key) const {
    for (const Entry& entry : entries_) {
        if (entry.key == key) {
            return &entry;
        }
    }
    return nullptr;
}

std::optional<YamlValue> YamlMap::find(std::string_view key) const {
    const Entry* entry = find_entry(key);
    return entry ? std::optional<YamlValue>(entry->value) : std::nullopt;
}

YamlValue YamlMap::require(std::string_view key) const {
    std::optional<YamlValue> value = find(key);
    if (!value) {
        const std::string prefix = path_.empty() ? "" : path_ + ": ";
        throw ConfigError(mark_, prefix + "missing required key `" + std::string(key) + "`");
    }
    return *value;
}

} // namespace lacquer::config::detail
