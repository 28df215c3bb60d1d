#include "lacquer/http/structured_field.h"

#include <algorithm>

namespace lacquer::http::sf {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_lcalpha(char c) {
    return c >= 'a' && c <= 'z';
}
bool is_alpha(char c) {
    return is_lcalpha(c) || (c >= 'A' && c <= 'Z');
}

// tchar of RFC 9110 §5.6.2.
bool is_tchar(char c) {
    return is_alpha(c) || is_digit(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_base64(char c) {
    return is_alpha(c) || is_digit(c) || c == '+' || c == '/' || c == '=';
}

// A cursor over the input; every parse_* consumes what it read, or returns false.
class Parser {
public:
    explicit Parser(std::string_view in) : in_(in) {}

    bool empty() const { return at_ == in_.size(); }
    char peek() const { return empty() ? '\0' : in_[at_]; }
    void skip_sp() {
        while (peek() == ' ') {
            ++at_;
        }
    }
    void skip_ows() {
        while (peek() == ' ' || peek() == '\t') {
            ++at_;
        }
    }
    template <typename Pred> void skip_while(Pred pred) {
        while (!empty() && pred(peek())) {
            ++at_;
        }
    }
    bool eat(char c) {
        if (empty() || in_[at_] != c) {
            return false;
        }
        ++at_;
        return true;
    }

    // §4.2.3.3: lcalpha or '*', then lcalpha, DIGIT, '_', '-', '.', '*'.
    bool parse_key(std::string_view& key) {
        const std::size_t start = at_;
        if (!is_lcalpha(peek()) && peek() != '*') {
            return false;
        }
        skip_while([](char c) {
            return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*';
        });
        key = in_.substr(start, at_ - start);
        return true;
    }

    // §4.2.3.1: Bare Item.
    bool parse_bare_item(DictMember& m) {
        const char c = peek();
        if (c == '-' || is_digit(c)) {
            return parse_number(m);
        }
        if (c == '"') {
            return parse_string(m);
        }
        if (is_alpha(c) || c == '*') {
            return parse_token(m);
        }
        if (c == ':') {
            return parse_bytes(m);
        }
        if (c == '?') {
            return parse_boolean(m);
        }
        return false;
    }

    // §4.2.3.2: Parameters, validated and dropped.
    bool parse_parameters() {
        while (eat(';')) {
            skip_sp();
            std::string_view key;
            if (!parse_key(key)) {
                return false;
            }
            DictMember value;
            if (eat('=') && !parse_bare_item(value)) {
                return false;
            }
        }
        return true;
    }

    // §4.2.1.2: Inner List (the cursor is on '(').
    bool parse_inner_list(DictMember& m) {
        const std::size_t start = at_;
        eat('(');
        for (;;) {
            skip_sp();
            if (eat(')')) {
                return text_item(m, ItemType::InnerList, in_.substr(start, at_ - start)) &&
                       parse_parameters();
            }
            DictMember item;
            if (!parse_bare_item(item) || !parse_parameters()) {
                return false;
            }
            if (peek() != ' ' && peek() != ')') {
                return false;
            }
        }
    }

    // §4.2.1.1 via §4.2.2: an Item or an Inner List, with its parameters.
    bool parse_item_or_inner_list(DictMember& m) {
        if (peek() == '(') {
            return parse_inner_list(m);
        }
        return parse_bare_item(m) && parse_parameters();
    }

private:
    static bool text_item(DictMember& m, ItemType type, std::string_view text) {
        m.type = type;
        m.integer = 0;
        m.text = text;
        return true;
    }

    // §4.2.4: Integer (at most 15 digits) or Decimal (at most 12 + 3 digits).
    bool parse_number(DictMember& m) {
        const bool negative = eat('-');
        if (!is_digit(peek())) {
            return false;
        }
        std::int64_t whole = 0;
        std::size_t int_digits = 0;
        while (is_digit(peek())) {
            if (++int_digits > 15) {
                return false;
            }
            whole = whole * 10 + (in_[at_++] - '0');
        }
        if (peek() != '.') {
            m.type = ItemType::Integer;
            m.integer = negative ? -whole : whole;
            return true;
        }
        if (int_digits > 12) {
            return false;
        }
        ++at_;
        std::int64_t frac = 0;
        std::size_t frac_digits = 0;
        while (is_digit(peek())) {
            if (++frac_digits > 3) {
                return false;
            }
            frac = frac * 10 + (in_[at_++] - '0');
        }
        if (frac_digits == 0) {
            return false; // "1." is not a Decimal
        }
        for (std::size_t i = frac_digits; i < 3; ++i) {
            frac *= 10;
        }
        m.type = ItemType::Decimal;
        m.integer = (negative ? -1 : 1) * (whole * 1000 + frac);
        return true;
    }

    // §4.2.5: String: printable ASCII, with \" and \\ the only escapes.
    bool parse_string(DictMember& m) {
        eat('"');
        const std::size_t start = at_;
        while (!empty()) {
            const char c = in_[at_++];
            if (c == '\\') {
                if (peek() != '"' && peek() != '\\') {
                    return false;
                }
                ++at_;
            } else if (c == '"') {
                return text_item(m, ItemType::String, in_.substr(start, at_ - 1 - start));
            } else if (c < 0x20 || c > 0x7e) {
                return false;
            }
        }
        return false; // no closing quote
    }

    // §4.2.6: Token.
    bool parse_token(DictMember& m) {
        const std::size_t start = at_++;
        skip_while([](char c) { return is_tchar(c) || c == ':' || c == '/'; });
        return text_item(m, ItemType::Token, in_.substr(start, at_ - start));
    }

    // §4.2.7: Byte Sequence.
    bool parse_bytes(DictMember& m) {
        eat(':');
        const std::size_t start = at_;
        skip_while(is_base64);
        const std::size_t end = at_;
        return eat(':') && text_item(m, ItemType::ByteSequence, in_.substr(start, end - start));
    }

    // §4.2.8: Boolean.
    bool parse_boolean(DictMember& m) {
        eat('?');
        if (peek() != '0' && peek() != '1') {
            return false;
        }
        m.type = ItemType::Boolean;
        m.integer = in_[at_++] - '0';
        return true;
    }

    std::string_view in_;
    std::size_t at_ = 0;
};

bool parse_members(Parser& p, std::vector<DictMember>& out) {
    p.skip_sp(); // §4.2: leading SP is discarded
    while (!p.empty()) {
        DictMember m;
        if (!p.parse_key(m.key)) {
            return false;
        }
        if (p.eat('=')) {
            if (!p.parse_item_or_inner_list(m)) {
                return false;
            }
        } else if (!p.parse_parameters()) { // Boolean true, with parameters
            return false;
        }
        const auto same = std::find_if(out.begin(), out.end(),
                                       [&m](const DictMember& o) { return o.key == m.key; });
        if (same != out.end()) {
            *same = m; // the last value wins, in the first one's place
        } else {
            out.push_back(m);
        }
        p.skip_ows();
        if (p.empty()) {
            return true;
        }
        if (!p.eat(',')) {
            return false;
        }
        p.skip_ows();
        if (p.empty()) {
            return false; // a trailing comma
        }
    }
    return true;
}

} // namespace

bool parse_dictionary(std::string_view field, std::vector<DictMember>& out) {
    out.clear();
    Parser p(field);
    if (!parse_members(p, out)) {
        out.clear();
        return false;
    }
    return true;
}

} // namespace lacquer::http::sf
