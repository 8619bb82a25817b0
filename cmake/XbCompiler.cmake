# Warnings and hardening for every target of the project (not for the dependencies).

add_library(xb_flags INTERFACE)

target_compile_options(xb_flags INTERFACE
  -Wall -Wextra -Wformat=2 -Wformat-security -Wshadow -Wpointer-arith
  -Wcast-qual -Wwrite-strings -Wstrict-prototypes -Wmissing-prototypes
  -Wundef -Wvla -Wimplicit-fallthrough -Wno-unused-parameter
  -fno-strict-aliasing -fstack-protector-strong)
if(XB_WERROR)
  target_compile_options(xb_flags INTERFACE -Werror)
endif()

# FORTIFY needs optimisation; sanitizer builds are -O1 and keep it too.
target_compile_definitions(xb_flags INTERFACE
  $<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>)

target_include_directories(xb_flags INTERFACE
  ${CMAKE_SOURCE_DIR}/include
  ${CMAKE_BINARY_DIR}/generated)

if(WIN32)
  # Windows 7 is the oldest system Outlook 2010 users still run.
  target_compile_definitions(xb_flags INTERFACE
    _WIN32_WINNT=0x0601 WINVER=0x0601 UNICODE _UNICODE WIN32_LEAN_AND_MEAN
    __USE_MINGW_ANSI_STDIO=1)
  # ASLR, DEP and (on 64-bit) high-entropy ASLR; static runtime so the
  # binaries need nothing but Windows itself.
  target_link_options(xb_flags INTERFACE
    -static -static-libgcc
    # The driver then links libssp, which stack protector and FORTIFY need on MinGW.
    -fstack-protector-strong
    -Wl,--dynamicbase -Wl,--nxcompat)
  if(CMAKE_SIZEOF_VOID_P EQUAL 8)
    target_link_options(xb_flags INTERFACE -Wl,--high-entropy-va)
  endif()
  # GCC has no Control Flow Guard (-mguard=cf is clang/LLVM only): see docs/build.md.
  # Nothing of the build machine in what ships: source and build paths that __FILE__
  # (assertions) and debug information carry become relative (the installed PEs are
  # stripped as well; tests/tools/releasecheck.py checks).
  target_compile_options(xb_flags INTERFACE
    -ffile-prefix-map=${CMAKE_SOURCE_DIR}/=
    -ffile-prefix-map=${CMAKE_BINARY_DIR}/=build/
    -ffile-prefix-map=${XB_DEPS_CACHE}/=deps/)
else()
  target_compile_definitions(xb_flags INTERFACE _POSIX_C_SOURCE=200809L _DEFAULT_SOURCE)
  set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  target_compile_options(xb_flags INTERFACE -fPIE -fcf-protection=full)
  target_link_options(xb_flags INTERFACE -pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack)
endif()

if(XB_SANITIZE)
  target_compile_options(xb_flags INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(xb_flags INTERFACE -fsanitize=address,undefined)
endif()
