/*
 * Parser transcripts: every file under DATADIR/{imap,pop3,smtp,resp} is played through
 * its parser fed whole, fed byte by byte and fed in random-sized chunks (fixed seed),
 * and the results must be the same each time and equal to the file's expectations.
 *
 *   usage: test_parse_transcripts DATADIR               run every transcript (TAP output)
 *          test_parse_transcripts DATADIR --corpus DIR  write each transcript's input bytes
 *                                                       to DIR/<family>/<name> (fuzz seeds)
 *
 * TRANSCRIPT FORMAT (also in tests/data/README.md). One file is one case, a UTF-8 text
 * file of lines; the family is the directory (imap, pop3, smtp: client commands) and,
 * under resp/, the file name's prefix (imap_, pop3_, smtp_: server response lines).
 *
 *   # text           a comment; blank lines are ignored too
 *   @ key=N ...      options: line= literal= command= (parser limits; POP3, SMTP and
 *                    responses use line=), starttls=0|1 and capsize=N (for CAPS below)
 *   C: text          client bytes: text, then CR LF
 *   C| text          client bytes: text alone (for bare LF, partial input, literal data)
 *   S: text / S| text  the same for server bytes (response files)
 *   = result         the next expected result, compared as a string
 *
 * In C:/S: text, \r \n \t \0 \\ and \xHH are escapes; everything else is literal, including
 * trailing spaces (write \x20 to make them visible). All input bytes are concatenated and
 * fed as one stream; results are produced in order:
 *
 *   IMAP   OK tag=T name=N verb=V [atom:"v" | quoted:"v" | literal:"v" | nil | list:"v"]...
 *          BAD tag=T "reason" | TOO_LONG tag=T "reason" | LITERAL
 *   POP3,  OK name=N verb=V arg="a" arg1="a1" arg2="a2"
 *   SMTP   BAD "reason" | TOO_LONG "reason"
 *   resp   IMAP: TAGGED tag=T status=S code="c" text="t" | UNTAGGED status=S code=.. text=..
 *                | CONTINUE text="t" | NOT_A_RESPONSE, then CAPS "rewritten" (or CAPS
 *                overflow) after any response carrying a CAPABILITY list
 *          POP3: OK|ERR code="c" text="t" | CONTINUE text="t" | LINE (no status line)
 *          SMTP: REPLY code=250 more|last text="t"
 *                | NOT_A_REPLY
 *          and TOO_LONG for a line longer than line=
 *   any    AGAIN when the input ends inside a command or line
 *
 * Values are printed with \" \\ and \xHH escapes. Quoted strings are shown unescaped
 * (xb_imap_arg_value), lists raw. Fed whole, the results must equal the = lines. Fed in
 * pieces they must equal the whole-fed results; the one allowed difference is a TOO_LONG
 * whose line's LF had not arrived yet: nothing can be skipped then (*consumed is 0), the
 * session would close, and the run stops there.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/imap_parse.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/pop3_parse.h"
#include "core/smtp_parse.h"

#include "xbtest.h"

enum family { F_IMAP, F_POP3, F_SMTP, F_IMAP_RESP, F_POP3_RESP, F_SMTP_RESP };

enum feed { FEED_WHOLE, FEED_BYTES, FEED_RANDOM };
static const char *const feed_names[] = { "whole", "byte by byte", "random chunks" };

struct opts {
    size_t line, literal, command, capsize;
    bool starttls;
};

struct strlist {
    char **v;
    size_t n, cap;
};

struct tcase {
    char label[300];
    enum family fam;
    struct opts o;
    char *in;
    size_t in_len, in_cap;
    struct strlist expect;
};

/* One way of feeding a transcript and what came out. */
struct run {
    struct strlist ev;
    bool closed;         /* stopped by a TOO_LONG that consumed nothing */
    bool broken;         /* a contract violation was reported */
};

