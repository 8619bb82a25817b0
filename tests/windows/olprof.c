/*
 * olprof: builds and inspects synthetic Outlook mail profiles in HKCU, in the formats
 * of the project's Outlook reference notes (reference/outlook.md: where accounts live,
 * strings as REG_BINARY UTF-16LE with a NUL, passwords as 0x02 and a DPAPI blob). It
 * is the tests' ground truth, so it is written from those notes alone and shares no
 * code with addin/ or service/. Run under Wine by the win64 tests; olprof.py wraps it.
 *
 *   olprof make LAYOUT PROFILE SPECFILE       profile (and DefaultProfile if unset) from a spec
 *   olprof dump LAYOUT PROFILE                every value of every account key
 *   olprof dumpkey KEYPATH                    every value under an HKCU key, recursively
 *   olprof password LAYOUT PROFILE ID NAME    a password value, decrypted
 *   olprof get LAYOUT PROFILE ID NAME         a string or DWORD value, decoded
 *   olprof delete LAYOUT PROFILE [ID]         a profile or one account key
 *   olprof default LAYOUT [PROFILE|--clear]   prints, sets or removes DefaultProfile
 *   olprof selftest                           checks all of the above (CTest)
 *
 * LAYOUT is 2016 (Office\16.0), 2013 (Office\15.0) or 2010 (Windows Messaging Subsystem).
 * Dump lines: ID TAB NAME TAB TYPE TAB HEX, sorted by ID then NAME (case-insensitive).
 * Exit codes: 0 done, 1 error or usage, 2 absent, 3 value not in the expected format.
 *
 * The spec file is UTF-8, one item a line ('#' comments and blank lines ignored):
 *   account 00000002          starts an account key (its name as given)
 *   str NAME=VALUE            REG_BINARY, UTF-16LE of VALUE and a NUL
 *   sz NAME=VALUE             REG_SZ
 *   dword NAME=N              REG_DWORD, decimal or 0x hex
 *   password NAME=VALUE       REG_BINARY, 0x02 then DPAPI(UTF-16LE of VALUE and a NUL)
 *   hex NAME=TYPE:HEXBYTES    raw bytes with any registry type number
 * NAME is everything up to the first '=' (no spaces around it); VALUE is verbatim. The
 * whole file is checked before anything is written. An account that already exists is
 * replaced as a whole; other accounts are kept. Each make also sets NextAccountID (past
 * the highest 8-hex-digit id) and LastChangeVer (8 bytes, a little-endian counter, one
 * up) on the 9375CFF0... key. The binary list of account ids the notes mention is not
 * written: they do not name its value. KEYPATH may start with HKCU\.
 */
#include <windows.h>
#include <wincrypt.h>
#include <fcntl.h>
#include <io.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define ACCOUNTS_KEY L"9375CFF0413111d3B88A00104B2A6676"
#define PATH_CAP 1024
#define NAME_CAP 256
#define SPEC_MAX (1u << 20)
#define PASSWORD_PREFIX 0x02

enum { RC_OK = 0, RC_ERROR = 1, RC_ABSENT = 2, RC_FORMAT = 3 };

struct layout {
    const wchar_t *name;
    const wchar_t *profiles;    /* parent of the profile keys */
    const wchar_t *default_key; /* holds DefaultProfile */
};

static const struct layout layouts[] = {
    {L"2016", L"Software\\Microsoft\\Office\\16.0\\Outlook\\Profiles",
     L"Software\\Microsoft\\Office\\16.0\\Outlook"},
    {L"2013", L"Software\\Microsoft\\Office\\15.0\\Outlook\\Profiles",
     L"Software\\Microsoft\\Office\\15.0\\Outlook"},
    {L"2010", L"Software\\Microsoft\\Windows NT\\CurrentVersion\\Windows Messaging Subsystem\\Profiles",
     L"Software\\Microsoft\\Windows NT\\CurrentVersion\\Windows Messaging Subsystem\\Profiles"},
};

/* --- small helpers ------------------------------------------------------------------ */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("olprof: out of memory\n", stderr);
        exit(RC_ERROR);
    }
    return p;
}

static void *xgrow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap * 2 : 8;
    if (n < need)
        n = need;
    if (n > SIZE_MAX / elem) {
        fputs("olprof: too many items\n", stderr);
        exit(RC_ERROR);
    }
    p = realloc(p, n * elem);
    if (!p) {
        fputs("olprof: out of memory\n", stderr);
        exit(RC_ERROR);
    }
    *cap = n;
    return p;
}

static wchar_t *xwcsdup(const wchar_t *s, size_t n)
{
    wchar_t *d = xmalloc((n + 1) * sizeof(wchar_t));
    memcpy(d, s, n * sizeof(wchar_t));
    d[n] = L'\0';
    return d;
}

/* UTF-8 of a wide string for messages only (a ring of buffers; long text is cut). */
static const char *u8(const wchar_t *w)
{
    static char ring[4][1024];
    static unsigned next;
    char *b = ring[next++ % 4];
    if (WideCharToMultiByte(CP_UTF8, 0, w, -1, b, (int)sizeof(ring[0]), NULL, NULL) <= 0)
        snprintf(b, sizeof(ring[0]), "%s", "(unprintable)");
    return b;
}

/* Writes n wide chars (n < 0: up to the NUL) to stdout as UTF-8. */
static bool put_w(const wchar_t *w, int n, DWORD flags)
{
    if (n == 0 || (n < 0 && !*w))
        return true;
    int len = WideCharToMultiByte(CP_UTF8, flags, w, n, NULL, 0, NULL, NULL);
    if (len <= 0)
        return false;
    char *s = xmalloc((size_t)len);
    WideCharToMultiByte(CP_UTF8, flags, w, n, s, len, NULL, NULL);
    fwrite(s, 1, (size_t)len - (n < 0 ? 1 : 0), stdout);
    free(s);
    return true;
}

/* NULL if the bytes are not UTF-8. */
static wchar_t *from_utf8(const char *s, size_t len)
{
    if (len == 0)
        return xwcsdup(L"", 0);
    if (len > INT_MAX)
        return NULL;
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)len, NULL, 0);
    if (n <= 0)
        return NULL;
    wchar_t *w = xmalloc(((size_t)n + 1) * sizeof(wchar_t));
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)len, w, n);
    w[n] = L'\0';
    return w;
}

static const char *errtext(DWORD e)
{
    static char buf[300];
    char msg[256];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e, 0,
                             msg, sizeof(msg), NULL);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' '))
        n--;
    msg[n] = '\0';
    snprintf(buf, sizeof(buf), "%s (error %lu)", n ? msg : "unknown error", (unsigned long)e);
    return buf;
}

