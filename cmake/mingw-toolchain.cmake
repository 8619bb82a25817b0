# MinGW-w64 cross toolchain. XB_MINGW_TRIPLE is set by the per-target wrapper
# (mingw-x86_64.cmake, mingw-i686.cmake).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_C_COMPILER ${XB_MINGW_TRIPLE}-gcc)
set(CMAKE_RC_COMPILER ${XB_MINGW_TRIPLE}-windres)

# The static dependencies cross-built by scripts/deps.sh.
include(${CMAKE_CURRENT_LIST_DIR}/XbDepsCache.cmake)
xb_deps_load(${XB_MINGW_TRIPLE})

set(CMAKE_FIND_ROOT_PATH /usr/${XB_MINGW_TRIPLE} ${XB_DEPS_PREFIXES})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Windows test programs run under Wine (64-bit only: 32-bit Wine is not installable here).
if(XB_MINGW_TRIPLE STREQUAL "x86_64-w64-mingw32")
  find_program(XB_WINE NAMES wine64 wine)
  if(XB_WINE)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${CMAKE_CURRENT_LIST_DIR}/../tests/tools/wine-run.sh)
  endif()
endif()
