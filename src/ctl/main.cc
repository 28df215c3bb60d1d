// lacquerctl: the admin CLI of lacquerd. Parses the command line and runs one command; the exit
// statuses (0 ok, 1 lacquerd answered an error, 2 usage, 3 unreachable) are in command_line.h.
#include "ctl/command_line.h"
#include "ctl/commands.h"

#include <iostream>
#include <string_view>
#include <vector>

#ifndef LACQUER_VERSION
#define LACQUER_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
    using lacquer::ctl::ExitStatus;
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    const lacquer::ctl::ParsedCommandLine parsed = lacquer::ctl::parse_command_line(args);
    if (!parsed.invocation) {
        std::cerr << "lacquerctl: " << parsed.error << "\n";
        return static_cast<int>(ExitStatus::Usage);
    }
    if (parsed.invocation->help) {
        std::cout << lacquer::ctl::usage_text();
        return static_cast<int>(ExitStatus::Ok);
    }
    if (parsed.invocation->version) {
        std::cout << "lacquerctl " << LACQUER_VERSION << "\n";
        return static_cast<int>(ExitStatus::Ok);
    }
    const ExitStatus status = lacquer::ctl::run_command(*parsed.invocation, std::cout, std::cerr);
    std::cout.flush();
    return static_cast<int>(status);
}