static void die(const char *what)
{
    printf("Bail out! %s\n", what);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static void strlist_push(struct strlist *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    size_t n = strlen(s);
    l->v[l->n] = xrealloc(NULL, n + 1);
    memcpy(l->v[l->n++], s, n + 1);
}

static void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* --- building result strings ----------------------------------------------------------- */

struct sb {
    char s[8192];
    size_t n;
};

static void sb_add(struct sb *b, const char *fmt, ...) XB_PRINTF(2, 3);
static void sb_add(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
    va_end(ap);
    if (r > 0)
        b->n += (size_t)r < sizeof(b->s) - b->n ? (size_t)r : sizeof(b->s) - b->n - 1;
}

/* A view with \" \\ \xHH escapes, optionally in quotes. */
static void sb_view(struct sb *b, struct xb_view v, bool quotes)
{
    if (quotes)
        sb_add(b, "\"");
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c == '"' || c == '\\')
            sb_add(b, "\\%c", c);
        else if (c < 0x20 || c > 0x7e)
            sb_add(b, "\\x%02x", c);
        else
            sb_add(b, "%c", c);
    }
    if (quotes)
        sb_add(b, "\"");
}

static struct xb_view view_of(const char *s)
{
    return (struct xb_view){ s, s ? strlen(s) : 0 };
}

/* --- reading transcripts --------------------------------------------------------------- */

static bool decode_text(const char *s, struct tcase *tc, bool crlf)
{
    size_t n = strlen(s);
    if (tc->in_cap - tc->in_len < n + 2) {
        tc->in_cap = (tc->in_cap + n + 2) * 2;
        tc->in = xrealloc(tc->in, tc->in_cap);
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            char e = s[++i];
            if (e == 'r') c = '\r';
            else if (e == 'n') c = '\n';
            else if (e == 't') c = '\t';
            else if (e == '0') c = '\0';
            else if (e == '\\') c = '\\';
            else if (e == 'x' && s[i + 1] && s[i + 2]) {
                char hex[3] = { s[i + 1], s[i + 2], 0 }, *end;
                c = (char)strtoul(hex, &end, 16);
                if (*end)
                    return false;
                i += 2;
            } else {
                return false;
            }
        }
        tc->in[tc->in_len++] = c;
    }
    if (crlf) {
        tc->in[tc->in_len++] = '\r';
        tc->in[tc->in_len++] = '\n';
    }
    return true;
}

static bool parse_opts(const char *s, struct opts *o)
{
    char key[32];
    while (*s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        const char *eq = strchr(s, '=');
        if (!eq || (size_t)(eq - s) >= sizeof(key))
            return false;
        memcpy(key, s, (size_t)(eq - s));
        key[eq - s] = '\0';
        char *end;
        unsigned long long v = strtoull(eq + 1, &end, 10);
        if (end == eq + 1 || (*end && *end != ' '))
            return false;
        if (!strcmp(key, "line")) o->line = (size_t)v;
        else if (!strcmp(key, "literal")) o->literal = (size_t)v;
        else if (!strcmp(key, "command")) o->command = (size_t)v;
        else if (!strcmp(key, "capsize")) o->capsize = (size_t)v;
        else if (!strcmp(key, "starttls")) o->starttls = v != 0;
        else return false;
        s = end;
    }
    return true;
}

/* Loads path into tc; on a format error prints why and returns false. */
static bool load_case(const char *path, struct tcase *tc)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("# %s: cannot open\n", path);
        return false;
    }
    tc->o = (struct opts){ .line = 1024, .literal = 4096, .command = 16384, .capsize = 1024 };
    char line[8192];
    unsigned lineno = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof(line), f)) {
        lineno++;
        size_t n = strlen(line);
        if (n && line[n - 1] != '\n' && !feof(f)) {
            ok = false; /* longer than the buffer */
            break;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0'; /* the file's own line end, CRLF checkouts included */
        if (n == 0 || line[0] == '#')
            continue;
        if (line[0] == '@' && line[1] == ' ')
            ok = parse_opts(line + 2, &tc->o);
        else if ((line[0] == 'C' || line[0] == 'S') && (line[1] == ':' || line[1] == '|') &&
                 (line[2] == ' ' || line[2] == '\0'))
            ok = decode_text(line[2] ? line + 3 : "", tc, line[1] == ':');
        else if (line[0] == '=' && line[1] == ' ')
            strlist_push(&tc->expect, line + 2);
        else
            ok = false;
    }
    fclose(f);
    if (!ok)
        printf("# %s:%u: bad transcript line\n", path, lineno);
    return ok;
}

