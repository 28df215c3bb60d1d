// Safe defaults for the admin plane (issue 15, item 10): an admin address other machines can
// reach needs a token (a config error otherwise, FILE:LINE:COL).
#include "support/child_process.h"
#include "support/lacquer_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

TEST(OpsAdminPlane, CheckConfigRefusesAnAdminOtherMachinesReachWithoutAToken) {
    const std::string base = "listen:\n  - address: 127.0.0.1:0\norigins:\n  api:\n"
                             "    servers:\n      - address: 127.0.0.1:9000\n";
    const auto open = LacquerProcess::run_check_config(base + "admin:\n  address: 0.0.0.0:9190\n");
    EXPECT_EQ(open.exit_code, 2);
    EXPECT_THAT(open.stderr_text,
                HasSubstr(open.config_path + ":8:12: admin.address: 0.0.0.0:9190 is reachable "
                                             "from other machines: set admin.token_file too"));
    const auto with_token = LacquerProcess::run_check_config(
        base + "admin:\n  address: 0.0.0.0:9190\n  token_file: /etc/lacquer/admin.token\n");
    EXPECT_EQ(with_token.exit_code, 0) << with_token.stderr_text;
    const auto loopback =
        LacquerProcess::run_check_config(base + "admin:\n  address: '[::1]:9190'\n");
    EXPECT_EQ(loopback.exit_code, 0) << loopback.stderr_text;
}

} // namespace
} // namespace lacquer::test
