// Variant resolution: source precedence, query/cookie/header parsing, Accept-Language lookup,
// and hostile values that must still resolve inside the closed set.
#include "cache/request_text.h"
#include "lacquer/cache/variant_set.h"
#include "lacquer/http/head.h"
#include "unit/cache/variant_fixtures.h"

#include <gtest/gtest.h>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lacquer::cache {
namespace {

using fixtures::example_variants;
using fixtures::variant_config;

// Owns the bytes a HeaderList points at.
class Headers {
public:
    Headers(std::initializer_list<std::pair<std::string, std::string>> items)
        : Headers(std::vector<std::pair<std::string, std::string>>(items)) {}
    explicit Headers(std::vector<std::pair<std::string, std::string>> items)
        : storage_(std::move(items)) {
        for (const auto& [name, value] : storage_) {
            list_.items[list_.count++] = http::Header{name, value};
        }
    }
    Headers(const Headers&) = delete;
    Headers& operator=(const Headers&) = delete;
    const http::HeaderList* get() const { return &list_; }

private:
    std::vector<std::pair<std::string, std::string>> storage_;
    http::HeaderList list_;
};

class VariantSetTest : public ::testing::Test {
protected:
    std::string_view resolved(std::string_view variant, std::string_view query,
                              const Headers& headers) const {
        const Variant* found = set_.find(variant);
        EXPECT_NE(found, nullptr);
        const std::uint8_t index = resolve(*found, RequestView{"h", "/", query, headers.get()});
        EXPECT_LT(index, found->values.size());
        return found->value(index);
    }

