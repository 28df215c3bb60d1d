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

# lacquer_module(NAME SOURCES... DEPS ...): one static library per module, public headers
# under include/lacquer/<name>/, private ones beside the sources.
function(lacquer_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(lacquer_${name} STATIC ${M_SOURCES})
  target_include_directories(lacquer_${name}
    PUBLIC ${PROJECT_SOURCE_DIR}/include
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(lacquer_${name} PUBLIC ${M_DEPS})
  lacquer_warnings(lacquer_${name})
endfunction()
