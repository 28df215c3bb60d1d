# Warnings for our own targets (STYLE.md §J); third-party sources are compiled without them.
function(lacquer_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wimplicit-fallthrough)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${target} PRIVATE -Wthread-safety)
  endif()
  if(LACQUER_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

