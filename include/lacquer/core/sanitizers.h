#pragma once
// Which sanitizer this translation unit is built with, the same way under GCC (which defines
// __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__) and clang (which answers __has_feature, and
// defines neither macro before clang 15). Code that changes its ways under a sanitizer (pools
// that would hide a block from ASan, tests that cannot be meaningful under one) asks here.

#if defined(__SANITIZE_ADDRESS__)
#define LACQUER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LACQUER_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define LACQUER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LACQUER_TSAN 1
#endif
#endif