static int say(int rc, const char *fmt, ...) __attribute__((format(gnu_printf, 2, 3)));
static int say(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("olprof: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return rc;
}

static int icmp(const wchar_t *a, const wchar_t *b)
{
    int c = CompareStringOrdinal(a, -1, b, -1, TRUE);
    return c ? c - CSTR_EQUAL : wcscmp(a, b);
}

static int hexval(wchar_t c)
{
    if (c >= L'0' && c <= L'9')
        return c - L'0';
    if (c >= L'a' && c <= L'f')
        return c - L'a' + 10;
    if (c >= L'A' && c <= L'F')
        return c - L'A' + 10;
    return -1;
}

/* Decimal, or 0x and hex; the whole string, at most 32 bits. */
static bool parse_u32(const wchar_t *s, DWORD *out)
{
    unsigned base = 10;
    uint64_t v = 0;
    if (s[0] == L'0' && (s[1] == L'x' || s[1] == L'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    for (; *s; s++) {
        int d = hexval(*s);
        if (d < 0 || (unsigned)d >= base)
            return false;
        v = v * base + (unsigned)d;
        if (v > 0xFFFFFFFFu)
            return false;
    }
    *out = (DWORD)v;
    return true;
}

static bool is_account_id(const wchar_t *s, DWORD *id)
{
    if (wcslen(s) != 8)
        return false;
    for (int i = 0; i < 8; i++)
        if (hexval(s[i]) < 0)
            return false;
    wchar_t hex[11] = L"0x";
    memcpy(hex + 2, s, 9 * sizeof(wchar_t));
    return parse_u32(hex, id);
}

static bool valid_part(const wchar_t *s)
{
    size_t n = wcslen(s);
    return n > 0 && n < NAME_CAP && !wcschr(s, L'\\');
}

/* profiles\PROFILE, then 9375CFF0..., then ID, as far as asked for. */
static void prof_path(wchar_t out[PATH_CAP], const struct layout *l, const wchar_t *profile,
                      bool accounts, const wchar_t *id)
{
    int r;
    if (id)
        r = _snwprintf(out, PATH_CAP, L"%ls\\%ls\\%ls\\%ls", l->profiles, profile, ACCOUNTS_KEY, id);
    else if (accounts)
        r = _snwprintf(out, PATH_CAP, L"%ls\\%ls\\%ls", l->profiles, profile, ACCOUNTS_KEY);
    else
        r = _snwprintf(out, PATH_CAP, L"%ls\\%ls", l->profiles, profile);
    if (r < 0 || r >= PATH_CAP) { /* cannot happen: the parts were checked by valid_part */
        fputs("olprof: key path too long\n", stderr);
        exit(RC_ERROR);
    }
}

/* --- reading keys ------------------------------------------------------------------- */

struct val {
    wchar_t *name;
    DWORD type;
    BYTE *data;
    DWORD size;
};

static int val_cmp(const void *a, const void *b)
{
    return icmp(((const struct val *)a)->name, ((const struct val *)b)->name);
}

static int name_cmp(const void *a, const void *b)
{
    return icmp(*(wchar_t *const *)a, *(wchar_t *const *)b);
}

static void vals_free(struct val *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].name);
        free(v[i].data);
    }
    free(v);
}

static void names_free(wchar_t **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* Every value of the key, sorted by name. */
static LSTATUS read_vals(HKEY k, struct val **out, size_t *count)
{
    DWORD n = 0, maxname = 0, maxdata = 0;
    LSTATUS r = RegQueryInfoKeyW(k, NULL, NULL, NULL, NULL, NULL, NULL, &n, &maxname, &maxdata, NULL, NULL);
    *out = NULL;
    *count = 0;
    if (r != ERROR_SUCCESS)
        return r;
    struct val *v = xmalloc((n ? n : 1) * sizeof(*v));
    wchar_t *name = xmalloc(((size_t)maxname + 2) * sizeof(wchar_t));
    BYTE *data = xmalloc(maxdata);
    size_t got = 0;
    for (DWORD i = 0; i < n; i++) {
        DWORD nl = maxname + 2, dl = maxdata, type = 0;
        r = RegEnumValueW(k, i, name, &nl, NULL, &type, data, &dl);
        if (r == ERROR_NO_MORE_ITEMS) {
            r = ERROR_SUCCESS;
            break;
        }
        if (r != ERROR_SUCCESS)
            break;
        v[got].name = xwcsdup(name, nl);
        v[got].type = type;
        v[got].size = dl;
        v[got].data = xmalloc(dl);
        memcpy(v[got].data, data, dl);
        got++;
    }
    free(name);
    free(data);
    if (r != ERROR_SUCCESS) {
        vals_free(v, got);
        return r;
    }
    qsort(v, got, sizeof(*v), val_cmp);
    *out = v;
    *count = got;
    return ERROR_SUCCESS;
}

/* Every subkey name, sorted. */
static LSTATUS read_subkeys(HKEY k, wchar_t ***out, size_t *count)
{
    DWORD n = 0, maxlen = 0;
    LSTATUS r = RegQueryInfoKeyW(k, NULL, NULL, NULL, &n, &maxlen, NULL, NULL, NULL, NULL, NULL, NULL);
    *out = NULL;
    *count = 0;
    if (r != ERROR_SUCCESS)
        return r;
    wchar_t **v = xmalloc((n ? n : 1) * sizeof(*v));
    wchar_t *name = xmalloc(((size_t)maxlen + 2) * sizeof(wchar_t));
    size_t got = 0;
    for (DWORD i = 0; i < n; i++) {
        DWORD nl = maxlen + 2;
        r = RegEnumKeyExW(k, i, name, &nl, NULL, NULL, NULL, NULL);
        if (r == ERROR_NO_MORE_ITEMS) {
            r = ERROR_SUCCESS;
            break;
        }
        if (r != ERROR_SUCCESS)
            break;
        v[got++] = xwcsdup(name, nl);
    }
    free(name);
    if (r != ERROR_SUCCESS) {
        names_free(v, got);
        return r;
    }
    qsort(v, got, sizeof(*v), name_cmp);
    *out = v;
    *count = got;
    return ERROR_SUCCESS;
}

/* One value, with zero bytes after the data (so text of any length reads safely). */
static LSTATUS query_value(const wchar_t *path, const wchar_t *name, DWORD *type, BYTE **data, DWORD *size)
{
    HKEY k;
    *data = NULL;
    LSTATUS r = RegOpenKeyExW(HKEY_CURRENT_USER, path, 0, KEY_READ, &k);
    if (r != ERROR_SUCCESS)
        return r;
    for (int tries = 0; tries < 4; tries++) {
        DWORD n = 0;
        r = RegQueryValueExW(k, name, NULL, type, NULL, &n);
        if (r != ERROR_SUCCESS)
            break;
        free(*data);
        *data = xmalloc((size_t)n + 4);
        *size = n;
        r = RegQueryValueExW(k, name, NULL, type, *data, size);
        if (r != ERROR_MORE_DATA)
            break;
    }
    RegCloseKey(k);
    if (r != ERROR_SUCCESS) {
        free(*data);
        *data = NULL;
        return r;
    }
    memset(*data + *size, 0, 4);
    return ERROR_SUCCESS;
}

static void print_val(const wchar_t *id, const struct val *v)
{
    put_w(id, -1, 0);
    putchar('\t');
    put_w(v->name, -1, 0);
    printf("\t%lu\t", (unsigned long)v->type);
    for (DWORD i = 0; i < v->size; i++)
        printf("%02x", v->data[i]);
    putchar('\n');
}

static int print_key_vals(HKEY k, const wchar_t *id, const wchar_t *where)
{
    struct val *v;
    size_t n;
    LSTATUS r = read_vals(k, &v, &n);
    if (r != ERROR_SUCCESS)
        return say(RC_ERROR, "cannot read the values of %s: %s", u8(where), errtext((DWORD)r));
    for (size_t i = 0; i < n; i++)
        print_val(id, &v[i]);
    vals_free(v, n);
    return RC_OK;
}

/* --- the spec file ------------------------------------------------------------------ */

struct spec_value {
    wchar_t *name;
    DWORD type;
    BYTE *data; /* points 2 bytes into its allocation; see set_value() */
    DWORD size;
};

struct spec_account {
    wchar_t *id;
    struct spec_value *v;
    size_t n, cap;
};

struct spec {
    struct spec_account *a;
    size_t n, cap;
};

/*
 * RegSetValueEx "helps" with string types: when the last character is not a NUL but
 * the one after the data is, it stores that NUL too (Windows and Wine both), and it
 * reads the character before the data for a 1-byte value. Guard bytes of 0xFF on both
 * sides keep the raw bytes raw.
 */
static BYTE *guarded(size_t size)
{
    BYTE *b = xmalloc(size + 4);
    memset(b, 0xFF, size + 4);
    return b + 2;
}

static void spec_free(struct spec *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct spec_account *a = &s->a[i];
        for (size_t j = 0; j < a->n; j++) {
            free(a->v[j].name);
            if (a->v[j].data)
                free(a->v[j].data - 2);
        }
        free(a->v);
        free(a->id);
    }
    free(s->a);
    memset(s, 0, sizeof(*s));
}

static bool word_is(const wchar_t *w, size_t n, const wchar_t *kw)
{
    return wcslen(kw) == n && wcsncmp(w, kw, n) == 0;
}

static bool is_space(wchar_t c)
{
    return c == L' ' || c == L'\t';
}

enum kind { K_STR, K_SZ, K_DWORD, K_PASSWORD, K_HEX };

