// Parsing the fleet file: every bad line is reported with FILE:LINE:COL, all of them at once (up
// to kMaxFleetErrors), so one run of lacquerctl shows everything to fix.
#include "ctl/fleet_file.h"

#include "ctl/admin_target.h"
#include "lacquer/core/errno_text.h"

#include <cerrno>
#include <fstream>
#include <iterator>

namespace lacquer::ctl {

namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

struct Field {
    std::string_view text;
    std::size_t column = 0; // 1-based
};

// The white-space separated fields of `line` up to a comment ('#' at the start or after white
// space; a '#' inside a field, as in a file name, is kept).
std::vector<Field> fields_of(std::string_view line) {
    std::vector<Field> fields;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_blank(line[i])) {
            ++i;
        }
        if (i >= line.size() || line[i] == '#') {
            break;
        }
        const std::size_t start = i;
        while (i < line.size() && !is_blank(line[i])) {
            ++i;
        }
        fields.push_back({line.substr(start, i - start), start + 1});
    }
    return fields;
}

bool has_control(std::string_view text) {
    for (const char c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            return true;
        }
    }
    return false;
}

class ErrorList {
public:
    explicit ErrorList(std::vector<std::string>& out) : out_(out) {}

    void add(std::string_view file, std::size_t line, std::size_t column, std::string_view what) {
        ++count_;
        if (out_.size() < kMaxFleetErrors) {
            out_.push_back(std::string(file) + ":" + std::to_string(line) + ":" +
                           std::to_string(column) + ": " + std::string(what));
        }
    }
    void close(std::string_view file) {
        if (count_ > out_.size()) {
            out_.push_back(std::string(file) + ": " + std::to_string(count_ - out_.size()) +
                           " more errors not shown");
        }
    }

private:
    std::vector<std::string>& out_;
    std::size_t count_ = 0;
};

} // namespace

FleetParse parse_fleet(std::string_view text, std::string_view file_name,
                       std::string_view base_dir) {
    FleetParse out;
    ErrorList errors(out.errors);
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const std::size_t eol = text.find('\n');
        const std::string_view line = text.substr(0, eol);
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);

        const std::vector<Field> fields = fields_of(line);
        if (fields.empty()) {
            continue;
        }
        if (fields.size() > 2) {
            errors.add(file_name, line_number, fields[2].column,
                       "unexpected '" + std::string(fields[2].text) +
                           "': a line is ADMIN_ADDRESS [TOKEN_FILE]");
            continue;
        }
        const Field& address = fields[0];
        const std::optional<Endpoint> endpoint =
            has_control(address.text) ? std::nullopt : parse_endpoint(address.text);
        if (!endpoint) {
            errors.add(file_name, line_number, address.column,
                       "'" + std::string(address.text) +
                           "' is not an admin address: HOST:PORT or [IPV6]:PORT");
            continue;
        }
        bool duplicate = false;
        for (const FleetNode& seen : out.nodes) {
            if (seen.endpoint.host == endpoint->host && seen.endpoint.port == endpoint->port) {
                errors.add(file_name, line_number, address.column,
                           endpoint->text() + " is already on line " + std::to_string(seen.line));
                duplicate = true;
                break;
            }
        }
        if (duplicate) {
            continue;
        }
        if (out.nodes.size() >= kMaxFleetNodes) {
            errors.add(file_name, line_number, address.column,
                       "more than " + std::to_string(kMaxFleetNodes) + " nodes");
            break;
        }
        FleetNode node;
        node.endpoint = *endpoint;
        node.line = line_number;
        if (fields.size() == 2) {
            const Field& token = fields[1];
            if (has_control(token.text)) {
                errors.add(file_name, line_number, token.column,
                           "the token file name holds a control character");
                continue;
            }
            node.token_column = token.column;
            node.token_file = std::string(token.text);
            if (!node.token_file.starts_with('/') && !base_dir.empty()) {
                node.token_file = std::string(base_dir) + "/" + node.token_file;
            }
        }
        out.nodes.push_back(std::move(node));
    }
    if (out.nodes.empty() && out.errors.empty()) {
        out.errors.push_back(std::string(file_name) +
                             ": no nodes (one line per node: ADMIN_ADDRESS [TOKEN_FILE])");
    }
    errors.close(file_name);
    return out;
}

FleetParse load_fleet_file(const std::string& path, const std::string& default_token_file) {
    FleetParse out;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        out.errors.push_back("cannot read fleet file '" + path + "': " + core::errno_text(errno));
        return out;
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
    out = parse_fleet(text, path, dir.empty() && slash == 0 ? "/" : dir);
    if (!out.errors.empty()) {
        return out;
    }
    for (FleetNode& node : out.nodes) {
        const std::string& file = node.token_file.empty() ? default_token_file : node.token_file;
        if (file.empty()) {
            continue;
        }
        std::string error;
        const std::optional<std::string> token = read_token_file(file, error);
        if (!token) {
            // A node's own token file is that line's fault; the default is --token-file's.
            if (node.token_file.empty()) {
                out.errors.push_back("--token-file: " + error);
                break; // the same message for every node without a token file
            }
            std::string where = path;
            where.append(":").append(std::to_string(node.line));
            where.append(":").append(std::to_string(node.token_column)).append(": ");
            out.errors.push_back(where + error);
            continue;
        }
        node.token = *token;
    }
    return out;
}

} // namespace lacquer::ctl