/* --- playing one transcript ------------------------------------------------------------ */

static const char *const imap_verbs[] = { "UNKNOWN", "CAPABILITY", "NOOP", "LOGOUT", "ID",
                                          "LOGIN", "AUTHENTICATE", "STARTTLS", "ENABLE" };
static const char *const imap_kinds[] = { "atom", "quoted", "literal", "nil", "list" };
static const char *const pop3_verbs[] = { "UNKNOWN", "USER", "PASS", "AUTH", "CAPA",
                                          "QUIT", "APOP", "STLS", "NOOP", "RSET" };
static const char *const smtp_verbs[] = { "UNKNOWN", "EHLO", "HELO", "AUTH", "STARTTLS",
                                          "QUIT", "NOOP", "RSET", "MAIL", "RCPT", "DATA",
                                          "BDAT", "VRFY", "HELP" };
static const char *const imap_kinds_resp[] = { "UNTAGGED", "CONTINUE", "TAGGED" };
static const char *const imap_statuses[] = { "NONE", "OK", "NO", "BAD", "BYE", "PREAUTH" };
static const char *const rc_names[] = { "OK", "AGAIN", "LITERAL", "BAD", "TOO_LONG" };

/* Views must point into the bytes that were fed. */
static void check_view(struct run *r, const struct tcase *tc, struct xb_view v,
                       const char *data, size_t len)
{
    if (v.len == 0 || (v.p >= data && v.len <= len && v.p - data <= (ptrdiff_t)(len - v.len)))
        return;
    printf("#   %s: a view points outside the input\n", tc->label);
    CHECK(!"view inside input");
    r->broken = true;
}

static enum xb_parse_rc step_imap(struct xb_imap_parser *ip, const struct tcase *tc,
                                  const char *data, size_t len, size_t *consumed,
                                  struct run *r)
{
    struct xb_imap_cmd cmd;
    struct sb b = { .n = 0 };
    enum xb_parse_rc rc = xb_imap_parse(ip, data, len, &cmd, consumed);
    if (rc == XB_PARSE_AGAIN)
        return rc;
    sb_add(&b, "%s", rc_names[rc]);
    if (rc != XB_PARSE_LITERAL) {
        check_view(r, tc, cmd.tag, data, len);
        sb_add(&b, " tag=");
        sb_view(&b, cmd.tag, false);
    }
    if (rc == XB_PARSE_OK) {
        check_view(r, tc, cmd.name, data, len);
        sb_add(&b, " name=");
        sb_view(&b, cmd.name, false);
        sb_add(&b, " verb=%s", imap_verbs[cmd.verb]);
        for (size_t i = 0; i < cmd.nargs; i++) {
            static char value[8192];
            check_view(r, tc, cmd.args[i].raw, data, len);
            size_t n = xb_imap_arg_value(&cmd.args[i], value, sizeof(value));
            sb_add(&b, " %s", imap_kinds[cmd.args[i].kind]);
            if (cmd.args[i].kind == XB_IMAP_ARG_NIL)
                continue;
            sb_add(&b, ":");
            if (n == (size_t)-1)
                sb_add(&b, "(value does not fit)");
            else
                sb_view(&b, (struct xb_view){ value, n }, true);
        }
    } else if (rc != XB_PARSE_LITERAL) {
        sb_add(&b, " ");
        sb_view(&b, view_of(cmd.error), true);
        if (cmd.close)
            sb_add(&b, " close");
    }
    strlist_push(&r->ev, b.s);
    return rc;
}