/* One line; false with a message in msg. */
static bool spec_line(struct spec *s, wchar_t *line, char *msg, size_t cap)
{
    wchar_t *q = line;
    while (is_space(*q))
        q++;
    if (!*q || *q == L'#')
        return true;
    const wchar_t *kw = q;
    while (*q && !is_space(*q))
        q++;
    size_t kwlen = (size_t)(q - kw);
    while (is_space(*q))
        q++;

    if (word_is(kw, kwlen, L"account")) {
        size_t n = wcslen(q);
        while (n && is_space(q[n - 1]))
            q[--n] = L'\0';
        if (!valid_part(q)) {
            snprintf(msg, cap, "bad account id '%s' (1 to %d characters, no backslash)", u8(q), NAME_CAP - 1);
            return false;
        }
        for (size_t i = 0; i < s->n; i++)
            if (icmp(s->a[i].id, q) == 0) {
                snprintf(msg, cap, "account %s given twice", u8(q));
                return false;
            }
        s->a = xgrow(s->a, &s->cap, s->n + 1, sizeof(*s->a));
        memset(&s->a[s->n], 0, sizeof(s->a[0]));
        s->a[s->n++].id = xwcsdup(q, n);
        return true;
    }

    static const struct { const wchar_t *word; enum kind kind; } kinds[] = {
        {L"str", K_STR}, {L"sz", K_SZ}, {L"dword", K_DWORD}, {L"password", K_PASSWORD}, {L"hex", K_HEX},
    };
    size_t k = 0;
    while (k < sizeof(kinds) / sizeof(kinds[0]) && !word_is(kw, kwlen, kinds[k].word))
        k++;
    if (k == sizeof(kinds) / sizeof(kinds[0])) {
        wchar_t word[32];
        _snwprintf(word, 32, L"%.*ls", (int)(kwlen < 31 ? kwlen : 31), kw);
        word[31] = L'\0';
        snprintf(msg, cap, "unknown item '%s' (account, str, sz, dword, password or hex)", u8(word));
        return false;
    }
    if (s->n == 0) {
        snprintf(msg, cap, "a value before the first 'account' line");
        return false;
    }
    wchar_t *eq = wcschr(q, L'=');
    if (!eq) {
        snprintf(msg, cap, "no '=' (write %s NAME=VALUE)", u8(kinds[k].word));
        return false;
    }
    *eq = L'\0';
    const wchar_t *name = q, *value = eq + 1;
    size_t nlen = wcslen(name);
    if (nlen == 0 || nlen >= 16383) {
        snprintf(msg, cap, "empty or overlong value name");
        return false;
    }
    if (is_space(name[nlen - 1])) {
        snprintf(msg, cap, "value name '%s' ends in a space (no spaces around '=')", u8(name));
        return false;
    }
    struct spec_account *a = &s->a[s->n - 1];
    for (size_t i = 0; i < a->n; i++)
        if (icmp(a->v[i].name, name) == 0) {
            snprintf(msg, cap, "value '%s' given twice in account %s", u8(name), u8(a->id));
            return false;
        }

    struct spec_value v = {NULL, REG_BINARY, NULL, 0};
    size_t vlen = wcslen(value);
    switch (kinds[k].kind) {
    case K_STR:
    case K_SZ:
        v.type = kinds[k].kind == K_STR ? REG_BINARY : REG_SZ;
        v.size = (DWORD)((vlen + 1) * sizeof(wchar_t));
        v.data = guarded(v.size);
        memcpy(v.data, value, v.size);
        break;
    case K_DWORD: {
        DWORD d;
        if (!parse_u32(value, &d)) {
            snprintf(msg, cap, "'%s' is not a 32-bit number (decimal or 0x hex)", u8(value));
            return false;
        }
        v.type = REG_DWORD;
        v.size = 4;
        v.data = guarded(4);
        for (int i = 0; i < 4; i++)
            v.data[i] = (BYTE)(d >> (8 * i));
        break;
    }
    case K_PASSWORD: {
        DATA_BLOB in = {(DWORD)((vlen + 1) * sizeof(wchar_t)), (BYTE *)(uintptr_t)value}, out = {0, NULL};
        if (!CryptProtectData(&in, NULL, NULL, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN, &out)) {
            snprintf(msg, cap, "CryptProtectData failed: %s", errtext(GetLastError()));
            return false;
        }
        v.size = out.cbData + 1;
        v.data = guarded(v.size);
        v.data[0] = PASSWORD_PREFIX;
        memcpy(v.data + 1, out.pbData, out.cbData);
        LocalFree(out.pbData);
        break;
    }
    case K_HEX: {
        wchar_t *colon = wcschr(value, L':');
        if (colon)
            *colon = L'\0';
        if (!colon || !parse_u32(value, &v.type)) {
            snprintf(msg, cap, "write hex NAME=TYPE:HEXBYTES (TYPE a registry type number)");
            return false;
        }
        v.data = guarded(wcslen(colon + 1) / 2);
        int hi = -1;
        for (const wchar_t *h = colon + 1; *h; h++) {
            if (is_space(*h))
                continue;
            int d = hexval(*h);
            if (d < 0 || (hi >= 0 && is_space(h[-1]))) {
                free(v.data - 2);
                snprintf(msg, cap, "bad hex bytes (pairs of hex digits, spaces between bytes)");
                return false;
            }
            if (hi < 0) {
                hi = d;
            } else {
                v.data[v.size++] = (BYTE)(hi << 4 | d);
                hi = -1;
            }
        }
        if (hi >= 0) {
            free(v.data - 2);
            snprintf(msg, cap, "odd number of hex digits");
            return false;
        }
        break;
    }
    }
    v.name = xwcsdup(name, nlen);
    a->v = xgrow(a->v, &a->cap, a->n + 1, sizeof(*a->v));
    a->v[a->n++] = v;
    return true;
}

