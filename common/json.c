/* json.c -- the strict JSON reader of json.h.
 *
 * Design: recursive descent bounded by max_depth (so the C stack is
 * bounded too), nodes and unescaped strings bump-allocated from an arena
 * (arena.h) that is reset, not freed, between messages. Object members are a
 * linked list in document order; lookups are linear, which is fastest for
 * the small objects of the contract; duplicate keys are found pairwise in
 * small objects and by sorting in large ones, so a hostile object with
 * 60 000 keys costs O(k log k), not O(k^2). */
#include "json.h"

#include "arena.h"
#include "buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cm_json {
    cm_arena arena;
    const char *start, *p, *end;
    int depth, max_depth, failed, too_deep;
    char *err;
    size_t errlen;
};

cm_json *cm_json_new(void)
{
    return cm_json_new_cap(CM_ARENA_CHUNK);
}

cm_json *cm_json_new_cap(size_t first)
{
    cm_json *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    if (cm_arena_init(&j->arena, first) < 0) {
        free(j);
        return NULL;
    }
    return j;
}

static void reset(cm_json *j)
{
    cm_arena_reset(&j->arena);
}

void cm_json_free(cm_json *j)
{
    if (!j)
        return;
    cm_arena_free(&j->arena);
    free(j);
}

static void fail(cm_json *j, const char *what)
{
    if (j->failed)
        return;
    j->failed = 1;
    int line = 1, col = 1;
    for (const char *q = j->start; q < j->p && q < j->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)*q & 0xC0) != 0x80) {
            col++;
        }
    }
    snprintf(j->err, j->errlen, "%s (line %d, column %d)", what, line, col);
}

static void *alloc(cm_json *j, size_t n)
{
    void *r = cm_arena_alloc(&j->arena, n);
    if (!r)
        fail(j, "out of memory");
    return r;
}