static void sb_line_cmd(struct sb *b, const char *verb, struct xb_view name, struct xb_view arg,
                        struct xb_view arg1, struct xb_view arg2)
{
    sb_add(b, "OK name=");
    sb_view(b, name, false);
    sb_add(b, " verb=%s arg=", verb);
    sb_view(b, arg, true);
    sb_add(b, " arg1=");
    sb_view(b, arg1, true);
    sb_add(b, " arg2=");
    sb_view(b, arg2, true);
}

static enum xb_parse_rc step_line_cmd(const struct tcase *tc, const char *data, size_t len,
                                      size_t *consumed, struct run *r)
{
    struct sb b = { .n = 0 };
    enum xb_parse_rc rc;
    const char *error;
    if (tc->fam == F_POP3) {
        struct xb_cmd_line cmd;
        rc = xb_cmd_line_parse(&xb_pop3_syntax, data, len, tc->o.line, &cmd, consumed);
        error = cmd.error;
        if (rc == XB_PARSE_OK) {
            check_view(r, tc, cmd.arg, data, len);
            check_view(r, tc, cmd.arg2, data, len);
            sb_line_cmd(&b, pop3_verbs[cmd.verb], cmd.name, cmd.arg, cmd.arg1, cmd.arg2);
        }
    } else {
        struct xb_cmd_line cmd;
        rc = xb_cmd_line_parse(&xb_smtp_syntax, data, len, tc->o.line, &cmd, consumed);
        error = cmd.error;
        if (rc == XB_PARSE_OK) {
            check_view(r, tc, cmd.arg, data, len);
            check_view(r, tc, cmd.arg2, data, len);
            sb_line_cmd(&b, smtp_verbs[cmd.verb], cmd.name, cmd.arg, cmd.arg1, cmd.arg2);
        }
    }
    if (rc == XB_PARSE_AGAIN)
        return rc;
    if (rc != XB_PARSE_OK) {
        sb_add(&b, "%s ", rc_names[rc]);
        sb_view(&b, view_of(error), true);
    }
    strlist_push(&r->ev, b.s);
    return rc;
}

/* The capability list a response carries, if any ("CAPABILITY " + list). */
static bool resp_caps(struct xb_view v, struct xb_view *caps)
{
    if (v.len < 11 || !xb_view_eq_ci((struct xb_view){ v.p, 11 }, "CAPABILITY "))
        return false;
    *caps = (struct xb_view){ v.p + 11, v.len - 11 };
    return true;
}

