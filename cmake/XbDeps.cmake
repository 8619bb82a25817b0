# Finds OpenSSL 3, libcurl, libevent 2.1 (+ libevent_openssl) and cJSON and exposes
# them as imported targets xb::openssl, xb::curl, xb::event, xb::cjson.
# Linux: Debian's -dev packages through pkg-config, except libcurl: a static HTTP-only
# build from Debian's source (scripts/deps.sh native; docs/decisions.md says why).
# Windows: the static builds made by scripts/deps.sh, whose prefixes the toolchain file
# put on CMAKE_FIND_ROOT_PATH.

if(WIN32)
  # A new dependency build (new Debian version or recipe) changes deps.cmake: configure
  # again then, and forget library paths found in the old prefixes.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${XB_DEPS_FILE})
  if(NOT "${XB_DEPS_PREFIXES}" STREQUAL "${XB_DEPS_PREFIXES_USED}")
    get_cmake_property(cached CACHE_VARIABLES)
    foreach(v IN LISTS cached)
      if("${${v}}" MATCHES "^${XB_DEPS_CACHE}/")
        unset(${v} CACHE)
      endif()
    endforeach()
    set(XB_DEPS_PREFIXES_USED "${XB_DEPS_PREFIXES}" CACHE INTERNAL "")
  endif()

  set(OPENSSL_USE_STATIC_LIBS ON)
  find_package(OpenSSL 3.0 REQUIRED)
  add_library(xb::openssl INTERFACE IMPORTED)
  target_link_libraries(xb::openssl INTERFACE OpenSSL::SSL OpenSSL::Crypto ws2_32 crypt32 bcrypt)

  find_path(XB_CURL_INCLUDE curl/curl.h REQUIRED)
  find_library(XB_CURL_LIB NAMES libcurl.a curl REQUIRED)
  add_library(xb::curl INTERFACE IMPORTED)
  target_include_directories(xb::curl INTERFACE ${XB_CURL_INCLUDE})
  target_compile_definitions(xb::curl INTERFACE CURL_STATICLIB)
  target_link_libraries(xb::curl INTERFACE ${XB_CURL_LIB} xb::openssl ws2_32 wldap32 crypt32 normaliz)

  find_path(XB_EVENT_INCLUDE event2/event.h REQUIRED)
  find_library(XB_EVENT_CORE NAMES libevent_core.a REQUIRED)
  find_library(XB_EVENT_EXTRA NAMES libevent_extra.a REQUIRED)
  find_library(XB_EVENT_OPENSSL NAMES libevent_openssl.a REQUIRED)
  add_library(xb::event INTERFACE IMPORTED)
  target_include_directories(xb::event INTERFACE ${XB_EVENT_INCLUDE})
  target_link_libraries(xb::event INTERFACE
    ${XB_EVENT_OPENSSL} ${XB_EVENT_EXTRA} ${XB_EVENT_CORE} xb::openssl ws2_32 iphlpapi shell32 advapi32)

  find_path(XB_CJSON_INCLUDE cjson/cJSON.h REQUIRED)
  find_library(XB_CJSON_LIB NAMES libcjson.a cjson REQUIRED)
  add_library(xb::cjson INTERFACE IMPORTED)
  target_include_directories(xb::cjson INTERFACE ${XB_CJSON_INCLUDE})
  target_compile_definitions(xb::cjson INTERFACE CJSON_HIDE_SYMBOLS)
  target_link_libraries(xb::cjson INTERFACE ${XB_CJSON_LIB})
else()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(XB_OPENSSL REQUIRED IMPORTED_TARGET openssl>=3.0)
  pkg_check_modules(XB_EVENT REQUIRED IMPORTED_TARGET libevent_core>=2.1 libevent_extra>=2.1 libevent_openssl>=2.1)
  pkg_check_modules(XB_CJSON REQUIRED IMPORTED_TARGET libcjson)
  add_library(xb::openssl ALIAS PkgConfig::XB_OPENSSL)
  include(${CMAKE_CURRENT_LIST_DIR}/XbDepsCache.cmake)
  xb_deps_load(native)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${XB_DEPS_FILE})
  find_path(XB_CURL_INCLUDE curl/curl.h PATHS ${XB_DEPS_PREFIXES} PATH_SUFFIXES include
            NO_DEFAULT_PATH REQUIRED)
  find_library(XB_CURL_LIB NAMES libcurl.a PATHS ${XB_DEPS_PREFIXES} PATH_SUFFIXES lib
               NO_DEFAULT_PATH REQUIRED)
  find_package(Threads REQUIRED)
  add_library(xb::curl INTERFACE IMPORTED)
  target_include_directories(xb::curl BEFORE INTERFACE ${XB_CURL_INCLUDE})
  target_compile_definitions(xb::curl INTERFACE CURL_STATICLIB)
  target_link_libraries(xb::curl INTERFACE ${XB_CURL_LIB} PkgConfig::XB_OPENSSL Threads::Threads)
  add_library(xb::event ALIAS PkgConfig::XB_EVENT)
  add_library(xb::cjson ALIAS PkgConfig::XB_CJSON)
endif()
