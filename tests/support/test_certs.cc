#include "support/test_certs.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace lacquer::test {

namespace {

void run(const std::string& command) {
    const std::string quiet = command + " >/dev/null 2>&1";
    if (std::system(quiet.c_str()) != 0) {
        throw std::runtime_error("test certificate command failed: " + command);
    }
}

std::string key_command(const std::string& key) {
    return "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '" + key + "'";
}

// A CSR for `cn` signed by the CA with `extensions` (an openssl extfile's lines).
CertPair signed_cert(const TestCerts& certs, const std::string& stem, const std::string& cn,
                     const std::string& extensions) {
    CertPair pair{certs.dir + "/" + stem + ".pem", certs.dir + "/" + stem + ".key"};
    const std::string csr = certs.dir + "/" + stem + ".csr";
    const std::string ext = certs.dir + "/" + stem + ".ext";
    std::ofstream(ext) << extensions;
    run(key_command(pair.private_key));
    run("openssl req -new -key '" + pair.private_key + "' -subj '/CN=" + cn + "' -out '" + csr +
        "'");
    run("openssl x509 -req -in '" + csr + "' -CA '" + certs.ca + "' -CAkey '" + certs.dir +
        "/ca.key' -CAcreateserial -days 2 -sha256 -extfile '" + ext + "' -out '" +
        pair.certificate + "'");
    return pair;
}

std::string server_ext(const std::string& names) {
    std::string san;
    std::size_t start = 0;
    while (start <= names.size()) {
        const std::size_t comma = names.find(',', start);
        const std::string name =
            names.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!san.empty()) {
            san += ",";
        }
        san += (name.find_first_not_of("0123456789.") == std::string::npos ? "IP:" : "DNS:") + name;
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    return "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
           "subjectAltName=" +
           san + "\n";
}

} // namespace

TestCerts make_test_certs(const std::string& dir) {
    std::filesystem::create_directories(dir);
    TestCerts certs;
    certs.dir = dir;
    certs.ca = dir + "/ca.pem";
    run(key_command(dir + "/ca.key"));
    run("openssl req -x509 -new -key '" + dir +
        "/ca.key' -subj '/CN=Lacquer Test CA' -days 2 "
        "-sha256 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign "
        "-out '" +
        certs.ca + "'");
    certs.localhost =
        signed_cert(certs, "localhost", "localhost", server_ext("localhost,127.0.0.1"));
    certs.api = signed_cert(certs, "api", "api.example.com",
                            server_ext("api.example.com,*.api.example.com"));
    certs.client = signed_cert(certs, "client", "lacquer-client",
                               "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                               "extendedKeyUsage=clientAuth\n");
    certs.self_signed = {dir + "/self.pem", dir + "/self.key"};
    run(key_command(certs.self_signed.private_key));
    run("openssl req -x509 -new -key '" + certs.self_signed.private_key +
        "' -subj '/CN=localhost' -days 2 -sha256 -addext "
        "subjectAltName=DNS:localhost,IP:127.0.0.1 -out '" +
        certs.self_signed.certificate + "'");
    return certs;
}

CertPair make_server_cert(const TestCerts& certs, const std::string& stem,
                          const std::string& names) {
    return signed_cert(certs, stem, names.substr(0, names.find(',')), server_ext(names));
}

} // namespace lacquer::test
