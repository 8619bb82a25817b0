# Where scripts/deps.sh keeps the dependencies it builds, and the file naming them for
# one target: sets XB_DEPS_CACHE and reads <cache>/<target>/deps.cmake (XB_DEPS_PREFIXES).
# xb_deps_load(<target>) with target x86_64-w64-mingw32, i686-w64-mingw32 or native.
macro(xb_deps_load target)
  if(NOT DEFINED XB_DEPS_CACHE)
    if(DEFINED ENV{XB_DEPS_CACHE})
      set(XB_DEPS_CACHE $ENV{XB_DEPS_CACHE})
    elseif(DEFINED ENV{XDG_CACHE_HOME})
      set(XB_DEPS_CACHE $ENV{XDG_CACHE_HOME}/xoauthbridge/deps)
    else()
      set(XB_DEPS_CACHE $ENV{HOME}/.cache/xoauthbridge/deps)
    endif()
  endif()
  set(XB_DEPS_FILE ${XB_DEPS_CACHE}/${target}/deps.cmake)
  if(NOT EXISTS ${XB_DEPS_FILE})
    message(FATAL_ERROR "${XB_DEPS_FILE} is missing: run scripts/deps.sh ${target} first")
  endif()
  include(${XB_DEPS_FILE})
endmacro()
