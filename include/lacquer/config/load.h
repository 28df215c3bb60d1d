#pragma once
// Loading and validating a config file. Exceptions are allowed here (start-up and reload only).

#include "lacquer/config/config.h"

#include <stdexcept>
#include <string>
#include <string_view>

namespace lacquer::config {

// A config that cannot be used. what() is "FILE:LINE:COL: message".
class ConfigError : public std::runtime_error {
public:
    ConfigError(SourceMark mark, const std::string& message);
    const SourceMark& mark() const { return mark_; }
    const std::string& message() const { return message_; }

private:
    SourceMark mark_;
    std::string message_;
};

// Reads, parses and fully validates. Throws ConfigError (never anything else, including for
// an unreadable file: then LINE:COL is 0:0... reported as "FILE:1:1: cannot read: <reason>").
Config load_config_file(const std::string& path);

// Same, from text; `name` stands for the file name in errors.
Config load_config_string(std::string_view yaml, const std::string& name);

} // namespace lacquer::config