static void skip_ws(cm_json *j)
{
    if (j->p < j->end && (unsigned char)*j->p > ' ') /* compact JSON: no whitespace */
        return;
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Parses a string at j->p (the opening quote); returns it NUL-terminated
 * in the arena with its length in *len, or NULL. */
static const char *string(cm_json *j, uint32_t *len)
{
    const char *s = ++j->p, *q = s;
    int escapes = 0;
    for (;;) {
        q = cm_json_plain_end(q, j->end);
        if (q >= j->end || *q == '"')
            break;
        if ((unsigned char)*q < 0x20) {
            j->p = q;
            fail(j, "control character in a string");
            return NULL;
        }
        escapes = 1; /* a backslash: skip the escaped byte (checked below) */
        if (++q >= j->end)
            break;
        q++;
    }
    if (q >= j->end) {
        j->p = q;
        fail(j, "unterminated string");
        return NULL;
    }
    size_t raw = (size_t)(q - s);
    if (raw > UINT32_MAX - 1) {
        fail(j, "string too long");
        return NULL;
    }
    char *out = alloc(j, raw + 1);
    if (!out)
        return NULL;
    if (!escapes) {
        memcpy(out, s, raw);
        out[raw] = 0;
        *len = (uint32_t)raw;
        j->p = q + 1;
        return out;
    }
    char *o = out;
    for (const char *r = s; r < q;) {
        if (*r != '\\') {
            *o++ = *r++;
            continue;
        }
        j->p = r;
        r++;
        switch (*r) {
        case '"':
            *o++ = '"';
            r++;
            break;
        case '\\':
            *o++ = '\\';
            r++;
            break;
        case '/':
            *o++ = '/';
            r++;
            break;
        case 'b':
            *o++ = '\b';
            r++;
            break;
        case 'f':
            *o++ = '\f';
            r++;
            break;
        case 'n':
            *o++ = '\n';
            r++;
            break;
        case 'r':
            *o++ = '\r';
            r++;
            break;
        case 't':
            *o++ = '\t';
            r++;
            break;
        case 'u': {
            unsigned cp, lo;
            if (q - r < 5 || hex4(r + 1, &cp) != 0) {
                fail(j, "invalid \\u escape");
                return NULL;
            }
            r += 5;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (q - r < 6 || r[0] != '\\' || r[1] != 'u' || hex4(r + 2, &lo) != 0 ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    fail(j, "invalid Unicode escape: lone high surrogate");
                    return NULL;
                }
                r += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                fail(j, "invalid Unicode escape: lone low surrogate");
                return NULL;
            } else if (cp == 0) {
                fail(j, "\\u0000 is not allowed");
                return NULL;
            }
            if (cp < 0x80) {
                *o++ = (char)cp;
            } else if (cp < 0x800) {
                *o++ = (char)(0xC0 | (cp >> 6));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (char)(0xE0 | (cp >> 12));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (char)(0xF0 | (cp >> 18));
                *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            fail(j, "invalid escape");
            return NULL;
        }
    }
    *o = 0;
    *len = (uint32_t)(o - out);
    j->p = q + 1;
    return out;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int number(cm_json *j, cm_jv *v)
{
    const char *s = j->p, *q = s;
    int real = 0;
    if (q < j->end && *q == '-')
        q++;
    if (q >= j->end || !is_digit(*q)) {
        j->p = q;
        fail(j, "invalid number");
        return -1;
    }
    if (*q == '0') {
        q++;
    } else {
        while (q < j->end && is_digit(*q))
            q++;
    }
    if (q < j->end && *q == '.') {
        real = 1;
        q++;
        if (q >= j->end || !is_digit(*q)) {
            j->p = q;
            fail(j, "invalid number");
            return -1;
        }
        while (q < j->end && is_digit(*q))
            q++;
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        real = 1;
        q++;
        if (q < j->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= j->end || !is_digit(*q)) {
            j->p = q;
            fail(j, "invalid number");
            return -1;
        }
        while (q < j->end && is_digit(*q))
            q++;
    }
    if (!real) {
        const char *d = s;
        int neg = *d == '-';
        if (neg)
            d++;
        uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (; d < q; d++) {
            unsigned dig = (unsigned)(*d - '0');
            if (acc > (lim - dig) / 10) {
                fail(j, "too big integer");
                return -1;
            }
            acc = acc * 10 + dig;
        }
        v->type = CM_JV_INT;
        v->u.i = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    } else {
        char buf[64], *tmp = buf;
        size_t n = (size_t)(q - s);
        if (n >= sizeof buf && !(tmp = alloc(j, n + 1)))
            return -1;
        memcpy(tmp, s, n);
        tmp[n] = 0;
        double d = strtod(tmp, NULL);
        if (!isfinite(d)) {
            fail(j, "real number overflow");
            return -1;
        }
        v->type = CM_JV_REAL;
        v->u.d = d;
    }
    j->p = q;
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp((*(cm_jv *const *)a)->key, (*(cm_jv *const *)b)->key);
}

static int duplicate_keys(cm_json *j, cm_jv *obj)
{
    if (obj->n <= 16) {
        for (cm_jv *a = obj->u.first; a; a = a->next)
            for (cm_jv *b = a->next; b; b = b->next)
                if (a->keylen == b->keylen && memcmp(a->key, b->key, a->keylen) == 0)
                    return 1;
        return 0;
    }
    cm_jv **v = malloc(obj->n * sizeof *v);
    if (!v) {
        fail(j, "out of memory");
        return 1;
    }
    size_t i = 0;
    for (cm_jv *a = obj->u.first; a; a = a->next)
        v[i++] = a;
    qsort(v, i, sizeof *v, cmp_key);
    int dup = 0;
    for (size_t k = 1; k < i && !dup; k++)
        dup = strcmp(v[k - 1]->key, v[k]->key) == 0;
    free(v);
    return dup;
}

static cm_jv *value(cm_json *j);

static cm_jv *container(cm_json *j, int object)
{
    if (++j->depth > j->max_depth) {
        j->too_deep = 1;
        fail(j, "nested too deep");
        return NULL;
    }
    cm_jv *v = alloc(j, sizeof *v);
    if (!v)
        return NULL;
    memset(v, 0, sizeof *v);
    v->type = object ? CM_JV_OBJECT : CM_JV_ARRAY;
    char close = object ? '}' : ']';
    cm_jv **tail = &v->u.first;
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return v;
    }
    for (;;) {
        const char *key = NULL;
        uint32_t kl = 0;
        if (object) {
            skip_ws(j);
            if (j->p >= j->end || *j->p != '"') {
                fail(j, "string or '}' expected");
                return NULL;
            }
            if (!(key = string(j, &kl)))
                return NULL;
            skip_ws(j);
            if (j->p >= j->end || *j->p != ':') {
                fail(j, "':' expected");
                return NULL;
            }
            j->p++;
        }
        cm_jv *m = value(j);
        if (!m)
            return NULL;
        m->key = key;
        m->keylen = kl;
        *tail = m;
        tail = &m->next;
        if (++v->n == UINT32_MAX) {
            fail(j, "too many members");
            return NULL;
        }
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == close) {
            j->p++;
            break;
        }
        fail(j, object ? "',' or '}' expected" : "',' or ']' expected");
        return NULL;
    }
    if (object && duplicate_keys(j, v)) {
        fail(j, "duplicate object key");
        return NULL;
    }
    j->depth--;
    return v;
}

static cm_jv *literal(cm_json *j, const char *word, int type)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) {
        fail(j, "invalid token");
        return NULL;
    }
    j->p += n;
    cm_jv *v = alloc(j, sizeof *v);
    if (!v)
        return NULL;
    memset(v, 0, sizeof *v);
    v->type = type;
    return v;
}

