#include "lacquer/http/cache_control.h"

#include "lacquer/http/headers.h"

#include <algorithm>
#include <array>
#include <ctime>

namespace lacquer::http {

namespace {

constexpr std::int64_t kMaxDelta = 2147483648LL; // RFC 9111 §1.2.2: cap at 2^31

std::int64_t parse_delta(std::string_view v) {
    if (!v.empty() && v.front() == '"' && v.size() >= 2 && v.back() == '"') {
        v = v.substr(1, v.size() - 2); // tolerated quoted form (RFC 9111 §5.2)
    }
    if (v.empty()) {
        return 0;
    }
    std::int64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') {
            return 0;
        }
        n = n * 10 + (c - '0');
        if (n > kMaxDelta) {
            return kMaxDelta;
        }
    }
    return n;
}

void set_once(std::optional<std::int64_t>& field, std::string_view value) {
    if (!field) {
        field = parse_delta(value);
    }
}

} // namespace

CacheControl parse_cache_control(const HeaderList& headers) {
    CacheControl cc;
    for (const Header& h : headers) {
        if (!iequals(h.name, "Cache-Control")) {
            continue;
        }
        for_each_token(h.value, [&](std::string_view item) {
            const auto eq = item.find('=');
            std::string_view name = item.substr(0, eq);
            std::string_view value =
                eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
            while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) {
                name.remove_suffix(1);
            }
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
                value.remove_prefix(1);
            }
            if (iequals(name, "no-store")) {
                cc.no_store = true;
            } else if (iequals(name, "no-cache")) {
                cc.no_cache = true;
            } else if (iequals(name, "private")) {
                cc.is_private = true;
            } else if (iequals(name, "public")) {
                cc.is_public = true;
            } else if (iequals(name, "must-revalidate")) {
                cc.must_revalidate = cc.must_revalidate_itself = true;
            } else if (iequals(name, "proxy-revalidate")) {
                cc.must_revalidate = true;
            } else if (iequals(name, "max-age")) {
                set_once(cc.max_age, value);
            } else if (iequals(name, "s-maxage")) {
                set_once(cc.s_maxage, value);
            } else if (iequals(name, "stale-while-revalidate")) {
                set_once(cc.stale_while_revalidate, value);
            } else if (iequals(name, "stale-if-error")) {
                set_once(cc.stale_if_error, value);
            }
        });
    }
    return cc;
}

namespace {

constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

bool parse_int(std::string_view s, int& out) {
    if (s.empty() || s.size() > 4) {
        return false;
    }
    int n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
        n = n * 10 + (c - '0');
    }
    out = n;
    return true;
}