    VariantSet set_{example_variants()};
};

TEST_F(VariantSetTest, CompilesSourcesValuesAndDefaults) {
    ASSERT_EQ(set_.size(), 3U);
    const Variant& locale = set_.at(0);
    EXPECT_EQ(locale.name, "locale");
    ASSERT_EQ(locale.sources.size(), 3U);
    EXPECT_EQ(locale.sources[0].kind, Variant::Source::Kind::Query);
    EXPECT_EQ(locale.sources[1].kind, Variant::Source::Kind::Cookie);
    EXPECT_EQ(locale.sources[2].kind, Variant::Source::Kind::Header);
    EXPECT_TRUE(locale.sources[2].language_ranges);
    EXPECT_FALSE(set_.at(1).sources[2].language_ranges);
    EXPECT_EQ(locale.default_index, 0);
    EXPECT_EQ(set_.at(2).forward_header, "X-Lacquer-region");
    EXPECT_EQ(set_.find("region"), &set_.at(2));
    EXPECT_EQ(set_.find("Region"), nullptr);
}

TEST(VariantSetConfig, RefusesWhatTheLoaderShouldHaveRefused) {
    std::vector<std::string> many;
    for (int i = 0; i < 256; ++i) {
        many.push_back("v" + std::to_string(i));
    }
    EXPECT_THROW(VariantSet({variant_config("x", {"header:X"}, many, "v0")}),
                 std::invalid_argument);
    many.pop_back();
    EXPECT_NO_THROW(VariantSet({variant_config("x", {"header:X"}, many, "v254")}));
    EXPECT_THROW(VariantSet({variant_config("x", {"header:X"}, {"a"}, "b")}),
                 std::invalid_argument);
    EXPECT_THROW(VariantSet({variant_config("x", {"body:X"}, {"a"}, "a")}), std::invalid_argument);
    EXPECT_THROW(VariantSet({variant_config("x", {"query:"}, {"a"}, "a")}), std::invalid_argument);
    EXPECT_THROW(VariantSet({variant_config("x", {"header:X"}, {}, "a")}), std::invalid_argument);
}

struct PrecedenceCase {
    const char* name;
    const char* query;
    const char* cookie;          // "" = no Cookie header
    const char* accept_language; // "" = no Accept-Language header
    const char* expected;
};

class VariantPrecedence : public VariantSetTest,
                          public ::testing::WithParamInterface<PrecedenceCase> {};

TEST_P(VariantPrecedence, FirstPresentAllowedSourceWins) {
    const PrecedenceCase& c = GetParam();
    std::vector<std::pair<std::string, std::string>> items;
    if (*c.cookie != '\0') {
        items.emplace_back("Cookie", c.cookie);
    }
    if (*c.accept_language != '\0') {
        items.emplace_back("Accept-Language", c.accept_language);
    }
    const Headers used(std::move(items));
    EXPECT_EQ(resolved("locale", c.query, used), c.expected) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Table, VariantPrecedence,
    ::testing::Values(
        PrecedenceCase{"nothing", "", "", "", "en-US"},
        PrecedenceCase{"query beats all", "locale=fr-FR", "locale=ja-JP", "de", "fr-FR"},
        PrecedenceCase{"cookie beats header", "", "locale=ja-JP", "de", "ja-JP"},
        PrecedenceCase{"header alone", "", "", "de", "de-DE"},
        PrecedenceCase{"unknown query falls through", "locale=xx-XX", "locale=ja-JP", "", "ja-JP"},
        PrecedenceCase{"unknown cookie falls through", "", "locale=xx", "fr", "fr-FR"},
        PrecedenceCase{"all unknown", "locale=xx", "locale=yy", "zz", "en-US"},
        PrecedenceCase{"query without value", "locale", "locale=ja-JP", "", "ja-JP"},
        PrecedenceCase{"first query occurrence decides", "locale=xx&locale=fr-FR", "", "", "en-US"},
        PrecedenceCase{"query value case-folded", "locale=DE-de", "", "", "de-DE"},
        PrecedenceCase{"query value percent-decoded", "locale=de%2Dde", "", "", "de-DE"},
        PrecedenceCase{"query name percent-decoded", "loc%61le=ja-JP", "", "", "ja-JP"},
        PrecedenceCase{"invalid escape falls through", "locale=de%G1DE", "locale=fr-FR", "",
                       "fr-FR"},
        PrecedenceCase{"other params ignored", "a=1&xlocale=fr-FR&locale=ja-JP", "", "", "ja-JP"},
        PrecedenceCase{"cookie among others", "", "a=1; locale=ja-JP; b=2", "", "ja-JP"},
        PrecedenceCase{"quoted cookie", "", "locale=\"ja-JP\"", "", "ja-JP"},
        PrecedenceCase{"cookie name is exact", "", "Locale=ja-JP; xlocale=fr-FR", "", "en-US"},
        PrecedenceCase{"AL does not apply to cookies", "", "locale=de", "", "en-US"}),
    [](const auto& param_info) {
        std::string name = param_info.param.name;
        for (char& c : name) {
            c = (c == ' ' || c == '-') ? '_' : c;
        }
        return name;
    });

TEST_F(VariantSetTest, CookieAcrossSeveralCookieHeaders) {
    const Headers headers{
        {"Cookie", "a=1"}, {"cookie", "currency=gbp"}, {"Cookie", "currency=JPY"}};
    EXPECT_EQ(resolved("currency", "", headers), "GBP");
}

TEST_F(VariantSetTest, PlainHeaderSourceComparesTheWholeTrimmedValue) {
    EXPECT_EQ(resolved("currency", "", Headers{{"X-Currency", "  eur\t"}}), "EUR");
    EXPECT_EQ(resolved("currency", "", Headers{{"x-currency", "EUR, GBP"}}), "USD");
    EXPECT_EQ(resolved("region", "", Headers{{"X-Region", "apac"}, {"X-Region", "EU"}}), "APAC");
    // The first X-Region decides and is unknown: the cookie is next.
    EXPECT_EQ(resolved("region", "", Headers{{"X-Region", "Mars"}, {"Cookie", "region=EU"}}), "EU");
}

TEST_F(VariantSetTest, NoHeadersAtAll) {
    const Variant& locale = *set_.find("locale");
    EXPECT_EQ(locale.value(resolve(locale, RequestView{"h", "/", "", nullptr})), "en-US");
}

struct LanguageCase {
    std::string header;
    const char* expected;
};

class AcceptLanguage : public VariantSetTest, public ::testing::WithParamInterface<LanguageCase> {};

TEST_P(AcceptLanguage, LooksUpTheClosedSet) {
    const Headers headers{{"Accept-Language", GetParam().header}};
    EXPECT_EQ(resolved("locale", "", headers), GetParam().expected) << GetParam().header;
}

std::string repeated(std::string_view piece, std::size_t times) {
    std::string out;
    for (std::size_t i = 0; i < times; ++i) {
        out += piece;
    }
    return out;
}

INSTANTIATE_TEST_SUITE_P(
    Table, AcceptLanguage,
    ::testing::Values(
        LanguageCase{"de-AT,de;q=0.9", "de-DE"}, LanguageCase{"fr;q=0.1, ja-JP;q=0.8", "ja-JP"},
        LanguageCase{"*", "en-US"}, LanguageCase{"en-gb", "en-GB"}, LanguageCase{"de", "de-DE"},
        LanguageCase{"en", "en-US"}, LanguageCase{"EN-GB-oxendict", "en-GB"},
        LanguageCase{"ja-JP;q=0, fr-FR;q=0.5", "fr-FR"}, LanguageCase{"ja;q=abc, fr", "fr-FR"},
        LanguageCase{"ja;q=2, fr;q=0.2", "fr-FR"}, LanguageCase{"ja;q=1.001, fr;q=0.001", "fr-FR"},
        LanguageCase{"ja;q=1.000", "ja-JP"}, LanguageCase{"ja;q=0.5;x=1, fr;q=0.4", "fr-FR"},
        LanguageCase{"ja ; q=0.5", "ja-JP"}, LanguageCase{"fr, de", "fr-FR"},
        LanguageCase{"de;q=0.5, fr;q=0.5", "de-DE"}, LanguageCase{"zz, *;q=0.9, ja;q=0.1", "ja-JP"},
        LanguageCase{"zh, *;q=0.1", "en-US"}, LanguageCase{"garbage!!", "en-US"},
        LanguageCase{"", "en-US"}, LanguageCase{",,,,,,", "en-US"}, LanguageCase{";;;q=1", "en-US"},
        LanguageCase{"q=0.5", "en-US"}, LanguageCase{"de-", "en-US"}, LanguageCase{"-de", "en-US"},
        LanguageCase{"de--AT", "en-US"}, LanguageCase{"abcdefghi", "en-US"},
        LanguageCase{"1de", "en-US"}, LanguageCase{std::string("de\0-AT", 6), "en-US"},
        LanguageCase{std::string("fr\0, ja", 7), "ja-JP"}, LanguageCase{"fr\xC3\xA9, ja", "ja-JP"},
        LanguageCase{"\xE6\x97\xA5\xE6\x9C\xAC", "en-US"},
        LanguageCase{repeated("zz, ", 32) + "fr", "en-US"}, // only 32 ranges are considered
        LanguageCase{repeated("zz, ", 31) + "fr", "fr-FR"},
        LanguageCase{"fr, " + repeated("x", 10 * 1024), "en-US"}, // over 4 KiB: ignored whole
        LanguageCase{repeated(" ", 4090) + "fr", "fr-FR"}));

TEST_F(VariantSetTest, AcceptLanguageFieldLinesFormOneList) {
    const Headers headers{{"Accept-Language", "zz"}, {"accept-language", "ja;q=0.2, fr;q=0.3"}};
    EXPECT_EQ(resolved("locale", "", headers), "fr-FR");
}

TEST(LanguageRanges, KeepsPriorityOrderStableAndBounded) {
    detail::LanguageRanges ranges;
    ranges.add_field("a;q=0.5, b, c;q=0.5, d;q=0.9, *, e;q=0");
    ASSERT_EQ(ranges.size(), 4U);
    EXPECT_EQ(ranges[0].tag, "b");
    EXPECT_EQ(ranges[1].tag, "d");
    EXPECT_EQ(ranges[2].tag, "a");
    EXPECT_EQ(ranges[3].tag, "c");
    EXPECT_EQ(ranges[0].q, 1000);
    EXPECT_EQ(ranges[2].q, 500);
    ranges.add_field(repeated("x, ", 100));
    EXPECT_EQ(ranges.size(), detail::LanguageRanges::kCapacity);
}

TEST(LanguageRanges, TruncationPrefersTheLongerPrefix) {
    const VariantSet set(
        {variant_config("l", {"header:Accept-Language"}, {"zh-Hans", "zh-Hant", "zh"}, "zh")});
    detail::LanguageRanges ranges;
    ranges.add_field("zh-Hant-TW");
    EXPECT_EQ(ranges.lookup(set.at(0)), 1);
    detail::LanguageRanges primary;
    primary.add_field("zh-x-private");
    EXPECT_EQ(primary.lookup(set.at(0)), 2);
}

TEST_F(VariantSetTest, HostileValuesStayInsideTheSet) {
    const std::string huge(64 * 1024, 'a');
    const std::vector<std::string> hostile = {"",
                                              "=",
                                              ";",
                                              ";;;;",
                                              "locale",
                                              "locale=",
                                              "locale=\"",
                                              "locale=\"\"",
                                              "locale=\"de-DE",
                                              std::string("locale=de-DE\0", 13),
                                              "\xFF\xFE",
                                              "locale=" + huge,
                                              huge,
                                              "%",
                                              "%%%",
                                              "locale=%",
                                              "locale=%4",
                                              "\r\n",
                                              std::string(1, '\0')};
    for (const std::string& value : hostile) {
        const Headers headers{{"Cookie", value},
                              {"Accept-Language", value},
                              {"X-Region", value},
                              {"X-Currency", value}};
        for (std::size_t v = 0; v < set_.size(); ++v) {
            const Variant& variant = set_.at(v);
            const std::uint8_t index =
                resolve(variant, RequestView{value, value, value, headers.get()});
            EXPECT_LT(index, variant.values.size());
        }
    }
    EXPECT_EQ(resolved("locale", "locale=\"de-DE", Headers{{"Cookie", "locale=\""}}), "en-US");
    EXPECT_EQ(resolved("locale", "", Headers{{"Cookie", "locale=\"\""}}), "en-US");
}

TEST(DecodesTo, EscapesAndCase) {
    EXPECT_TRUE(detail::decodes_to("a%2Db", "a-b", false));
    EXPECT_TRUE(detail::decodes_to("A%2db", "a-B", true));
    EXPECT_FALSE(detail::decodes_to("A%2db", "a-B", false));
    EXPECT_FALSE(detail::decodes_to("a%2", "a\x02", false));
    EXPECT_FALSE(detail::decodes_to("a%", "a", false));
    EXPECT_FALSE(detail::decodes_to("ab", "a", false));
    EXPECT_FALSE(detail::decodes_to("a", "ab", false));
    EXPECT_TRUE(detail::decodes_to("", "", false));
}

} // namespace
} // namespace lacquer::cache
