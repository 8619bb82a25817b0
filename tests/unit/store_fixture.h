/* Scaffolding for the store tests (test_store.c): a fresh directory per test under
 * TMPDIR (POSIX) or GetTempPath (Windows), and whole-file helpers that do not go
 * through the code under test where it matters. */
#ifndef XB_STORE_FIXTURE_H
#define XB_STORE_FIXTURE_H

#include <stddef.h>

#define PATH_MAX_TEST 1024

/* The directory of the running test, made by setup() and removed by teardown(). */
extern char test_dir[PATH_MAX_TEST];
int setup(void);
void teardown(void);

/* dir/name into out; a path that does not fit ends the test program. */
void join(char *out, size_t size, const char *dir, const char *name);
void in_dir(char *out, size_t size, const char *name);
void store_path(char *out, size_t size);
int count_entries(const char *dir);

/* Whole file into a new buffer (xb_free it), or NULL. */
unsigned char *slurp(const char *path, size_t *len);
/* Writes bytes with stdio, not with the code under test; 0 on success. */
int spit(const char *path, const void *data, size_t len);
int contains(const char *hay, const char *needle);
int has_bytes(const unsigned char *hay, size_t len, const char *needle);

#ifdef _WIN32
/* 1 if path's DACL allows only this user and SYSTEM, 0 if anyone else, -1 if unreadable. */
int dacl_owner_only(const char *path);
#else
/* Permission bits of path, or 0xffff. */
unsigned mode_of(const char *path);
#endif

#endif