static void resp_line(const struct tcase *tc, struct xb_view line, struct run *r)
{
    struct sb b = { .n = 0 };
    struct xb_view caps;
    bool has_caps = false;
    if (tc->fam == F_IMAP_RESP) {
        struct xb_imap_resp resp;
        if (!xb_imap_resp_parse(line, &resp)) {
            sb_add(&b, "NOT_A_RESPONSE");
        } else if (resp.kind == XB_IMAP_RESP_CONTINUE) {
            sb_add(&b, "CONTINUE text=");
            sb_view(&b, resp.text, true);
        } else {
            sb_add(&b, "%s", imap_kinds_resp[resp.kind]);
            if (resp.kind == XB_IMAP_RESP_TAGGED) {
                sb_add(&b, " tag=");
                sb_view(&b, resp.tag, false);
            }
            sb_add(&b, " status=%s code=", imap_statuses[resp.status]);
            sb_view(&b, resp.code, true);
            sb_add(&b, " text=");
            sb_view(&b, resp.text, true);
            has_caps = resp_caps(resp.code, &caps) ||
                       (resp.status == XB_IMAP_ST_NONE && resp_caps(resp.text, &caps));
        }
    } else if (tc->fam == F_POP3_RESP) {
        struct xb_pop3_resp resp;
        static const char *const st[] = { "OK", "ERR", "CONTINUE" };
        if (!xb_pop3_resp_parse(line, &resp)) {
            sb_add(&b, "LINE");
        } else if (resp.status == XB_POP3_ST_CONTINUE) {
            sb_add(&b, "CONTINUE text=");
            sb_view(&b, resp.text, true);
        } else {
            sb_add(&b, "%s code=", st[resp.status]);
            sb_view(&b, resp.code, true);
            sb_add(&b, " text=");
            sb_view(&b, resp.text, true);
        }
    } else {
        struct xb_smtp_reply_line reply;
        if (!xb_smtp_reply_parse(line, &reply)) {
            sb_add(&b, "NOT_A_REPLY");
        } else {
            sb_add(&b, "REPLY code=%d %s text=", reply.code, reply.more ? "more" : "last");
            sb_view(&b, reply.text, true);
        }
    }
    strlist_push(&r->ev, b.s);
    if (has_caps) {
        char out[8192];
        size_t size = tc->o.capsize < sizeof(out) ? tc->o.capsize : sizeof(out);
        size_t n = xb_imap_caps_rewrite(caps, true, tc->o.starttls, out, size);
        b.n = 0;
        b.s[0] = '\0';
        if (n == (size_t)-1) {
            sb_add(&b, "CAPS overflow");
        } else {
            CHECK(n < size && out[n] == '\0' && strlen(out) == n);
            sb_add(&b, "CAPS ");
            sb_view(&b, (struct xb_view){ out, n }, true);
        }
        strlist_push(&r->ev, b.s);
    }
}

static enum xb_parse_rc step_resp(const struct tcase *tc, const char *data, size_t len,
                                  size_t *consumed, struct run *r)
{
    struct xb_view line;
    enum xb_parse_rc rc = xb_line_split(data, len, tc->o.line, &line, consumed);
    if (rc == XB_PARSE_OK) {
        check_view(r, tc, line, data, len);
        resp_line(tc, line, r);
    } else if (rc == XB_PARSE_TOO_LONG) {
        strlist_push(&r->ev, "TOO_LONG");
    }
    return rc;
}

static uint32_t rng_next(uint32_t *s)
{
    /* xorshift32: the same chunk sizes on every platform */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void play(const struct tcase *tc, enum feed feed, struct run *r)
{
    const char *buf = tc->in ? tc->in : "";
    size_t total = tc->in_len, base = 0, avail = 0;
    uint32_t seed = 0x5eed1234u;
    struct xb_imap_parser ip;
    struct xb_imap_limits lim = { tc->o.line, tc->o.literal, tc->o.command };
    xb_imap_parser_init(&ip, &lim);
    memset(r, 0, sizeof(*r));

    for (size_t guard = 0; guard < 4 * total + 64; guard++) {
        size_t consumed = 0, len = avail - base;
        enum xb_parse_rc rc;
        if (tc->fam == F_IMAP)
            rc = step_imap(&ip, tc, buf + base, len, &consumed, r);
        else if (tc->fam == F_POP3 || tc->fam == F_SMTP)
            rc = step_line_cmd(tc, buf + base, len, &consumed, r);
        else
            rc = step_resp(tc, buf + base, len, &consumed, r);

        if (rc == XB_PARSE_LITERAL)
            continue;
        if (rc == XB_PARSE_AGAIN) {
            if (avail == total) {
                if (base < total)
                    strlist_push(&r->ev, "AGAIN");
                return;
            }
            size_t chunk = feed == FEED_WHOLE ? total
                         : feed == FEED_BYTES ? 1
                                              : 1 + rng_next(&seed) % 16;
            avail = total - avail < chunk ? total : avail + chunk;
            continue;
        }
        if (consumed > len || (consumed == 0 && rc != XB_PARSE_TOO_LONG)) {
            printf("#   %s (%s): bad *consumed %zu of %zu\n", tc->label, feed_names[feed],
                   consumed, len);
            CHECK(!"consumed within input and non-zero");
            r->broken = true;
            return;
        }
        if (consumed == 0) {
            r->closed = true;
            return;
        }
        base += consumed;
    }
    printf("#   %s (%s): the parser does not make progress\n", tc->label, feed_names[feed]);
    CHECK(!"parser makes progress");
    r->broken = true;
}

static bool same_results(const struct tcase *tc, const char *what, const struct strlist *got,
                         const struct strlist *want, bool prefix_ok)
{
    size_t n = got->n < want->n ? got->n : want->n;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(got->v[i], want->v[i]) != 0) {
            printf("#   %s (%s) result %zu:\n#     got  %s\n#     want %s\n", tc->label, what,
                   i + 1, got->v[i], want->v[i]);
            return false;
        }
    }
    if (got->n == want->n || (prefix_ok && got->n < want->n))
        return true;
    printf("#   %s (%s): %zu results, want %zu%s\n", tc->label, what, got->n, want->n,
           got->n > want->n ? "" : " (missing results follow)");
    for (size_t i = n; i < got->n; i++)
        printf("#     extra: %s\n", got->v[i]);
    for (size_t i = n; i < want->n; i++)
        printf("#     missing: %s\n", want->v[i]);
    return false;
}