/* Reads and checks the whole file before anything is written. */
static int spec_load(const wchar_t *path, struct spec *s)
{
    HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return say(RC_ERROR, "%s: cannot open: %s", u8(path), errtext(GetLastError()));
    LARGE_INTEGER size;
    if (!GetFileSizeEx(h, &size) || size.QuadPart > SPEC_MAX) {
        CloseHandle(h);
        return say(RC_ERROR, "%s: unreadable or larger than %u bytes", u8(path), SPEC_MAX);
    }
    char *buf = xmalloc((size_t)size.QuadPart + 1);
    DWORD got = 0;
    BOOL ok = ReadFile(h, buf, (DWORD)size.QuadPart, &got, NULL);
    CloseHandle(h);
    if (!ok || got != (DWORD)size.QuadPart) {
        free(buf);
        return say(RC_ERROR, "%s: cannot read", u8(path));
    }

    int rc = RC_OK;
    const char *p = buf, *end = buf + got;
    if (got >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    for (unsigned lineno = 1; p < end && rc == RC_OK; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        size_t len = (size_t)(e - p);
        if (len && p[len - 1] == '\r')
            len--;
        char msg[1200];
        wchar_t *line = from_utf8(p, len);
        if (!line) {
            rc = say(RC_ERROR, "%s:%u: not UTF-8", u8(path), lineno);
        } else {
            if (!spec_line(s, line, msg, sizeof(msg)))
                rc = say(RC_ERROR, "%s:%u: %s", u8(path), lineno, msg);
            SecureZeroMemory(line, wcslen(line) * sizeof(wchar_t)); /* may hold a password */
            free(line);
        }
        p = nl ? nl + 1 : end;
    }
    SecureZeroMemory(buf, got);
    free(buf);
    return rc;
}

/* --- commands ----------------------------------------------------------------------- */

static int set_default_if_unset(const struct layout *l, const wchar_t *profile)
{
    HKEY k;
    LSTATUS r = RegCreateKeyExW(HKEY_CURRENT_USER, l->default_key, 0, NULL, 0, KEY_READ | KEY_WRITE,
                                NULL, &k, NULL);
    if (r != ERROR_SUCCESS)
        return say(RC_ERROR, "cannot open %s: %s", u8(l->default_key), errtext((DWORD)r));
    DWORD type, size = 0;
    r = RegQueryValueExW(k, L"DefaultProfile", NULL, &type, NULL, &size);
    if (r == ERROR_FILE_NOT_FOUND || (r == ERROR_SUCCESS && size <= sizeof(wchar_t)))
        r = RegSetValueExW(k, L"DefaultProfile", 0, REG_SZ, (const BYTE *)profile,
                           (DWORD)((wcslen(profile) + 1) * sizeof(wchar_t)));
    RegCloseKey(k);
    if (r != ERROR_SUCCESS)
        return say(RC_ERROR, "cannot set DefaultProfile: %s", errtext((DWORD)r));
    return RC_OK;
}

/* NextAccountID past every account id; LastChangeVer, a 64-bit counter, one up. */
static int bump_counters(HKEY acc)
{
    DWORD next = 0, type = 0, size = sizeof(next);
    if (RegQueryValueExW(acc, L"NextAccountID", NULL, &type, (BYTE *)&next, &size) != ERROR_SUCCESS ||
        type != REG_DWORD || size != sizeof(next))
        next = 0;
    wchar_t **ids;
    size_t n;
    LSTATUS r = read_subkeys(acc, &ids, &n);
    if (r != ERROR_SUCCESS)
        return say(RC_ERROR, "cannot list the accounts: %s", errtext((DWORD)r));
    for (size_t i = 0; i < n; i++) {
        DWORD id;
        if (is_account_id(ids[i], &id) && id != 0xFFFFFFFFu && id + 1 > next)
            next = id + 1;
    }
    names_free(ids, n);
    if (next == 0)
        next = 1;
    BYTE le[8];
    for (int i = 0; i < 4; i++)
        le[i] = (BYTE)(next >> (8 * i));
    r = RegSetValueExW(acc, L"NextAccountID", 0, REG_DWORD, le, 4);

    uint64_t ver = 0;
    size = sizeof(le);
    if (r == ERROR_SUCCESS &&
        RegQueryValueExW(acc, L"LastChangeVer", NULL, &type, le, &size) == ERROR_SUCCESS &&
        type == REG_BINARY && size == 8)
        for (int i = 7; i >= 0; i--)
            ver = ver << 8 | le[i];
    ver++;
    for (int i = 0; i < 8; i++)
        le[i] = (BYTE)(ver >> (8 * i));
    if (r == ERROR_SUCCESS)
        r = RegSetValueExW(acc, L"LastChangeVer", 0, REG_BINARY, le, 8);
    if (r != ERROR_SUCCESS)
        return say(RC_ERROR, "cannot write NextAccountID/LastChangeVer: %s", errtext((DWORD)r));
    return RC_OK;
}

static int cmd_make(const struct layout *l, const wchar_t *profile, const wchar_t *specpath)
{
    struct spec s = {NULL, 0, 0};
    HKEY acc = NULL;
    wchar_t path[PATH_CAP];
    int rc = spec_load(specpath, &s);
    if (rc != RC_OK)
        goto out;
    prof_path(path, l, profile, true, NULL);
    LSTATUS r = RegCreateKeyExW(HKEY_CURRENT_USER, path, 0, NULL, 0, KEY_READ | KEY_WRITE, NULL, &acc, NULL);
    if (r != ERROR_SUCCESS) {
        rc = say(RC_ERROR, "cannot create %s: %s", u8(path), errtext((DWORD)r));
        goto out;
    }
    for (size_t i = 0; i < s.n; i++) {
        struct spec_account *a = &s.a[i];
        HKEY k;
        r = RegDeleteTreeW(acc, a->id);
        if (r != ERROR_SUCCESS && r != ERROR_FILE_NOT_FOUND) {
            rc = say(RC_ERROR, "cannot replace account %s: %s", u8(a->id), errtext((DWORD)r));
            goto out;
        }
        r = RegCreateKeyExW(acc, a->id, 0, NULL, 0, KEY_WRITE, NULL, &k, NULL);
        if (r != ERROR_SUCCESS) {
            rc = say(RC_ERROR, "cannot create account %s: %s", u8(a->id), errtext((DWORD)r));
            goto out;
        }
        for (size_t j = 0; j < a->n && r == ERROR_SUCCESS; j++) {
            r = RegSetValueExW(k, a->v[j].name, 0, a->v[j].type, a->v[j].data, a->v[j].size);
            if (r != ERROR_SUCCESS)
                rc = say(RC_ERROR, "cannot set %s in account %s: %s", u8(a->v[j].name), u8(a->id),
                         errtext((DWORD)r));
        }
        RegCloseKey(k);
        if (rc != RC_OK)
            goto out;
    }
    rc = bump_counters(acc);
    if (rc == RC_OK)
        rc = set_default_if_unset(l, profile);
out:
    if (acc)
        RegCloseKey(acc);
    spec_free(&s);
    return rc;
}

static int cmd_dump(const struct layout *l, const wchar_t *profile)
{
    wchar_t path[PATH_CAP];
    HKEY p, acc;
    prof_path(path, l, profile, false, NULL);
    LSTATUS r = RegOpenKeyExW(HKEY_CURRENT_USER, path, 0, KEY_READ, &p);
    if (r == ERROR_FILE_NOT_FOUND)
        return say(RC_ABSENT, "no profile %s", u8(path));
    if (r != ERROR_SUCCESS)
        return say(RC_ERROR, "cannot open %s: %s", u8(path), errtext((DWORD)r));
    r = RegOpenKeyExW(p, ACCOUNTS_KEY, 0, KEY_READ, &acc);
    RegCloseKey(p);
    if (r == ERROR_FILE_NOT_FOUND)
        return RC_OK;
    if (r != ERROR_SUCCESS)
        return say(RC_ERROR, "cannot open the accounts of %s: %s", u8(path), errtext((DWORD)r));
    wchar_t **ids;
    size_t n;
    int rc = RC_OK;
    r = read_subkeys(acc, &ids, &n);
    if (r != ERROR_SUCCESS)
        rc = say(RC_ERROR, "cannot list the accounts of %s: %s", u8(path), errtext((DWORD)r));
    for (size_t i = 0; rc == RC_OK && i < n; i++) {
        HKEY k;
        r = RegOpenKeyExW(acc, ids[i], 0, KEY_READ, &k);
        if (r != ERROR_SUCCESS) {
            rc = say(RC_ERROR, "cannot open account %s: %s", u8(ids[i]), errtext((DWORD)r));
            break;
        }
        rc = print_key_vals(k, ids[i], ids[i]);
        RegCloseKey(k);
    }
    names_free(ids, n);
    RegCloseKey(acc);
    return rc;
}

static int dump_tree(HKEY k, const wchar_t *rel)
{
    int rc = print_key_vals(k, rel ? rel : L".", rel ? rel : L"the key");
    wchar_t **subs;
    size_t n;
    if (rc != RC_OK)
        return rc;
    LSTATUS r = read_subkeys(k, &subs, &n);
    if (r != ERROR_SUCCESS)
        return say(RC_ERROR, "cannot list the subkeys of %s: %s", u8(rel ? rel : L"the key"), errtext((DWORD)r));
    for (size_t i = 0; rc == RC_OK && i < n; i++) {
        size_t len = (rel ? wcslen(rel) + 1 : 0) + wcslen(subs[i]) + 1;
        wchar_t *child = xmalloc(len * sizeof(wchar_t));
        if (rel)
            _snwprintf(child, len, L"%ls\\%ls", rel, subs[i]);
        else
            _snwprintf(child, len, L"%ls", subs[i]);
        child[len - 1] = L'\0';
        HKEY c;
        r = RegOpenKeyExW(k, subs[i], 0, KEY_READ, &c);
        if (r != ERROR_SUCCESS) {
            rc = say(RC_ERROR, "cannot open %s: %s", u8(child), errtext((DWORD)r));
        } else {
            rc = dump_tree(c, child);
            RegCloseKey(c);
        }
        free(child);
    }
    names_free(subs, n);
    return rc;
}

static const wchar_t *strip_hive(const wchar_t *path)
{
    static const wchar_t *const hives[] = {L"HKCU\\", L"HKEY_CURRENT_USER\\"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = wcslen(hives[i]);
        if (_wcsnicmp(path, hives[i], n) == 0)
            return path + n;
    }
    return path;
}

static int cmd_dumpkey(const wchar_t *arg)
{
    wchar_t path[PATH_CAP];
    HKEY k;
    const wchar_t *rel = strip_hive(arg);
    size_t len = wcslen(rel);
    if (len >= PATH_CAP)
        return say(RC_ERROR, "key path too long");
    memcpy(path, rel, (len + 1) * sizeof(wchar_t));
    for (size_t n = wcslen(path); n && path[n - 1] == L'\\';)
        path[--n] = L'\0';
    LSTATUS r = RegOpenKeyExW(HKEY_CURRENT_USER, path, 0, KEY_READ, &k);
    if (r == ERROR_FILE_NOT_FOUND)
        return say(RC_ABSENT, "no key HKCU\\%s", u8(path));
    if (r != ERROR_SUCCESS)
        return say(RC_ERROR, "cannot open HKCU\\%s: %s", u8(path), errtext((DWORD)r));
    int rc = dump_tree(k, NULL);
    RegCloseKey(k);
    return rc;
}

static int absent_value(LSTATUS r, const wchar_t *path, const wchar_t *name)
{
    if (r == ERROR_FILE_NOT_FOUND)
        return say(RC_ABSENT, "no value '%s' in %s", u8(name), u8(path));
    return say(RC_ERROR, "cannot read '%s' in %s: %s", u8(name), u8(path), errtext((DWORD)r));
}

/* UTF-16LE text ending in its one NUL: the character count without it, or -1. */
static int utf16z_chars(const BYTE *data, DWORD size)
{
    const wchar_t *w = (const wchar_t *)data;
    if (size < 2 || size % 2 || size / 2 > INT_MAX || w[size / 2 - 1] != L'\0')
        return -1;
    int n = (int)(size / 2 - 1);
    return (int)wcsnlen(w, (size_t)n) == n ? n : -1;
}

static int cmd_password(const struct layout *l, const wchar_t *profile, const wchar_t *id, const wchar_t *name)
{
    wchar_t path[PATH_CAP];
    DWORD type = 0, size = 0;
    BYTE *data;
    prof_path(path, l, profile, true, id);
    LSTATUS r = query_value(path, name, &type, &data, &size);
    if (r != ERROR_SUCCESS)
        return absent_value(r, path, name);
    int rc = RC_OK;
    DATA_BLOB in = {size ? size - 1 : 0, data + 1}, out = {0, NULL};
    if (type != REG_BINARY)
        rc = say(RC_FORMAT, "'%s' is type %lu, not REG_BINARY", u8(name), (unsigned long)type);
    else if (size < 2 || data[0] != PASSWORD_PREFIX)
        rc = say(RC_FORMAT, "'%s' does not start with the byte 0x02", u8(name));
    else if (!CryptUnprotectData(&in, NULL, NULL, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN, &out))
        rc = say(RC_FORMAT, "'%s': CryptUnprotectData failed: %s", u8(name), errtext(GetLastError()));
    else if (utf16z_chars(out.pbData, out.cbData) < 0)
        rc = say(RC_FORMAT, "'%s' decrypts to %lu bytes that are not UTF-16LE text ending in one NUL",
                 u8(name), (unsigned long)out.cbData);
    else if (!put_w((const wchar_t *)out.pbData, utf16z_chars(out.pbData, out.cbData), WC_ERR_INVALID_CHARS))
        rc = say(RC_FORMAT, "'%s' decrypts to invalid UTF-16", u8(name));
    else
        putchar('\n');
    if (out.pbData) {
        SecureZeroMemory(out.pbData, out.cbData);
        LocalFree(out.pbData);
    }
    free(data);
    return rc;
}

static int cmd_get(const struct layout *l, const wchar_t *profile, const wchar_t *id, const wchar_t *name)
{
    wchar_t path[PATH_CAP];
    DWORD type = 0, size = 0;
    BYTE *data;
    prof_path(path, l, profile, true, id);
    LSTATUS r = query_value(path, name, &type, &data, &size);
    if (r != ERROR_SUCCESS)
        return absent_value(r, path, name);
    int rc = RC_OK, n;
    const wchar_t *w = (const wchar_t *)data;
    switch (type) {
    case REG_BINARY:
        n = utf16z_chars(data, size);
        if (n < 0)
            rc = say(RC_FORMAT, "'%s' is REG_BINARY but not UTF-16LE text ending in one NUL", u8(name));
        else
            put_w(w, n, 0);
        break;
    case REG_SZ:
    case REG_EXPAND_SZ:
        if (size % 2) {
            rc = say(RC_FORMAT, "'%s' is a string of an odd number of bytes", u8(name));
            break;
        }
        n = (int)(size / 2);
        if (n && w[n - 1] == L'\0')
            n--;
        put_w(w, n, 0);
        break;
    case REG_DWORD:
        if (size == 4)
            printf("%lu", (unsigned long)(data[0] | data[1] << 8 | data[2] << 16 | (DWORD)data[3] << 24));
        else
            rc = say(RC_FORMAT, "'%s' is a REG_DWORD of %lu bytes", u8(name), (unsigned long)size);
        break;
    default:
        rc = say(RC_FORMAT, "'%s' is type %lu, not a string or a DWORD", u8(name), (unsigned long)type);
    }
    if (rc == RC_OK)
        putchar('\n');
    free(data);
    return rc;
}

static int cmd_delete(const struct layout *l, const wchar_t *profile, const wchar_t *id)
{
    wchar_t path[PATH_CAP];
    prof_path(path, l, profile, id != NULL, id);
    LSTATUS r = RegDeleteTreeW(HKEY_CURRENT_USER, path);
    if (r == ERROR_FILE_NOT_FOUND)
        return say(RC_ABSENT, "no key %s", u8(path));
    if (r != ERROR_SUCCESS)
        return say(RC_ERROR, "cannot delete %s: %s", u8(path), errtext((DWORD)r));
    return RC_OK;
}

static int cmd_default(const struct layout *l, const wchar_t *profile)
{
    HKEY k;
    LSTATUS r;
    if (!profile) {
        DWORD type = 0, size = 0;
        BYTE *data;
        r = query_value(l->default_key, L"DefaultProfile", &type, &data, &size);
        if (r != ERROR_SUCCESS)
            return absent_value(r, l->default_key, L"DefaultProfile");
        put_w((const wchar_t *)data, -1, 0);
        putchar('\n');
        free(data);
        return RC_OK;
    }
    if (wcscmp(profile, L"--clear") == 0) {
        r = RegOpenKeyExW(HKEY_CURRENT_USER, l->default_key, 0, KEY_SET_VALUE, &k);
        if (r == ERROR_SUCCESS) {
            r = RegDeleteValueW(k, L"DefaultProfile");
            RegCloseKey(k);
        }
        if (r == ERROR_FILE_NOT_FOUND)
            return say(RC_ABSENT, "no DefaultProfile in %s", u8(l->default_key));
    } else {
        r = RegCreateKeyExW(HKEY_CURRENT_USER, l->default_key, 0, NULL, 0, KEY_SET_VALUE, NULL, &k, NULL);
        if (r == ERROR_SUCCESS) {
            r = RegSetValueExW(k, L"DefaultProfile", 0, REG_SZ, (const BYTE *)profile,
                               (DWORD)((wcslen(profile) + 1) * sizeof(wchar_t)));
            RegCloseKey(k);
        }
    }
    if (r != ERROR_SUCCESS)
        return say(RC_ERROR, "cannot change DefaultProfile in %s: %s", u8(l->default_key), errtext((DWORD)r));
    return RC_OK;
}

/* --- selftest: every command, run as a child process, in every layout ---------------- */

static int failures, checks;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        checks++;                                                                     \
        if (!(cond)) {                                                                \
            failures++;                                                               \
            printf("#   line %d: check failed: %s\n", __LINE__, #cond);               \
        }                                                                             \
    } while (0)

static wchar_t self_exe[MAX_PATH], work_dir[MAX_PATH];

struct run {
    DWORD code;
    char *out, *err;
};

static HANDLE capture_file(const wchar_t *name)
{
    wchar_t path[MAX_PATH];
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    _snwprintf(path, MAX_PATH, L"%ls\\%ls", work_dir, name);
    path[MAX_PATH - 1] = L'\0';
    return CreateFileW(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                       CREATE_ALWAYS, FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
}

static char *read_back(HANDLE h)
{
    LARGE_INTEGER zero = {.QuadPart = 0}, size;
    DWORD got = 0;
    if (h == INVALID_HANDLE_VALUE || !GetFileSizeEx(h, &size) || size.QuadPart > SPEC_MAX ||
        !SetFilePointerEx(h, zero, NULL, FILE_BEGIN))
        size.QuadPart = 0;
    char *s = xmalloc((size_t)size.QuadPart + 1);
    if (size.QuadPart && !ReadFile(h, s, (DWORD)size.QuadPart, &got, NULL))
        got = 0;
    s[got] = '\0';
    return s;
}

/* olprof ARGS... (NULL-terminated) as a child, its output captured. */
static void olp(struct run *r, ...) __attribute__((sentinel));
static void olp(struct run *r, ...)
{
    wchar_t cmd[4096];
    int len = _snwprintf(cmd, 4096, L"\"%ls\"", self_exe);
    va_list ap;
    va_start(ap, r);
    for (const wchar_t *a; len > 0 && (a = va_arg(ap, const wchar_t *)) != NULL;) {
        int n = _snwprintf(cmd + len, (size_t)(4096 - len), L" \"%ls\"", a);
        len = n < 0 || n >= 4096 - len ? -1 : len + n;
    }
    va_end(ap);
    free(r->out);
    free(r->err);
    r->code = 9999;
    HANDLE out = capture_file(L"out.txt"), err = capture_file(L"err.txt");
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdOutput = out;
    si.hStdError = err;
    if (len > 0 && out != INVALID_HANDLE_VALUE && err != INVALID_HANDLE_VALUE &&
        CreateProcessW(self_exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        if (WaitForSingleObject(pi.hProcess, 30000) == WAIT_OBJECT_0)
            GetExitCodeProcess(pi.hProcess, &r->code);
        else
            TerminateProcess(pi.hProcess, 9998);
        CloseHandle(pi.hProcess);
        CloseHandle(pi.hThread);
    }
    r->out = read_back(out);
    r->err = read_back(err);
    if (out != INVALID_HANDLE_VALUE)
        CloseHandle(out);
    if (err != INVALID_HANDLE_VALUE)
        CloseHandle(err);
}

static void show(const char *what, const char *text)
{
    printf("#     %s:", what);
    for (const char *p = text; *p; p++) {
        if (p == text || p[-1] == '\n')
            fputs("\n#     | ", stdout);
        if (*p != '\n')
            putchar(*p);
    }
    putchar('\n');
}

/* Exit code, and the whole stdout unless want is NULL. */
static void expect_(int line, const struct run *r, DWORD code, const char *want)
{
    checks++;
    if (r->code == code && (!want || strcmp(r->out, want) == 0))
        return;
    failures++;
    printf("#   line %d: exit %lu (want %lu)\n", line, (unsigned long)r->code, (unsigned long)code);
    show("stdout", r->out);
    show("stderr", r->err);
}
#define EXPECT(r, code, want) expect_(__LINE__, r, code, want)

/* Exit 0 and exactly these lines; a line ending in '*' matches any line it begins. */
static void expect_lines_(int line, const struct run *r, const char *const *want, size_t n)
{
    const char *p = r->out;
    bool ok = r->code == 0;
    for (size_t i = 0; ok && i < n; i++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : 0, wl = strlen(want[i]);
        if (!nl)
            ok = false;
        else if (wl && want[i][wl - 1] == '*')
            ok = len >= wl - 1 && memcmp(p, want[i], wl - 1) == 0;
        else
            ok = len == wl && memcmp(p, want[i], wl) == 0;
        if (!ok)
            printf("#   line %d: output line %zu should be '%s'\n", line, i + 1, want[i]);
        p = nl ? nl + 1 : p;
    }
    checks++;
    if (ok && !*p)
        return;
    failures++;
    printf("#   line %d: exit %lu, %s\n", line, (unsigned long)r->code, ok ? "extra output" : "wrong output");
    show("stdout", r->out);
    show("stderr", r->err);
}
#define EXPECT_LINES(r, ...)                                                          \
    do {                                                                              \
        static const char *const want_[] = {__VA_ARGS__};                             \
        expect_lines_(__LINE__, r, want_, sizeof(want_) / sizeof(want_[0]));          \
    } while (0)

static bool write_spec(wchar_t path[MAX_PATH], const wchar_t *name, const char *text)
{
    DWORD n = 0;
    _snwprintf(path, MAX_PATH, L"%ls\\%ls", work_dir, name);
    path[MAX_PATH - 1] = L'\0';
    HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return false;
    BOOL ok = WriteFile(h, text, (DWORD)strlen(text), &n, NULL);
    CloseHandle(h);
    return ok && n == strlen(text);
}

static bool key_exists(const wchar_t *path)
{
    HKEY k;
    if (RegOpenKeyExW(HKEY_CURRENT_USER, path, 0, KEY_READ, &k) != ERROR_SUCCESS)
        return false;
    RegCloseKey(k);
    return true;
}

/* The keys above the profiles that this run creates are removed again when left empty. */
struct ancestors {
    wchar_t path[8][PATH_CAP];
    bool existed[8];
    size_t n;
};

static void ancestors_note(const wchar_t *profiles, struct ancestors *a)
{
    a->n = 0;
    for (const wchar_t *c = profiles; a->n < 8; c++) {
        if (*c == L'\\' || *c == L'\0') {
            size_t len = (size_t)(c - profiles);
            memcpy(a->path[a->n], profiles, len * sizeof(wchar_t));
            a->path[a->n][len] = L'\0';
            a->existed[a->n] = key_exists(a->path[a->n]);
            a->n++;
        }
        if (!*c)
            break;
    }
}

static void ancestors_tidy(const struct ancestors *a)
{
    for (size_t i = a->n; i-- > 0;) {
        HKEY k;
        DWORD subs = 1, vals = 1;
        if (a->existed[i] || RegOpenKeyExW(HKEY_CURRENT_USER, a->path[i], 0, KEY_READ, &k) != ERROR_SUCCESS)
            continue;
        RegQueryInfoKeyW(k, NULL, NULL, NULL, &subs, NULL, NULL, &vals, NULL, NULL, NULL, NULL);
        RegCloseKey(k);
        CHECK(subs == 0 && vals == 0);
        if (subs == 0 && vals == 0)
            CHECK(RegDeleteKeyW(HKEY_CURRENT_USER, a->path[i]) == ERROR_SUCCESS);
    }
}

/* "Pop Ä✓" and "pä s=w🔑" (a surrogate pair), '=' in a value, CRLF, LF, a BOM and no final newline. */
#define NAME_UTF8 "Pop \xc3\x84\xe2\x9c\x93"
#define PASSWORD_UTF8 "p\xc3\xa4 s=w\xf0\x9f\x94\x91"
static const char spec_every[] =
    "\xef\xbb\xbf# olprof selftest: every kind of value\r\n"
    "\r\n"
    "account 00000002\r\n"
    "sz clsid={ED475411-B0D6-11D2-8C3B-00104B2A6676}\r\n"
    "str Account Name=" NAME_UTF8 "\r\n"
    "str Empty=\r\n"
    "  dword POP3 Port=995\r\n"
    "dword POP3 Use SSL=0x1\r\n"
    "password POP3 Password=" PASSWORD_UTF8 "\r\n"
    "hex Bad Port=1:39 00\r\n"
    "hex Odd=7:41\r\n"
    "hex Zero=3:\r\n"
    "   # an indented comment\n"
    "account 00000005\n"
    "sz clsid={ED475412-B0D6-11D2-8C3B-00104B2A6676}\n"
    "dword IMAP Port=4294967295";
static const BYTE password_utf16z[] = {0x70, 0, 0xe4, 0, 0x20, 0, 0x73, 0, 0x3d, 0,
                                       0x77, 0, 0x3d, 0xd8, 0x11, 0xdd, 0, 0};
#define CLSID_HEX(d)                                                                  \
    "7b004500440034003700350034003100" d "002d0042003000440036002d003100310044003200" \
    "2d0038004300330042002d003000300031003000340042003200410036003600370036007d000000"
#define ACCOUNT2_LINES                                                                \
    "00000002\tAccount Name\t3\t50006f0070002000c40013270000",                        \
    "00000002\tBad Port\t1\t3900",                                                    \
    "00000002\tclsid\t1\t" CLSID_HEX("31"),                                           \
    "00000002\tEmpty\t3\t0000",                                                       \
    "00000002\tOdd\t7\t41",                                                           \
    "00000002\tPOP3 Password\t3\t0201000000*", /* 0x02, then the blob's version 1 */ \
    "00000002\tPOP3 Port\t4\te3030000",                                               \
    "00000002\tPOP3 Use SSL\t4\t01000000",                                            \
    "00000002\tZero\t3\t"

/* The stored password, byte by byte: 0x02, then a DPAPI blob of UTF-16LE with its NUL. */
static void check_password_bytes(const struct layout *l, const wchar_t *profile)
{
    wchar_t path[PATH_CAP];
    DWORD type = 0, size = 0;
    BYTE *data = NULL;
    prof_path(path, l, profile, true, L"00000002");
    CHECK(query_value(path, L"POP3 Password", &type, &data, &size) == ERROR_SUCCESS);
    if (!data)
        return;
    CHECK(type == REG_BINARY && size > 1 && data[0] == PASSWORD_PREFIX);
    for (DWORD i = 0; i + 4 <= size; i++) /* not the plain text */
        CHECK(memcmp(data + i, "p\0\xe4\0", 4) != 0);
    DATA_BLOB in = {size - 1, data + 1}, out = {0, NULL};
    CHECK(CryptUnprotectData(&in, NULL, NULL, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN, &out));
    CHECK(out.cbData == sizeof(password_utf16z) && memcmp(out.pbData, password_utf16z, out.cbData) == 0);
    LocalFree(out.pbData);
    free(data);
}

static void selftest_layout(const struct layout *l, bool full)
{
    wchar_t profile[64], every[MAX_PATH], again[MAX_PATH], acc[PATH_CAP], hkcu_acc[PATH_CAP + 8];
    char default_line[200];
    struct run r = {0, NULL, NULL};
    struct ancestors anc;
    const wchar_t *L = l->name;

    printf("# layout %s\n", u8(L));
    _snwprintf(profile, 64, L"olprof selftest %lu", (unsigned long)GetCurrentProcessId());
    profile[63] = L'\0';
    prof_path(acc, l, profile, true, NULL);
    _snwprintf(hkcu_acc, PATH_CAP + 8, L"HKCU\\%ls", acc);
    hkcu_acc[PATH_CAP + 7] = L'\0';
    snprintf(default_line, sizeof(default_line), "%s\n", u8(profile));
    ancestors_note(l->profiles, &anc);
    olp(&r, L"default", L, NULL);
    bool had_default = r.code == 0;
    char *old_default = r.out;
    r.out = NULL;

    olp(&r, L"dump", L, profile, NULL);
    EXPECT(&r, RC_ABSENT, "");
    CHECK(write_spec(every, L"every.txt", spec_every));
    olp(&r, L"make", L, profile, every, NULL);
    EXPECT(&r, RC_OK, "");
    CHECK(r.err[0] == '\0');
    olp(&r, L"dump", L, profile, NULL);
    EXPECT_LINES(&r, ACCOUNT2_LINES, "00000005\tclsid\t1\t" CLSID_HEX("32"), "00000005\tIMAP Port\t4\tffffffff");
    olp(&r, L"dumpkey", hkcu_acc, NULL);
    EXPECT_LINES(&r, ".\tLastChangeVer\t3\t0100000000000000", ".\tNextAccountID\t4\t06000000", ACCOUNT2_LINES,
                 "00000005\tclsid\t1\t" CLSID_HEX("32"), "00000005\tIMAP Port\t4\tffffffff");
    check_password_bytes(l, profile);
    olp(&r, L"password", L, profile, L"00000002", L"POP3 Password", NULL);
    EXPECT(&r, RC_OK, PASSWORD_UTF8 "\n");
    olp(&r, L"get", L, profile, L"00000002", L"Account Name", NULL);
    EXPECT(&r, RC_OK, NAME_UTF8 "\n");
    olp(&r, L"get", L, profile, L"00000005", L"IMAP Port", NULL);
    EXPECT(&r, RC_OK, "4294967295\n");
    olp(&r, L"default", L, NULL);
    EXPECT(&r, RC_OK, had_default ? old_default : default_line);

    if (full) {
        olp(&r, L"get", L, profile, L"00000002", L"POP3 Port", NULL);
        EXPECT(&r, RC_OK, "995\n");
        olp(&r, L"get", L, profile, L"00000005", L"clsid", NULL);
        EXPECT(&r, RC_OK, "{ED475412-B0D6-11D2-8C3B-00104B2A6676}\n");
        olp(&r, L"get", L, profile, L"00000002", L"Bad Port", NULL); /* REG_SZ without its NUL */
        EXPECT(&r, RC_OK, "9\n");
        olp(&r, L"get", L, profile, L"00000002", L"Empty", NULL);
        EXPECT(&r, RC_OK, "\n");
        olp(&r, L"get", L, profile, L"00000002", L"Zero", NULL);
        EXPECT(&r, RC_FORMAT, "");
        olp(&r, L"get", L, profile, L"00000002", L"Odd", NULL);
        EXPECT(&r, RC_FORMAT, "");
        olp(&r, L"get", L, profile, L"00000002", L"Nothing", NULL);
        EXPECT(&r, RC_ABSENT, "");
        olp(&r, L"get", L, profile, L"00000009", L"clsid", NULL);
        EXPECT(&r, RC_ABSENT, "");
        olp(&r, L"password", L, profile, L"00000002", L"Account Name", NULL);
        EXPECT(&r, RC_FORMAT, "");
        olp(&r, L"password", L, profile, L"00000002", L"Bad Port", NULL);
        EXPECT(&r, RC_FORMAT, "");
        olp(&r, L"password", L, profile, L"00000002", L"Zero", NULL);
        EXPECT(&r, RC_FORMAT, "");
        olp(&r, L"password", L, profile, L"00000002", L"Nothing", NULL);
        EXPECT(&r, RC_ABSENT, "");
    }

    /* A second make replaces the accounts it names and keeps the others. */
    CHECK(write_spec(again, L"again.txt", "account 00000005\ndword IMAP Port=143\n"));
    olp(&r, L"make", L, profile, again, NULL);
    EXPECT(&r, RC_OK, "");
    olp(&r, L"dumpkey", hkcu_acc, NULL);
    EXPECT_LINES(&r, ".\tLastChangeVer\t3\t0200000000000000", ".\tNextAccountID\t4\t06000000", ACCOUNT2_LINES,
                 "00000005\tIMAP Port\t4\t8f000000");

    olp(&r, L"delete", L, profile, L"00000002", NULL);
    EXPECT(&r, RC_OK, "");
    olp(&r, L"dump", L, profile, NULL);
    EXPECT_LINES(&r, "00000005\tIMAP Port\t4\t8f000000");
    olp(&r, L"delete", L, profile, L"00000002", NULL);
    EXPECT(&r, RC_ABSENT, "");
    olp(&r, L"delete", L, profile, NULL);
    EXPECT(&r, RC_OK, "");
    olp(&r, L"dump", L, profile, NULL);
    EXPECT(&r, RC_ABSENT, "");
    olp(&r, L"dumpkey", hkcu_acc, NULL);
    EXPECT(&r, RC_ABSENT, "");
    olp(&r, L"delete", L, profile, NULL);
    EXPECT(&r, RC_ABSENT, "");

    if (!had_default) {
        olp(&r, L"default", L, L"--clear", NULL);
        EXPECT(&r, RC_OK, "");
        olp(&r, L"default", L, NULL);
        EXPECT(&r, RC_ABSENT, "");
    }
    ancestors_tidy(&anc);
    CHECK(key_exists(l->profiles) == anc.existed[anc.n - 1]);
    DeleteFileW(every);
    DeleteFileW(again);
    free(old_default);
    free(r.out);
    free(r.err);
}

/* Broken spec files: refused with FILE:LINE, and nothing written. */
static void selftest_bad_specs(const struct layout *l)
{
    static const struct {
        const char *text;
        const char *where;
    } bad[] = {
        {"str Email=x\n", "bad.txt:1:"},
        {"account 00000002\nstr Email=x\nfrob X=1\n", "bad.txt:3:"},
        {"# comment\naccount 1\ndword P=12a\n", "bad.txt:3:"},
        {"account 1\ndword P=4294967296\n", "bad.txt:2:"},
        {"account 1\ndword P=\n", "bad.txt:2:"},
        {"account 1\nhex X=3:abc\n", "bad.txt:2:"},
        {"account 1\nhex X=3:a bc\n", "bad.txt:2:"},
        {"account 1\nhex X=zz\n", "bad.txt:2:"},
        {"account 1\nstr NoEquals\n", "bad.txt:2:"},
        {"account 1\nstr A =b\n", "bad.txt:2:"},
        {"account 1\nstr =b\n", "bad.txt:2:"},
        {"account 1\nstr A=1\nsz a=2\n", "bad.txt:3:"},
        {"account 1\r\n\r\nstr A=\xff\r\n", "bad.txt:3:"},
        {"account 1\naccount 1\n", "bad.txt:2:"},
        {"account a\\b\n", "bad.txt:1:"},
        {"account\n", "bad.txt:1:"},
    };
    wchar_t spec[MAX_PATH], profile[64];
    struct run r = {0, NULL, NULL};
    struct ancestors anc;

    printf("# bad specs\n");
    _snwprintf(profile, 64, L"olprof bad %lu", (unsigned long)GetCurrentProcessId());
    profile[63] = L'\0';
    ancestors_note(l->profiles, &anc);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(write_spec(spec, L"bad.txt", bad[i].text));
        olp(&r, L"make", l->name, profile, spec, NULL);
        EXPECT(&r, RC_ERROR, "");
        if (!strstr(r.err, bad[i].where)) {
            CHECK(!"the message names the file and line");
            printf("#     spec %zu, want %s in: %s", i, bad[i].where, r.err);
        }
        olp(&r, L"dump", l->name, profile, NULL);
        EXPECT(&r, RC_ABSENT, "");
    }
    DeleteFileW(spec);
    olp(&r, L"make", l->name, profile, spec, NULL); /* no such file */
    EXPECT(&r, RC_ERROR, "");
    olp(&r, L"dump", L"2007", profile, NULL);
    EXPECT(&r, RC_ERROR, "");
    olp(&r, L"dumpkey", L"Software\\olprof\\no such key", NULL);
    EXPECT(&r, RC_ABSENT, "");
    olp(&r, L"bogus", NULL);
    EXPECT(&r, RC_ERROR, "");
    ancestors_tidy(&anc);
    free(r.out);
    free(r.err);
}

/*
 * What this system's DPAPI makes (informational): Windows writes version 1 and the
 * provider GUID {df9d8cd0-1501-11d1-8c7a-00c04fc297eb}; Wine writes version 1 and its
 * own marker "Wine Crypt32 ok" where the GUID goes. Both salt every blob.
 */
static void note_dpapi(void)
{
    static const BYTE windows_provider[16] = {0xd0, 0x8c, 0x9d, 0xdf, 0x01, 0x15, 0xd1, 0x11,
                                              0x8c, 0x7a, 0x00, 0xc0, 0x4f, 0xc2, 0x97, 0xeb};
    DATA_BLOB in = {sizeof(password_utf16z), (BYTE *)(uintptr_t)password_utf16z}, a = {0, NULL}, b = {0, NULL};
    CHECK(CryptProtectData(&in, NULL, NULL, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN, &a));
    CHECK(CryptProtectData(&in, NULL, NULL, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN, &b));
    CHECK(a.cbData >= 20 && memcmp(a.pbData, "\x01\0\0\0", 4) == 0);
    printf("# DPAPI blob of %lu bytes, provider %s; two blobs of one password %s\n", (unsigned long)a.cbData,
           a.cbData < 20 ? "?"
           : memcmp(a.pbData + 4, windows_provider, 16) == 0 ? "Windows"
           : memcmp(a.pbData + 4, "Wine Crypt32 ok", 16) == 0 ? "Wine" : "unknown",
           a.cbData == b.cbData && a.pbData && b.pbData && memcmp(a.pbData, b.pbData, a.cbData) == 0
               ? "are identical" : "differ");
    LocalFree(a.pbData);
    LocalFree(b.pbData);
}

static int selftest(void)
{
    wchar_t tmp[MAX_PATH];
    DWORD n = GetModuleFileNameW(NULL, self_exe, MAX_PATH), t = GetTempPathW(MAX_PATH, tmp);
    if (!n || n >= MAX_PATH || !t || t >= MAX_PATH)
        return say(RC_ERROR, "selftest: no module or temp path");
    _snwprintf(work_dir, MAX_PATH, L"%lsolprof-%lu", tmp, (unsigned long)GetCurrentProcessId());
    work_dir[MAX_PATH - 1] = L'\0';
    if (!CreateDirectoryW(work_dir, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
        return say(RC_ERROR, "selftest: cannot make %s", u8(work_dir));
    DWORD start = GetTickCount();
    note_dpapi();
    selftest_bad_specs(&layouts[0]);
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
        selftest_layout(&layouts[i], i == 0);
    RemoveDirectoryW(work_dir);
    printf("# %d checks, %d failed, %lu ms\n%s\n", checks, failures, (unsigned long)(GetTickCount() - start),
           failures ? "not ok - olprof selftest" : "ok - olprof selftest");
    return failures ? RC_ERROR : RC_OK;
}

/* --- main --------------------------------------------------------------------------- */

static int usage(void)
{
    fputs("usage: olprof make LAYOUT PROFILE SPECFILE\n"
          "       olprof dump LAYOUT PROFILE\n"
          "       olprof dumpkey KEYPATH\n"
          "       olprof password LAYOUT PROFILE ID NAME\n"
          "       olprof get LAYOUT PROFILE ID NAME\n"
          "       olprof delete LAYOUT PROFILE [ID]\n"
          "       olprof default LAYOUT [PROFILE|--clear]\n"
          "       olprof selftest\n"
          "LAYOUT: 2016, 2013 or 2010\n",
          stderr);
    return RC_ERROR;
}

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    static const struct {
        const wchar_t *name;
        int min, max; /* arguments after the command */
    } cmds[] = {
        {L"make", 3, 3}, {L"dump", 2, 2}, {L"password", 4, 4}, {L"get", 4, 4},
        {L"delete", 2, 3}, {L"default", 1, 2}, {L"dumpkey", 1, 1}, {L"selftest", 0, 0},
    };
    int rc;
    size_t c = 0;
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
    if (argc < 2)
        return usage();
    while (c < sizeof(cmds) / sizeof(cmds[0]) && wcscmp(argv[1], cmds[c].name) != 0)
        c++;
    if (c == sizeof(cmds) / sizeof(cmds[0]) || argc - 2 < cmds[c].min || argc - 2 > cmds[c].max)
        return usage();
    const wchar_t *cmd = argv[1];

    if (wcscmp(cmd, L"selftest") == 0) {
        rc = selftest();
    } else if (wcscmp(cmd, L"dumpkey") == 0) {
        rc = cmd_dumpkey(argv[2]);
    } else {
        const struct layout *l = NULL;
        for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
            if (wcscmp(argv[2], layouts[i].name) == 0)
                l = &layouts[i];
        if (!l)
            return say(RC_ERROR, "unknown layout '%s' (2016, 2013 or 2010)", u8(argv[2]));
        const wchar_t *profile = argc > 3 ? argv[3] : NULL, *id = argc > 4 ? argv[4] : NULL;
        if (profile && !valid_part(profile) && !(wcscmp(cmd, L"default") == 0 && wcscmp(profile, L"--clear") == 0))
            return say(RC_ERROR, "bad profile name '%s'", u8(profile));
        if (id && wcscmp(cmd, L"make") != 0 && !valid_part(id))
            return say(RC_ERROR, "bad account id '%s'", u8(id));
        if (wcscmp(cmd, L"make") == 0)
            rc = cmd_make(l, profile, argv[4]);
        else if (wcscmp(cmd, L"dump") == 0)
            rc = cmd_dump(l, profile);
        else if (wcscmp(cmd, L"password") == 0)
            rc = cmd_password(l, profile, id, argv[5]);
        else if (wcscmp(cmd, L"get") == 0)
            rc = cmd_get(l, profile, id, argv[5]);
        else if (wcscmp(cmd, L"delete") == 0)
            rc = cmd_delete(l, profile, id);
        else
            rc = cmd_default(l, profile);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = rc ? rc : RC_ERROR;
    return rc;
}
