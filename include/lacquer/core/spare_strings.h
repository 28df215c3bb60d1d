#pragma once
// Strings that come and go with every cache miss (a fill's key and upstream request, the head
// of the object being built, an origin fetch's request bytes) take their buffer from a
// per-thread pool of strings that earlier ones gave back, instead of from malloc: a miss then
// allocates none of them in steady state (perf/allocs.sh). The pool is bounded (count, bytes,
// the largest buffer kept) and emptied with the spare blocks when the worker goes quiet
// (net/memory_trim.h). A string may be given back on another thread than the one that took it
// (a body stream dropped by a waiter's worker): it joins that thread's pool. Sanitizer builds
// keep nothing, so that every buffer stays checked on its own.

#include <cstddef>
#include <string>
#include <string_view>

namespace lacquer::core {

// What one thread keeps at most.
inline constexpr std::size_t kKeptStrings = 2048; // a class keeps at most an eighth of them
inline constexpr std::size_t kKeptStringBytes = 4 * 1024 * 1024;
inline constexpr std::size_t kLargestKeptString = 64 * 1024;

// Makes `out` hold `content`. When its buffer is too small, a kept buffer that fits replaces it
// (the old one is given back) before anything is allocated.
void assign_string(std::string& out, std::string_view content);
// Empties `out` and makes it able to hold `capacity` bytes without growing, the same way.
void clear_for(std::string& out, std::size_t capacity);
// Empties `out` and, when it cannot hold `capacity` bytes, gives it a kept buffer that can: never
// allocates. False (and `out` left as it was, emptied) when no kept buffer fits.
bool reuse_kept(std::string& out, std::size_t capacity);
// Gives the buffer of `s` to this thread's pool (or frees it); `s` is left empty.
void give_string(std::string& s) noexcept;

// Frees every buffer this thread keeps; returns their bytes.
std::size_t release_spare_strings() noexcept;
// The bytes of the buffers this thread keeps.
std::size_t kept_string_bytes() noexcept;

} // namespace lacquer::core
