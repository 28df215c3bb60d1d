// parse_proxy_header(): PROXY protocol v1 and v2, strictly (a malformed header is Invalid).
#include "lacquer/net/proxy_header.h"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

namespace lacquer::net {

namespace {

constexpr std::string_view kV1 = "PROXY ";
constexpr std::size_t kV1Max = 107;
constexpr unsigned char kV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                            0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

bool starts_with_prefix(std::string_view bytes, std::string_view prefix) {
    const std::size_t n = std::min(bytes.size(), prefix.size());
    return bytes.substr(0, n) == prefix.substr(0, n);
}

std::string_view v2_signature() {
    return {reinterpret_cast<const char*>(kV2Signature), sizeof kV2Signature};
}

// The next space-separated field of `line` (advanced past it and its space).
std::string_view next_field(std::string_view& line) {
    const std::size_t space = line.find(' ');
    const std::string_view field = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    return field;
}

bool valid_port(std::string_view text) {
    if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) {
        return false;
    }
    unsigned value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value <= 65535;
}

// `text` is an address of `family`; its canonical text goes into `out`.
bool parse_address(std::string_view text, int family, ProxyHeader& out) {
    if (text.empty() || text.size() >= sizeof out.source) {
        return false;
    }
    char copy[sizeof out.source] = {};
    std::memcpy(copy, text.data(), text.size());
    unsigned char binary[16];
    if (inet_pton(family, copy, binary) != 1 ||
        inet_ntop(family, binary, out.source, sizeof out.source) == nullptr) {
        return false;
    }
    out.source_length = std::strlen(out.source);
    return true;
}

ProxyHeader parse_v1(std::string_view bytes) {
    ProxyHeader out;
    const std::size_t end = bytes.substr(0, kV1Max).find("\r\n");
    if (end == std::string_view::npos) {
        out.status =
            bytes.size() >= kV1Max ? ProxyHeader::Status::Invalid : ProxyHeader::Status::NeedMore;
        return out;
    }
    out.status = ProxyHeader::Status::Invalid;
    std::string_view line = bytes.substr(kV1.size(), end - kV1.size());
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
        return out;
    }
    const std::string_view protocol = next_field(line);
    if (protocol == "UNKNOWN") {
        out.status = ProxyHeader::Status::Done; // anything may follow, up to the CRLF
        out.length = end + 2;
        return out;
    }
    const int family = protocol == "TCP4" ? AF_INET : protocol == "TCP6" ? AF_INET6 : -1;
    if (family < 0) {
        return out;
    }
    const std::string_view source = next_field(line);
    const std::string_view destination = next_field(line);
    const std::string_view source_port = next_field(line);
    const std::string_view destination_port = next_field(line);
    ProxyHeader ignored;
    if (!line.empty() || !valid_port(source_port) || !valid_port(destination_port) ||
        !parse_address(destination, family, ignored) || !parse_address(source, family, out)) {
        out.source_length = 0;
        return out;
    }
    out.status = ProxyHeader::Status::Done;
    out.length = end + 2;
    return out;
}

ProxyHeader parse_v2(std::string_view bytes) {
    ProxyHeader out;
    if (bytes.size() < 16) {
        return out; // NeedMore
    }
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    const unsigned version = byte(12) >> 4;
    const unsigned command = byte(12) & 0x0F;
    const unsigned family = byte(13) >> 4;
    const unsigned transport = byte(13) & 0x0F;
    const std::size_t length = (static_cast<std::size_t>(byte(14)) << 8) | byte(15);
    out.status = ProxyHeader::Status::Invalid;
    if (version != 2 || command > 1 || 16 + length > kMaxProxyHeader) {
        return out;
    }
    if (bytes.size() < 16 + length) {
        out.status = ProxyHeader::Status::NeedMore;
        return out;
    }
    out.length = 16 + length;
    if (command == 0 || family == 0 || family == 3) { // LOCAL, AF_UNSPEC, AF_UNIX: no address
        out.status = ProxyHeader::Status::Done;
        return out;
    }
    if (transport != 1) { // only STREAM carries HTTP
        return out;
    }
    const unsigned char* addresses = reinterpret_cast<const unsigned char*>(bytes.data()) + 16;
    int af = -1;
    if (family == 1 && length >= 12) {
        af = AF_INET;
    } else if (family == 2 && length >= 36) {
        af = AF_INET6;
    }
    if (af < 0 || inet_ntop(af, addresses, out.source, sizeof out.source) == nullptr) {
        return out;
    }
    out.source_length = std::strlen(out.source);
    out.status = ProxyHeader::Status::Done;
    return out;
}

} // namespace

int proxy_signature(std::string_view bytes) {
    if (bytes.empty()) {
        return 0;
    }
    for (const std::string_view signature : {kV1, v2_signature()}) {
        if (starts_with_prefix(bytes, signature)) {
            return bytes.size() >= signature.size() ? 1 : 0;
        }
    }
    return -1;
}

ProxyHeader parse_proxy_header(std::string_view bytes) {
    ProxyHeader out;
    if (bytes.size() >= kV1.size() && bytes.substr(0, kV1.size()) == kV1) {
        return parse_v1(bytes);
    }
    if (bytes.size() >= sizeof kV2Signature &&
        bytes.substr(0, sizeof kV2Signature) == v2_signature()) {
        return parse_v2(bytes);
    }
    if (proxy_signature(bytes) != 0) {
        out.status = ProxyHeader::Status::Invalid;
    }
    return out; // NeedMore while the signature may still come
}

} // namespace lacquer::net