static void run_case(const struct tcase *tc)
{
    struct run whole, piece;
    play(tc, FEED_WHOLE, &whole);
    CHECK(same_results(tc, feed_names[FEED_WHOLE], &whole.ev, &tc->expect, false));
    for (enum feed f = FEED_BYTES; f <= FEED_RANDOM; f++) {
        play(tc, f, &piece);
        /* Stopped early only by a TOO_LONG that the whole-fed run also has there. */
        bool ok = true;
        if (piece.closed)
            ok = piece.ev.n > 0 && piece.ev.n <= whole.ev.n &&
                 strncmp(whole.ev.v[piece.ev.n - 1], "TOO_LONG", 8) == 0;
        CHECK(ok && same_results(tc, feed_names[f], &piece.ev, &whole.ev, piece.closed));
        strlist_free(&piece.ev);
    }
    strlist_free(&whole.ev);
}

/* --- finding transcripts --------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *dir, struct strlist *names)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".txt") == 0)
            strlist_push(names, e->d_name);
    }
    closedir(d);
    qsort(names->v, names->n, sizeof(*names->v), cmp_str);
}

static const char *const families[] = { "imap", "pop3", "smtp", "resp" };

static bool family_of(size_t dir, const char *name, enum family *fam)
{
    if (dir < 3) {
        *fam = (enum family)dir;
        return true;
    }
    if (!strncmp(name, "imap_", 5))
        *fam = F_IMAP_RESP;
    else if (!strncmp(name, "pop3_", 5))
        *fam = F_POP3_RESP;
    else if (!strncmp(name, "smtp_", 5))
        *fam = F_SMTP_RESP;
    else
        return false;
    return true;
}

static bool write_seed(const char *outdir, const char *family, const char *name,
                       const struct tcase *tc)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s/%.*s", outdir, family, (int)(strlen(name) - 4), name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(tc->in ? tc->in : "", 1, tc->in_len, f) == tc->in_len;
    return fclose(f) == 0 && ok;
}

/* --- checks that are easier in code than as data --------------------------------------- */

