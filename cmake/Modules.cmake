# The module graph (STYLE.md §B), enforced by the build. cmake/module_graph.txt holds the table.
#
# Include roots. include/ is never an include directory. Each module gets its own root in the
# build tree:
#   <build>/include-roots/public/<m>/lacquer/<m>   -> include/lacquer/<m>   (symlink)
#   <build>/include-roots/private/<m>/<m>          -> src/<m>               (symlink)
# lacquer_<m> exports only its public root (PUBLIC), so a target sees lacquer/<x>/ only for the
# modules it links, directly or through them. The private root is for the module's own sources:
# it lets them write "<m>/file.h" (ctl does). Same-directory "file.h" works without any root.
# The repository layout stays include/lacquer/<m>/ (DESIGN.md).
#
# Links. A module's Lacquer dependencies (DEPS) are PUBLIC, because its public headers use their
# types. Its third-party libraries (THIRD_PARTY) are PRIVATE: no public header includes a
# third-party header. Net's headers only forward-declare libevent structs. A static library
# still passes its PRIVATE libraries on to the final link.

set(LACQUER_MODULE_GRAPH ${PROJECT_SOURCE_DIR}/cmake/module_graph.txt)
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${LACQUER_MODULE_GRAPH})
file(STRINGS ${LACQUER_MODULE_GRAPH} lacquer_graph_rows REGEX "^(module|program) ")
foreach(row IN LISTS lacquer_graph_rows)
  if(NOT row MATCHES "^(module|program) +([a-z_][a-z0-9_]*) *:([^|]*)\\|")
    message(FATAL_ERROR "${LACQUER_MODULE_GRAPH}: cannot read the row '${row}'")
  endif()
  set(kind ${CMAKE_MATCH_1})
  set(name ${CMAKE_MATCH_2})
  # `cache(purge*.h)`: the header restriction is tools/check_includes.py's; the link is allowed.
  string(REGEX REPLACE "\\([^)]*\\)" "" deps "${CMAKE_MATCH_3}")
  string(REGEX MATCHALL "[a-z_][a-z0-9_]*" deps "${deps}")
  set_property(GLOBAL PROPERTY LACQUER_GRAPH_KIND_${name} ${kind})
  set_property(GLOBAL PROPERTY LACQUER_GRAPH_DEPS_${name} "${deps}")
endforeach()
unset(lacquer_graph_rows)

# lacquer_include_root(PUBLIC|PRIVATE <module> <out-var>): creates the module's public or private
# include root (see above) and returns its path.
function(lacquer_include_root visibility module out_var)
  if(visibility STREQUAL "PUBLIC")
    set(root ${PROJECT_BINARY_DIR}/include-roots/public/${module})
    set(link ${root}/lacquer/${module})
    set(source ${PROJECT_SOURCE_DIR}/include/lacquer/${module})
  else()
    set(root ${PROJECT_BINARY_DIR}/include-roots/private/${module})
    set(link ${root}/${module})
    set(source ${PROJECT_SOURCE_DIR}/src/${module})
  endif()
  get_filename_component(parent ${link} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  if(EXISTS ${source})
    file(CREATE_LINK ${source} ${link} SYMBOLIC)
  endif()
  set(${out_var} ${root} PARENT_SCOPE)
endfunction()

# lacquer_module(<name> SOURCES ... DEPS lacquer_<m>... THIRD_PARTY <imported targets>...): the
# static library lacquer_<name>. Its public headers are under include/lacquer/<name>/ and its
# private headers beside its sources. DEPS may list only modules that <name>'s row of
# cmake/module_graph.txt allows.
function(lacquer_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;THIRD_PARTY" ${ARGN})
  get_property(kind GLOBAL PROPERTY LACQUER_GRAPH_KIND_${name})
  get_property(allowed GLOBAL PROPERTY LACQUER_GRAPH_DEPS_${name})
  if(NOT kind STREQUAL "module")
    message(FATAL_ERROR "lacquer_module(${name}): '${name}' has no `module` row in "
                        "${LACQUER_MODULE_GRAPH}; add one (STYLE.md §B)")
  endif()
  foreach(dep IN LISTS M_DEPS)
    if(NOT dep MATCHES "^lacquer_([a-z_][a-z0-9_]*)$")
      message(FATAL_ERROR "lacquer_module(${name}): DEPS takes Lacquer modules only; "
                          "put '${dep}' under THIRD_PARTY (it is linked PRIVATE)")
    endif()
    set(dep_name ${CMAKE_MATCH_1})
    get_property(dep_kind GLOBAL PROPERTY LACQUER_GRAPH_KIND_${dep_name})
    if(NOT dep_kind STREQUAL "module")
      message(FATAL_ERROR "lacquer_module(${name}): '${dep}' is not a module of "
                          "${LACQUER_MODULE_GRAPH}; put a third-party library under THIRD_PARTY")
    endif()
    if(NOT dep_name IN_LIST allowed)
      list(JOIN allowed " " allowed_text)
      message(FATAL_ERROR "lacquer_module(${name}): ${name} may not depend on ${dep_name}: "
                          "its row of ${LACQUER_MODULE_GRAPH} allows '${allowed_text}' "
                          "(STYLE.md §B)")
    endif()
  endforeach()

  add_library(lacquer_${name} STATIC ${M_SOURCES})
  lacquer_include_root(PUBLIC ${name} public_root)
  lacquer_include_root(PRIVATE ${name} private_root)
  target_include_directories(lacquer_${name} PUBLIC ${public_root} PRIVATE ${private_root})
  target_link_libraries(lacquer_${name} PUBLIC ${M_DEPS} PRIVATE ${M_THIRD_PARTY})
  lacquer_warnings(lacquer_${name})
endfunction()

# lacquer_program_sources(<target> <module>): an executable built from src/<module>/ (lacquerctl,
# lacquer-demo-origin) gets that module's private root, so "<module>/file.h" works there.
function(lacquer_program_sources target module)
  lacquer_include_root(PRIVATE ${module} private_root)
  target_include_directories(${target} PRIVATE ${private_root})
endfunction()
