// Where lacquerctl connects and which token it sends: --admin and --token-file first, then the
// config's admin section, then CONFIG.md's default; files that cannot be used are usage errors.
#include "ctl/admin_target.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace lacquer::ctl {
namespace {

class CtlAdminTarget : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("lacquerctl-unit-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text) {
        const std::filesystem::path path = dir_ / name;
        std::ofstream(path) << text;
        return path.string();
    }
    std::string config_with_admin(const std::string& admin_lines) {
        return write("lacquer.yaml", "listen:\n  - address: 127.0.0.1:0\n" + admin_lines +
                                         "origins:\n  api:\n    servers:\n"
                                         "      - address: 127.0.0.1:9000\n");
    }
    Invocation with_config(const std::string& path) {
        Invocation inv;
        inv.config_path = path;
        inv.config_given = true;
        return inv;
    }

    std::filesystem::path dir_;
};

TEST(CtlEndpoint, ParsesHostPortAndBracketedIpv6) {
    const auto v4 = parse_endpoint("127.0.0.1:9190");
    ASSERT_TRUE(v4.has_value());
    EXPECT_EQ(v4->host, "127.0.0.1");
    EXPECT_EQ(v4->port, 9190);
    const auto v6 = parse_endpoint("[::1]:9190");
    ASSERT_TRUE(v6.has_value());
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->text(), "[::1]:9190");
    EXPECT_EQ(parse_endpoint("admin.internal:80")->host, "admin.internal");
    for (const char* bad :
         {"127.0.0.1", "127.0.0.1:", ":9190", "::1:9190", "h:0", "h:65536", "h:12ab", "[#d00]:9190",
          "[]:9190", "[10.0.0.1]:80", "[::1]x:80", "a#b:80", "a b:80", "[a]]:80", "h\xcb:80"}) {
        EXPECT_FALSE(parse_endpoint(bad).has_value()) << bad;
    }
}

TEST_F(CtlAdminTarget, TokenFileIsTrimmedAndMustHoldOneLine) {
    std::string error;
    EXPECT_EQ(read_token_file(write("t1", "  s3cret \n"), error), "s3cret");
    EXPECT_FALSE(read_token_file(write("t2", "\n \n"), error).has_value());
    EXPECT_NE(error.find("is empty"), std::string::npos) << error;
    EXPECT_FALSE(read_token_file(write("t3", "a\nb\n"), error).has_value());
    EXPECT_NE(error.find("more than one line"), std::string::npos) << error;
    EXPECT_FALSE(read_token_file((dir_ / "missing").string(), error).has_value());
    EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
}

TEST_F(CtlAdminTarget, AddressAndTokenComeFromTheConfig) {
    const std::string token = write("admin.token", "from-config\n");
    const ResolvedTarget r = resolve_target(with_config(
        config_with_admin("admin:\n  address: 0.0.0.0:9555\n  token_file: " + token + "\n")));
    ASSERT_TRUE(r.target.has_value()) << r.error;
    EXPECT_EQ(r.target->endpoint.text(), "127.0.0.1:9555"); // a wildcard is reached on loopback
    EXPECT_EQ(r.target->token, "from-config");
    EXPECT_TRUE(r.target->token_note.empty());
}

TEST_F(CtlAdminTarget, CommandLineWinsOverTheConfig) {
    Invocation inv = with_config(config_with_admin("admin:\n  address: 127.0.0.1:9555\n"));
    inv.admin = "[::1]:9666";
    inv.token_file = write("mine", "mine");
    const ResolvedTarget r = resolve_target(inv);
    ASSERT_TRUE(r.target.has_value()) << r.error;
    EXPECT_EQ(r.target->endpoint.text(), "[::1]:9666");
    EXPECT_EQ(r.target->token, "mine");
}

TEST_F(CtlAdminTarget, WithoutAnAdminSectionTheDefaultAddressAndANote) {
    const ResolvedTarget r = resolve_target(with_config(config_with_admin("")));
    ASSERT_TRUE(r.target.has_value()) << r.error;
    EXPECT_EQ(r.target->endpoint.text(), "127.0.0.1:9190");
    EXPECT_NE(r.target->address_note.find("no admin section"), std::string::npos);
    EXPECT_TRUE(r.target->token.empty());
}

TEST_F(CtlAdminTarget, AnUnreadableConfiguredTokenIsANoteNotAnError) {
    const ResolvedTarget r = resolve_target(with_config(config_with_admin(
        "admin:\n  address: 127.0.0.1:9555\n  token_file: " + (dir_ / "gone").string() + "\n")));
    ASSERT_TRUE(r.target.has_value()) << r.error;
    EXPECT_TRUE(r.target->token.empty());
    EXPECT_NE(r.target->token_note.find("pass --token-file"), std::string::npos);
}

TEST_F(CtlAdminTarget, FilesThatCannotBeUsedAreErrors) {
    const ResolvedTarget bad_yaml = resolve_target(with_config(write("bad.yaml", "workerz: 2\n")));
    EXPECT_FALSE(bad_yaml.target.has_value());
    EXPECT_NE(bad_yaml.error.find("bad.yaml:1:1:"), std::string::npos) << bad_yaml.error;
    EXPECT_FALSE(resolve_target(with_config((dir_ / "missing.yaml").string())).target.has_value());

    Invocation missing_token;
    missing_token.admin = "127.0.0.1:9190";
    missing_token.token_file = (dir_ / "missing.token").string();
    EXPECT_FALSE(resolve_target(missing_token).target.has_value());
    Invocation bad_admin;
    bad_admin.admin = "nowhere";
    bad_admin.token_file = write("t", "t");
    EXPECT_NE(resolve_target(bad_admin).error.find("--admin 'nowhere'"), std::string::npos);
}

TEST_F(CtlAdminTarget, BothOnTheCommandLineNeverReadTheConfig) {
    Invocation inv = with_config(write("broken.yaml", "this is: [not valid\n"));
    inv.admin = "127.0.0.1:9190";
    inv.token_file = write("t", "t");
    EXPECT_TRUE(resolve_target(inv).target.has_value());
}

} // namespace
} // namespace lacquer::ctl
