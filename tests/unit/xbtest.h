/*
 * A minimal test harness: each test program is a list of functions; CHECK records a
 * failure with file and line and goes on, the program's exit code is the verdict.
 * Output is TAP, so a failing test shows which check and why.
 */
#ifndef XBTEST_H
#define XBTEST_H

#include <stdio.h>
#include <string.h>

static int xbtest_failures;
static int xbtest_checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        xbtest_checks++;                                                             \
        if (!(cond)) {                                                               \
            xbtest_failures++;                                                       \
            printf("#   %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                            \
    } while (0)

#define CHECK_STR(got, want)                                                         \
    do {                                                                             \
        const char *g_ = (got), *w_ = (want);                                        \
        xbtest_checks++;                                                             \
        if (!g_ || strcmp(g_, w_) != 0) {                                            \
            xbtest_failures++;                                                       \
            printf("#   %s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__,       \
                   g_ ? g_ : "(null)", w_);                                          \
        }                                                                            \
    } while (0)

struct xbtest_case {
    const char *name;
    void (*fn)(void);
};

static inline int xbtest_run(const struct xbtest_case *cases, size_t n)
{
    printf("1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        int before = xbtest_failures;
        cases[i].fn();
        printf("%s %zu - %s\n", xbtest_failures == before ? "ok" : "not ok", i + 1,
               cases[i].name);
    }
    printf("# %d checks, %d failed\n", xbtest_checks, xbtest_failures);
    return xbtest_failures ? 1 : 0;
}

#define XBTEST_MAIN(...)                                                             \
    int main(void)                                                                   \
    {                                                                                \
        static const struct xbtest_case cases_[] = { __VA_ARGS__ };                  \
        return xbtest_run(cases_, sizeof(cases_) / sizeof(cases_[0]));               \
    }

#define XBTEST(fn) { #fn, fn }

#endif
