# Finds the Debian-packaged dependencies. tools/install-deps.sh installs them.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(LIBEVENT REQUIRED IMPORTED_TARGET libevent_core>=2.1 libevent_pthreads>=2.1)
pkg_check_modules(LIBEVENT_SSL REQUIRED IMPORTED_TARGET libevent_openssl>=2.1)
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
# Linear-time regular expressions for whatever meets request input (routes, bans): libre2-dev.
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
# The Prometheus text exposition (metrics/): only prometheus-cpp's core library, through
# pkg-config. Its CMake package config also find_dependency()s civetweb, CURL and ZLIB for the
# pull and push libraries, which Lacquer does not use (prometheus-cpp-dev).
pkg_check_modules(PROMETHEUS_CPP REQUIRED IMPORTED_TARGET prometheus-cpp-core>=1.0)
find_package(OpenSSL 3 REQUIRED)
find_package(yaml-cpp REQUIRED)

# llhttp: Debian's node-llhttp ships the generated C sources and the header; we compile them.
find_path(LLHTTP_INCLUDE_DIR llhttp.h PATHS /usr/share/include/llhttp /usr/include/llhttp
          NO_DEFAULT_PATH REQUIRED)
find_path(LLHTTP_SOURCE_DIR llhttp.c PATHS /usr/share/llhttp NO_DEFAULT_PATH REQUIRED)
add_library(lacquer_llhttp STATIC
  ${LLHTTP_SOURCE_DIR}/llhttp.c ${LLHTTP_SOURCE_DIR}/api.c ${LLHTTP_SOURCE_DIR}/http.c)
target_include_directories(lacquer_llhttp SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
set_target_properties(lacquer_llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_compile_options(lacquer_llhttp PRIVATE -w)
# Strict mode: CR must be followed by LF, no lenient whitespace or token rules (smuggling).
target_compile_definitions(lacquer_llhttp PUBLIC LLHTTP_STRICT_MODE=1)