static cm_jv *value(cm_json *j)
{
    skip_ws(j);
    if (j->p >= j->end) {
        fail(j, "unexpected end of input");
        return NULL;
    }
    switch (*j->p) {
    case '{':
        return container(j, 1);
    case '[':
        return container(j, 0);
    case 't':
        return literal(j, "true", CM_JV_TRUE);
    case 'f':
        return literal(j, "false", CM_JV_FALSE);
    case 'n':
        return literal(j, "null", CM_JV_NULL);
    case '"': {
        cm_jv *v = alloc(j, sizeof *v);
        if (!v)
            return NULL;
        memset(v, 0, sizeof *v);
        v->type = CM_JV_STRING;
        if (!(v->u.s = string(j, &v->n)))
            return NULL;
        return v;
    }
    default: {
        if (*j->p != '-' && !is_digit(*j->p)) {
            fail(j, "invalid token");
            return NULL;
        }
        cm_jv *v = alloc(j, sizeof *v);
        if (!v)
            return NULL;
        memset(v, 0, sizeof *v);
        if (number(j, v) != 0)
            return NULL;
        return v;
    }
    }
}

void cm_json_clear(cm_json *j)
{
    reset(j);
}

cm_jv *cm_json_parse(cm_json *j, const char *p, size_t n, int max_depth, char *err, size_t errlen)
{
    reset(j);
    return cm_json_parse_more(j, p, n, max_depth, err, errlen);
}

cm_jv *cm_json_parse_more(cm_json *j, const char *p, size_t n, int max_depth, char *err,
                          size_t errlen)
{
    j->start = j->p = p;
    j->end = p + n;
    j->depth = 0;
    j->max_depth = max_depth;
    j->failed = 0;
    j->too_deep = 0;
    j->err = err;
    j->errlen = errlen;
    cm_jv *root = value(j);
    if (!root)
        return NULL;
    skip_ws(j);
    if (j->p != j->end) {
        fail(j, "end of input expected");
        return NULL;
    }
    return root;
}

int cm_json_too_deep(const cm_json *j)
{
    return j->too_deep;
}

cm_jv *cm_jv_get(const cm_jv *obj, const char *key)
{
    if (!obj || obj->type != CM_JV_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (cm_jv *m = obj->u.first; m; m = m->next)
        if (m->keylen == n && m->key[0] == key[0] && memcmp(m->key, key, n) == 0)
            return m;
    return NULL;
}

/* ---- writing a tree back ------------------------------------------------ */

/* Reals as jansson writes them (%.17g; ".0" added when that reads as an
 * integer; the exponent without '+' and leading zeros), so that a record
 * written back reads as the same numbers. */
static void write_real(cm_buf *b, double d)
{
    char num[40];
    snprintf(num, sizeof num, "%.17g", d);
    char *e = strchr(num, 'e');
    if (e) {
        char *q = e + 1, *p = e + 1;
        if (*p == '-')
            q++, p++;
        else if (*p == '+')
            p++;
        while (*p == '0' && p[1])
            p++;
        memmove(q, p, strlen(p) + 1);
    }
    cm_buf_adds(b, num);
    if (!strpbrk(num, ".e"))
        cm_buf_adds(b, ".0");
}

int cm_jv_write(cm_buf *b, const cm_jv *v)
{
    return cm_jv_write_set(b, v, NULL, NULL);
}

int cm_jv_write_set(cm_buf *b, const cm_jv *v, const char *key, const char *val)
{
    switch (v ? v->type : CM_JV_NULL) {
    case CM_JV_NULL:
        cm_buf_adds(b, "null");
        break;
    case CM_JV_FALSE:
        cm_buf_adds(b, "false");
        break;
    case CM_JV_TRUE:
        cm_buf_adds(b, "true");
        break;
    case CM_JV_INT:
        cm_buf_int(b, v->u.i);
        break;
    case CM_JV_REAL:
        write_real(b, v->u.d);
        break;
    case CM_JV_STRING:
        cm_buf_json_str(b, v->u.s, v->n);
        break;
    case CM_JV_ARRAY:
        cm_buf_addc(b, '[');
        for (const cm_jv *m = v->u.first; m; m = m->next) {
            if (m != v->u.first)
                cm_buf_addc(b, ',');
            cm_jv_write(b, m);
        }
        cm_buf_addc(b, ']');
        break;
    case CM_JV_OBJECT: {
        int set = 0;
        cm_buf_addc(b, '{');
        for (const cm_jv *m = v->u.first; m; m = m->next) {
            if (m != v->u.first)
                cm_buf_addc(b, ',');
            cm_buf_json_str(b, m->key, m->keylen);
            cm_buf_addc(b, ':');
            if (key && !set && m->keylen == strlen(key) && memcmp(m->key, key, m->keylen) == 0) {
                cm_buf_json_str(b, val, strlen(val));
                set = 1;
            } else {
                cm_jv_write(b, m);
            }
        }
        if (key && !set) {
            if (v->u.first)
                cm_buf_addc(b, ',');
            cm_buf_json_str(b, key, strlen(key));
            cm_buf_addc(b, ':');
            cm_buf_json_str(b, val, strlen(val));
        }
        cm_buf_addc(b, '}');
        break;
    }
    default:
        break;
    }
    return b->oom ? -1 : 0;
}
