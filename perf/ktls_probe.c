/* perf/ktls_probe.sh: does OpenSSL 3 turn on kernel TLS on this kernel? A server handshake with
   SSL_OP_ENABLE_KTLS over loopback (the client is `openssl s_client`), then BIO_get_ktls_send/recv
   (1: the kernel encrypts; 0: OpenSSL fell back to user space, silently).
   usage: ktls_probe CERT KEY 1.2|1.3 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: ktls_probe CERT KEY 1.2|1.3\n");
        return 64;
    }
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
    SSL_CTX_set_max_proto_version(ctx,
                                  strcmp(argv[3], "1.2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr*)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr*)&a, &n) != 0) {
        perror("listen");
        return 1;
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "sleep 1 | openssl s_client -connect 127.0.0.1:%d -quiet >/dev/null 2>&1 &",
             ntohs(a.sin_port));
    if (system(cmd) != 0) {
        return 1;
    }
    int fd = accept(l, NULL, NULL);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL_write(ssl, "hello\n", 6);
    printf("%s %s: BIO_get_ktls_send=%ld BIO_get_ktls_recv=%ld\n", SSL_get_version(ssl),
           SSL_get_cipher(ssl), (long)BIO_get_ktls_send(SSL_get_wbio(ssl)),
           (long)BIO_get_ktls_recv(SSL_get_rbio(ssl)));
    SSL_free(ssl);
    close(fd);
    close(l);
    SSL_CTX_free(ctx);
    return 0;
}
