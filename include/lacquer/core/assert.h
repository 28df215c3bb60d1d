#pragma once
// Always-on invariant checks. An input must never reach one: bad input is an HTTP answer or a
// config error. A failed assertion prints where and aborts (systemd restarts the service).

namespace lacquer::core {
[[noreturn]] void assertion_failed(const char* expr, const char* file, int line, const char* func);
} // namespace lacquer::core

#define LACQUER_ASSERT(expr)                                                                       \
    ((expr) ? static_cast<void>(0)                                                                 \
            : ::lacquer::core::assertion_failed(#expr, __FILE__, __LINE__, __func__))

#define LACQUER_UNREACHABLE()                                                                      \
    ::lacquer::core::assertion_failed("unreachable", __FILE__, __LINE__, __func__)