/* A 1 MB literal fed one byte at a time: quadratic rescanning would take minutes. */
static void imap_bytewise_is_linear(void)
{
    static const char head[] = "a1 LOGIN {1000000}\r\n", tail[] = " pw\r\n";
    size_t big = 1000000, total = sizeof(head) - 1 + big + sizeof(tail) - 1;
    char *buf = xrealloc(NULL, total);
    memcpy(buf, head, sizeof(head) - 1);
    memset(buf + sizeof(head) - 1, 'x', big);
    memcpy(buf + sizeof(head) - 1 + big, tail, sizeof(tail) - 1);

    struct xb_imap_limits lim = { 1024, 2000000, 4000000 };
    struct xb_imap_parser p;
    struct xb_imap_cmd cmd;
    size_t consumed = 0, literals = 0, oks = 0;
    bool again_only = true;
    xb_imap_parser_init(&p, &lim);
    for (size_t n = 1; n <= total; n++) {
        enum xb_parse_rc rc = xb_imap_parse(&p, buf, n, &cmd, &consumed);
        if (rc == XB_PARSE_LITERAL) {
            literals++;
            rc = xb_imap_parse(&p, buf, n, &cmd, &consumed); /* nothing new yet */
            CHECK(rc == XB_PARSE_AGAIN);
        } else if (rc == XB_PARSE_OK) {
            oks++;
            CHECK(n == total && consumed == total && cmd.nargs == 2);
            CHECK(cmd.args[0].kind == XB_IMAP_ARG_LITERAL && cmd.args[0].raw.len == big);
        } else if (rc != XB_PARSE_AGAIN) {
            again_only = false;
        }
    }
    CHECK(again_only);
    CHECK(literals == 1 && oks == 1);
    free(buf);
}

static void imap_arg_value_limits(void)
{
    char out[8];
    struct xb_imap_arg q = { XB_IMAP_ARG_QUOTED, { "a\\\"b\\\\c", 7 } };
    CHECK(xb_imap_arg_value(&q, out, sizeof(out)) == 5);
    CHECK_STR(out, "a\"b\\c");
    CHECK(xb_imap_arg_value(&q, out, 5) == (size_t)-1);
    CHECK(xb_imap_arg_value(&q, out, 6) == 5);
    struct xb_imap_arg nil = { XB_IMAP_ARG_NIL, { "NIL", 3 } };
    CHECK(xb_imap_arg_value(&nil, out, sizeof(out)) == 0 && out[0] == '\0');
    CHECK(xb_imap_arg_value(&nil, out, 0) == (size_t)-1);
    struct xb_imap_arg lit = { XB_IMAP_ARG_LITERAL, { "a\0b", 3 } };
    CHECK(xb_imap_arg_value(&lit, out, sizeof(out)) == (size_t)-1);
    struct xb_imap_arg empty = { XB_IMAP_ARG_ATOM, { "", 0 } };
    CHECK(xb_imap_arg_value(&empty, out, 1) == 0);
}

static void line_split_edges(void)
{
    struct xb_view line;
    size_t consumed;
    CHECK(xb_line_split("", 0, 4, &line, &consumed) == XB_PARSE_AGAIN);
    CHECK(xb_line_split("abcd\r", 5, 4, &line, &consumed) == XB_PARSE_AGAIN);
    CHECK(xb_line_split("abcd\r\n", 6, 4, &line, &consumed) == XB_PARSE_OK && line.len == 4 &&
          consumed == 6);
    CHECK(xb_line_split("abcde", 5, 4, &line, &consumed) == XB_PARSE_TOO_LONG && consumed == 0);
    CHECK(xb_line_split("abcde\nx", 7, 4, &line, &consumed) == XB_PARSE_TOO_LONG &&
          consumed == 6);
    CHECK(xb_line_split("abcdefgh\nx", 10, 4, &line, &consumed) == XB_PARSE_TOO_LONG &&
          consumed == 9);
    CHECK(xb_line_split("\n", 1, 0, &line, &consumed) == XB_PARSE_OK && line.len == 0);
    CHECK(xb_line_split("\r\r\n", 3, 4, &line, &consumed) == XB_PARSE_OK && line.len == 1);
    CHECK(xb_view_eq_ci((struct xb_view){ "LoGiN", 5 }, "login"));
    CHECK(!xb_view_eq_ci((struct xb_view){ "LOGI", 4 }, "login"));
    CHECK(xb_view_eq_ci(XB_VIEW_NULL, ""));
}

