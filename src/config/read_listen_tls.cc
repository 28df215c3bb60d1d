// The parts of a `listen` entry beyond its address: `tls` (certificates chosen by SNI, cipher
// lists), the PROXY protocol keys and a Unix socket's mode and owner.
#include "field_syntax.h"
#include "lacquer/config/load.h"
#include "sections.h"

#include <unordered_set>

namespace lacquer::config::detail {

namespace {

std::string read_path(const YamlMap& map, const char* key) {
    const YamlValue value = map.require(key);
    std::string path = value.as_string();
    if (path.empty()) {
        value.fail("expected a file path, got \"\"");
    }
    return path;
}

// `ocsp: /path/response.der`, optional.
void read_ocsp(const YamlMap& map, TlsCertificateConfig& cert) {
    if (const std::optional<YamlValue> ocsp = map.find("ocsp")) {
        cert.ocsp_mark = ocsp->mark();
        cert.ocsp = read_path(map, "ocsp");
    }
}

// "api.example.com" or "*.example.com".
bool is_sni_name(std::string_view name) {
    if (name.size() > 2 && name.substr(0, 2) == "*.") {
        name.remove_prefix(2);
    }
    return !name.empty() && name.find('*') == std::string_view::npos && is_host_name(name);
}

} // namespace

ListenerTls read_listener_tls(const YamlValue& value) {
    const YamlMap map = YamlMap::with_keys(
        value, {"certificate", "private_key", "ocsp", "sni", "ciphers", "ciphersuites"});
    ListenerTls tls;
    tls.mark = value.mark();
    TlsCertificateConfig main;
    main.mark = map.require("certificate").mark();
    main.certificate = read_path(map, "certificate");
    main.private_key = read_path(map, "private_key");
    read_ocsp(map, main);
    tls.certificates.push_back(std::move(main));
    std::unordered_set<std::string> seen;
    if (const std::optional<YamlValue> sni = map.find("sni")) {
        for (const YamlValue& item : sni->as_list()) {
            const YamlMap entry =
                YamlMap::with_keys(item, {"names", "certificate", "private_key", "ocsp"});
            TlsCertificateConfig cert;
            cert.mark = item.mark();
            cert.certificate = read_path(entry, "certificate");
            cert.private_key = read_path(entry, "private_key");
            read_ocsp(entry, cert);
            const YamlValue names = entry.require("names");
            for (const YamlValue& name : names.as_list()) {
                std::string text = name.as_string();
                if (!is_sni_name(text)) {
                    name.fail("expected a host name or *.suffix, got " + quoted(text));
                }
                for (char& c : text) {
                    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
                }
                if (!seen.insert(text).second) {
                    name.fail(quoted(text) + " is named by another sni entry");
                }
                cert.names.push_back(std::move(text));
            }
            if (cert.names.empty()) {
                names.fail("expected at least one name");
            }
            tls.certificates.push_back(std::move(cert));
        }
    }
    for (auto [key, field] :
         {std::pair{"ciphers", &tls.ciphers}, std::pair{"ciphersuites", &tls.ciphersuites}}) {
        if (const std::optional<YamlValue> list = map.find(key)) {
            *field = list->as_string();
            if (field->empty()) {
                list->fail("expected an OpenSSL cipher list (leave the key out for the default)");
            }
        }
    }
    return tls;
}

std::vector<AddressRange> read_address_ranges(const YamlValue& value) {
    if (!value.is_list()) {
        value.fail("expected a list of address ranges, got " + value.describe());
    }
    std::vector<AddressRange> ranges;
    for (const YamlValue& item : value.as_list()) {
        const std::string text = item.as_string();
        std::optional<AddressRange> range = parse_address_range(text);
        if (!range) {
            item.fail("expected an address or a CIDR range (10.0.0.0/8, ::1/128), got " +
                      quoted(text));
        }
        ranges.push_back(std::move(*range));
    }
    return ranges;
}

void read_unix_socket_keys(const YamlMap& map, ListenerConfig& listener) {
    const std::optional<YamlValue> mode = map.find("mode");
    const std::optional<YamlValue> owner = map.find("owner");
    if (listener.unix_path.empty()) {
        if (mode || owner) {
            (mode ? *mode : *owner).fail("mode and owner apply to a unix: listener only");
        }
        return;
    }
    if (mode) {
        const std::string text = mode->as_string();
        std::uint32_t bits = 0;
        bool ok = !text.empty() && text.size() <= 4;
        for (const char c : text) {
            ok = ok && c >= '0' && c <= '7';
            bits = bits * 8 + static_cast<std::uint32_t>(c - '0');
        }
        if (!ok) {
            mode->fail("expected an octal file mode such as \"0660\", got " + quoted(text));
        }
        listener.unix_mode = bits;
    }
    if (owner) {
        listener.unix_owner = owner->as_string();
        if (listener.unix_owner.empty() || listener.unix_owner.front() == ':' ||
            listener.unix_owner.back() == ':') {
            owner->fail("expected user or user:group, got " + quoted(listener.unix_owner));
        }
    }
}

} // namespace lacquer::config::detail
