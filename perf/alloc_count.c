// LD_PRELOAD shim that counts heap allocations in the process it is loaded into (malloc,
// calloc, realloc, aligned allocations; operator new and libevent both land here). On SIGUSR2
// it writes the running count to the file named by $ALLOC_COUNT_FILE, so a script can read the
// count before and after a load run and divide by the requests served (perf/hits.sh).
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void __libc_free(void*);

static atomic_ulong allocations;
static char count_file[256];

void* malloc(size_t n) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_realloc(p, n);
}
void* memalign(size_t alignment, size_t n) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_memalign(alignment, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
    return memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
    void* p = memalign(alignment, n);
    if (p == NULL) {
        return 12; // ENOMEM
    }
    *out = p;
    return 0;
}
void free(void* p) {
    __libc_free(p);
}

static void dump(int sig) {
    (void)sig;
    const int fd = open(count_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        return;
    }
    char line[32];
    const unsigned long n = atomic_load(&allocations);
    int len = 0;
    char digits[24];
    unsigned long v = n;
    do {
        digits[len++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (int i = 0; i < len; ++i) {
        line[i] = digits[len - 1 - i];
    }
    line[len] = '\n';
    (void)!write(fd, line, (size_t)len + 1); // async-signal-safe: no stdio here
    close(fd);
}

__attribute__((constructor)) static void install(void) {
    const char* file = getenv("ALLOC_COUNT_FILE");
    if (file == NULL || strlen(file) >= sizeof count_file) {
        return;
    }
    strcpy(count_file, file);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = dump;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, NULL);
}