static void caps_rewrite_small_buffers(void)
{
    char out[64];
    struct xb_view caps = { "IMAP4rev1 AUTH=XOAUTH2", 22 };
    CHECK(xb_imap_caps_rewrite(caps, true, false, out, 0) == (size_t)-1);
    CHECK(xb_imap_caps_rewrite(caps, true, false, out, 20) == (size_t)-1 && out[0] == '\0');
    CHECK(xb_imap_caps_rewrite(caps, true, false, out, 21) == 20);
    CHECK_STR(out, "IMAP4rev1 AUTH=PLAIN");
    CHECK(xb_imap_caps_rewrite(XB_VIEW_NULL, true, true, out, sizeof(out)) == 19);
    CHECK_STR(out, "AUTH=PLAIN STARTTLS");
    /* After login: no AUTH= at all, not even the proxy's own. */
    struct xb_view post = { "IMAP4rev1 IDLE AUTH=XOAUTH2", 27 };
    CHECK(xb_imap_caps_rewrite(post, false, true, out, sizeof(out)) == 14);
    CHECK_STR(out, "IMAP4rev1 IDLE");
}

int main(int argc, char **argv)
{
    if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--corpus") == 0)) {
        fprintf(stderr, "usage: %s DATADIR [--corpus OUTDIR]\n", argv[0]);
        return 2;
    }
    const char *outdir = argc == 4 ? argv[3] : NULL;
    size_t ncases = 0, nfailed = 0, seeds = 0;
    static const struct xbtest_case code_cases[] = {
        XBTEST(imap_bytewise_is_linear), XBTEST(imap_arg_value_limits),
        XBTEST(line_split_edges), XBTEST(caps_rewrite_small_buffers),
    };
    size_t ncode = sizeof(code_cases) / sizeof(code_cases[0]);

    struct strlist names[4] = { { 0 } };
    size_t planned = ncode;
    for (size_t d = 0; d < 4; d++) {
        char dir[1024];
        snprintf(dir, sizeof(dir), "%s/%s", argv[1], families[d]);
        list_dir(dir, &names[d]);
        if (names[d].n == 0) {
            printf("Bail out! no transcripts in %s\n", dir);
            return 2;
        }
        planned += names[d].n;
    }
    if (!outdir)
        printf("1..%zu\n", planned);

    for (size_t d = 0; d < 4; d++) {
        for (size_t i = 0; i < names[d].n; i++) {
            struct tcase tc;
            char path[1024];
            memset(&tc, 0, sizeof(tc));
            snprintf(path, sizeof(path), "%s/%s/%s", argv[1], families[d], names[d].v[i]);
            snprintf(tc.label, sizeof(tc.label), "%s/%s", families[d], names[d].v[i]);
            int before = xbtest_failures;
            bool loaded = family_of(d, names[d].v[i], &tc.fam) && load_case(path, &tc);
            if (outdir) {
                if (loaded && !write_seed(outdir, families[d], names[d].v[i], &tc)) {
                    printf("cannot write a seed for %s into %s\n", tc.label, outdir);
                    return 1;
                }
                seeds += loaded;
            } else {
                CHECK(loaded);
                if (loaded) {
                    CHECK(tc.expect.n > 0);
                    run_case(&tc);
                }
                bool ok = xbtest_failures == before;
                printf("%s %zu - %s\n", ok ? "ok" : "not ok", ++ncases, tc.label);
                nfailed += !ok;
            }
            free(tc.in);
            strlist_free(&tc.expect);
        }
        strlist_free(&names[d]);
    }
    if (outdir) {
        printf("%zu seeds written to %s\n", seeds, outdir);
        return 0;
    }
    for (size_t i = 0; i < ncode; i++) {
        int before = xbtest_failures;
        code_cases[i].fn();
        printf("%s %zu - %s\n", xbtest_failures == before ? "ok" : "not ok", ++ncases,
               code_cases[i].name);
    }
    printf("# %zu transcripts and checks, %zu failed; %d checks, %d failed\n", ncases, nfailed,
           xbtest_checks, xbtest_failures);
    return xbtest_failures ? 1 : 0;
}