// Month and day names are case-sensitive (%s"Jan", %s"Sun" in RFC 9110 §5.6.7).
int month_index(std::string_view m) {
    for (std::size_t i = 0; i < kMonths.size(); ++i) {
        if (kMonths[i] == m) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

bool is_day_name(std::string_view d) {
    return std::find(kDays.begin(), kDays.end(), d) != kDays.end();
}

// day-name-l of the obsolete RFC 850 form.
bool is_long_day_name(std::string_view d) {
    static constexpr std::array<std::string_view, 7> kLong{
        "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
    return std::find(kLong.begin(), kLong.end(), d) != kLong.end();
}

// time-of-day = hour ":" minute ":" second, two digits each (second 60: a leap second).
bool parse_clock(std::string_view t, int& h, int& m, int& s) {
    return t.size() == 8 && t[2] == ':' && t[5] == ':' && parse_int(t.substr(0, 2), h) &&
           parse_int(t.substr(3, 2), m) && parse_int(t.substr(6, 2), s) && h < 24 && m < 60 &&
           s < 61;
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's algorithm.
std::int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2 ? 1 : 0;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const int yoe = y - era * 400;
    const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

std::optional<std::int64_t> to_unix(int year, int month0, int day, int h, int m, int s) {
    if (year < 1900 || year > 9999 || month0 < 0 || day < 1 || day > 31) {
        return std::nullopt;
    }
    return days_from_civil(year, month0 + 1, day) * 86400 + h * 3600 + m * 60 + s;
}

// Splits on single spaces into exactly N parts; false on any other shape (two spaces in a
// row, a leading or trailing space, more or fewer parts).
template <std::size_t N>
bool split_exact(std::string_view v, std::array<std::string_view, N>& parts) {
    for (std::size_t i = 0; i < N; ++i) {
        const std::size_t sp = i + 1 < N ? v.find(' ') : v.size();
        if (sp == std::string_view::npos || sp == 0) {
            return false;
        }
        parts[i] = v.substr(0, sp);
        v = v.substr(std::min(v.size(), sp + 1));
        if (i + 1 == N && parts[i].find(' ') != std::string_view::npos) {
            return false;
        }
    }
    return true;
}

bool all_digits(std::string_view s, std::size_t n) {
    return s.size() == n &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
std::optional<std::int64_t> parse_imf_fixdate(std::string_view text) {
    std::array<std::string_view, 6> p{};
    int day = 0, year = 0, h = 0, m = 0, s = 0;
    if (!split_exact(text, p) || p[0].size() != 4 || p[0][3] != ',' ||
        !is_day_name(p[0].substr(0, 3)) || !all_digits(p[1], 2) || !all_digits(p[3], 4) ||
        p[5] != "GMT" || !parse_int(p[1], day) || !parse_int(p[3], year) ||
        !parse_clock(p[4], h, m, s)) {
        return std::nullopt;
    }
    return to_unix(year, month_index(p[2]), day, h, m, s);
}

// obsolete RFC 850 form: Sunday, 06-Nov-94 08:49:37 GMT
std::optional<std::int64_t> parse_rfc850_date(std::string_view text) {
    std::array<std::string_view, 4> p{};
    int day = 0, year = 0, h = 0, m = 0, s = 0;
    if (!split_exact(text, p) || p[0].empty() || p[0].back() != ',' ||
        !is_long_day_name(p[0].substr(0, p[0].size() - 1)) || p[3] != "GMT") {
        return std::nullopt;
    }
    const std::string_view d = p[1];
    if (d.size() != 9 || d[2] != '-' || d[6] != '-' || !all_digits(d.substr(0, 2), 2) ||
        !all_digits(d.substr(7, 2), 2) || !parse_int(d.substr(0, 2), day) ||
        !parse_int(d.substr(7, 2), year) || !parse_clock(p[2], h, m, s)) {
        return std::nullopt;
    }
    // Two-digit years: RFC 9110 §5.6.7 reads one more than 50 years ahead as the past
    // century; without a date to compare with, 70..99 are 19xx (the epoch's convention).
    year += year < 70 ? 2000 : 1900;
    return to_unix(year, month_index(d.substr(3, 3)), day, h, m, s);
}

// obsolete asctime form: Sun Nov  6 08:49:37 1994 (a one-digit day after two spaces)
std::optional<std::int64_t> parse_asctime_date(std::string_view text) {
    if (text.size() != 24 || text[3] != ' ' || text[7] != ' ' || text[10] != ' ' ||
        text[19] != ' ') {
        return std::nullopt;
    }
    const std::string_view day_text = text.substr(8, 2);
    int day = 0, year = 0, h = 0, m = 0, s = 0;
    const bool two_digits = all_digits(day_text, 2);
    const bool space_digit = day_text[0] == ' ' && all_digits(day_text.substr(1), 1);
    if (!is_day_name(text.substr(0, 3)) || !(two_digits || space_digit) ||
        !parse_int(two_digits ? day_text : day_text.substr(1), day) ||
        !parse_clock(text.substr(11, 8), h, m, s) || !all_digits(text.substr(20, 4), 4) ||
        !parse_int(text.substr(20, 4), year)) {
        return std::nullopt;
    }
    return to_unix(year, month_index(text.substr(4, 3)), day, h, m, s);
}

} // namespace

// RFC 9110 §5.6.7, by the letter: exactly one of the three forms, single spaces (but the
// asctime day's own padding), names and "GMT" case-sensitive; anything else is invalid.
std::optional<std::int64_t> parse_http_date(std::string_view text) {
    if (text.size() == 29) {
        return parse_imf_fixdate(text);
    }
    if (text.size() == 24) {
        return parse_asctime_date(text);
    }
    if (text.size() >= 30 && text.size() <= 33) {
        return parse_rfc850_date(text);
    }
    return std::nullopt;
}

namespace {

struct CivilTime {
    std::int64_t year;
    int month;   // 1..12
    int day;     // 1..31
    int weekday; // 0 = Sunday
    int hour, minute, second;
};

// UTC calendar fields of a unix time, by arithmetic (H. Hinnant's civil_from_days): gmtime_r
// takes glibc's time-zone lock, which every worker would contend for on every hit.
CivilTime civil_time(std::int64_t unix_seconds) {
    std::int64_t days = unix_seconds / 86400;
    std::int64_t secs = unix_seconds % 86400;
    if (secs < 0) {
        secs += 86400;
        --days;
    }
    CivilTime c{};
    c.weekday = static_cast<int>(((days % 7) + 11) % 7); // 1970-01-01 was a Thursday (4)
    c.hour = static_cast<int>(secs / 3600);
    c.minute = static_cast<int>(secs / 60 % 60);
    c.second = static_cast<int>(secs % 60);
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;                                      // [0, 146096]
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // [0, 399]
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               // [0, 365]
    const std::int64_t mp = (5 * doy + 2) / 153;                                    // [0, 11]
    c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    c.year = yoe + era * 400 + (c.month <= 2 ? 1 : 0);
    return c;
}

} // namespace

std::size_t format_http_date(std::int64_t unix_seconds, char* out) {
    const CivilTime tm = civil_time(unix_seconds);
    auto two = [](char* p, int v) {
        p[0] = static_cast<char>('0' + v / 10 % 10);
        p[1] = static_cast<char>('0' + v % 10);
    };
    const std::string_view day = kDays[static_cast<std::size_t>(tm.weekday) % 7];
    const std::string_view month = kMonths[static_cast<std::size_t>(tm.month - 1) % 12];
    const int year = static_cast<int>(tm.year);
    char* p = out;
    p = std::copy(day.begin(), day.end(), p);
    *p++ = ',';
    *p++ = ' ';
    two(p, tm.day);
    p += 2;
    *p++ = ' ';
    p = std::copy(month.begin(), month.end(), p);
    *p++ = ' ';
    two(p, year / 100);
    two(p + 2, year % 100);
    p += 4;
    *p++ = ' ';
    two(p, tm.hour);
    p[2] = ':';
    two(p + 3, tm.minute);
    p[5] = ':';
    two(p + 6, tm.second);
    p += 8;
    p = std::copy_n(" GMT", 4, p);
    return static_cast<std::size_t>(p - out);
}

} // namespace lacquer::http
