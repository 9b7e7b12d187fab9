/* json.c -- the strict JSON reader and writer of json.h.
 *
 * Design: recursive descent bounded by max_depth (so the C stack is
 * bounded too), nodes and unescaped strings bump-allocated from a chunk
 * list that is reset, not freed, between messages. Object members are a
 * linked list in document order; lookups are linear, which is fastest for
 * the small objects of the contract; duplicate keys are found pairwise in
 * small objects and by sorting in large ones, so a hostile object with
 * 60 000 keys costs O(k log k), not O(k^2). */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
} chunk;

struct ing_json {
    chunk *head, *cur;
    const char *start, *p, *end;
    int depth, max_depth, failed, too_deep;
    char *err;
    size_t errlen;
};

#define CHUNK_SIZE (64 * 1024)

static chunk *chunk_new(size_t cap)
{
    chunk *c = malloc(sizeof *c + cap);
    if (c) {
        c->next = NULL;
        c->used = 0;
        c->cap = cap;
    }
    return c;
}

ing_json *ing_json_new(void)
{
    ing_json *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->head = j->cur = chunk_new(CHUNK_SIZE);
    if (!j->head) {
        free(j);
        return NULL;
    }
    return j;
}

static void reset(ing_json *j)
{
    chunk *c = j->head->next;
    while (c) {
        chunk *n = c->next;
        free(c);
        c = n;
    }
    j->head->next = NULL;
    j->head->used = 0;
    j->cur = j->head;
}

void ing_json_free(ing_json *j)
{
    if (!j)
        return;
    reset(j);
    free(j->head);
    free(j);
}

static void fail(ing_json *j, const char *what)
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

static void *alloc(ing_json *j, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    chunk *c = j->cur;
    if (c->used + n > c->cap) {
        chunk *nc = chunk_new(n > CHUNK_SIZE ? n : CHUNK_SIZE);
        if (!nc) {
            fail(j, "out of memory");
            return NULL;
        }
        c->next = nc;
        j->cur = c = nc;
    }
    void *r = (char *)c->data + c->used;
    c->used += n;
    return r;
}

static void skip_ws(ing_json *j)
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

/* The first byte of [q, end) that is '"', '\\' or a control character
 * (< 0x20), or end: the bytes a JSON string can hold as they are. Strings
 * are most of an event's bytes, so this looks at 16 bytes at a time where
 * SSE2 is available (every x86-64). */
static const char *plain_run_end(const char *q, const char *end)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  ctl = _mm_set1_epi8(0x1F);
    while (end - q >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl)); /* v <= 0x1F */
        int mask = _mm_movemask_epi8(m);
        if (mask)
            return q + __builtin_ctz((unsigned)mask);
        q += 16;
    }
#endif
    /* the last bytes (most strings an event carries are under 16): a table */
    static const unsigned char special[256] = {
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        ['"'] = 1, ['\\'] = 1};
    for (; q < end; q++)
        if (special[(unsigned char)*q])
            return q;
    return end;
}

/* Parses a string at j->p (the opening quote); returns it NUL-terminated
 * in the arena with its length in *len, or NULL. */
static const char *string(ing_json *j, uint32_t *len)
{
    const char *s = ++j->p, *q = s;
    int escapes = 0;
    for (;;) {
        q = plain_run_end(q, j->end);
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
        case '"': *o++ = '"'; r++; break;
        case '\\': *o++ = '\\'; r++; break;
        case '/': *o++ = '/'; r++; break;
        case 'b': *o++ = '\b'; r++; break;
        case 'f': *o++ = '\f'; r++; break;
        case 'n': *o++ = '\n'; r++; break;
        case 'r': *o++ = '\r'; r++; break;
        case 't': *o++ = '\t'; r++; break;
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

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int number(ing_json *j, ing_jv *v)
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
        v->type = ING_JV_INT;
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
        v->type = ING_JV_REAL;
        v->u.d = d;
    }
    j->p = q;
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp((*(ing_jv *const *)a)->key, (*(ing_jv *const *)b)->key);
}

static int duplicate_keys(ing_json *j, ing_jv *obj)
{
    if (obj->n <= 16) {
        for (ing_jv *a = obj->u.first; a; a = a->next)
            for (ing_jv *b = a->next; b; b = b->next)
                if (a->keylen == b->keylen && memcmp(a->key, b->key, a->keylen) == 0)
                    return 1;
        return 0;
    }
    ing_jv **v = malloc(obj->n * sizeof *v);
    if (!v) {
        fail(j, "out of memory");
        return 1;
    }
    size_t i = 0;
    for (ing_jv *a = obj->u.first; a; a = a->next)
        v[i++] = a;
    qsort(v, i, sizeof *v, cmp_key);
    int dup = 0;
    for (size_t k = 1; k < i && !dup; k++)
        dup = strcmp(v[k - 1]->key, v[k]->key) == 0;
    free(v);
    return dup;
}

static ing_jv *value(ing_json *j);

static ing_jv *container(ing_json *j, int object)
{
    if (++j->depth > j->max_depth) {
        j->too_deep = 1;
        fail(j, "nested too deep");
        return NULL;
    }
    ing_jv *v = alloc(j, sizeof *v);
    if (!v)
        return NULL;
    memset(v, 0, sizeof *v);
    v->type = object ? ING_JV_OBJECT : ING_JV_ARRAY;
    char close = object ? '}' : ']';
    ing_jv **tail = &v->u.first;
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
        ing_jv *m = value(j);
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

static ing_jv *literal(ing_json *j, const char *word, int type)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) {
        fail(j, "invalid token");
        return NULL;
    }
    j->p += n;
    ing_jv *v = alloc(j, sizeof *v);
    if (!v)
        return NULL;
    memset(v, 0, sizeof *v);
    v->type = type;
    return v;
}

static ing_jv *value(ing_json *j)
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
        return literal(j, "true", ING_JV_TRUE);
    case 'f':
        return literal(j, "false", ING_JV_FALSE);
    case 'n':
        return literal(j, "null", ING_JV_NULL);
    case '"': {
        ing_jv *v = alloc(j, sizeof *v);
        if (!v)
            return NULL;
        memset(v, 0, sizeof *v);
        v->type = ING_JV_STRING;
        if (!(v->u.s = string(j, &v->n)))
            return NULL;
        return v;
    }
    default: {
        if (*j->p != '-' && !is_digit(*j->p)) {
            fail(j, "invalid token");
            return NULL;
        }
        ing_jv *v = alloc(j, sizeof *v);
        if (!v)
            return NULL;
        memset(v, 0, sizeof *v);
        if (number(j, v) != 0)
            return NULL;
        return v;
    }
    }
}

ing_jv *ing_json_parse(ing_json *j, const char *p, size_t n, int max_depth, char *err,
                       size_t errlen)
{
    reset(j);
    j->start = j->p = p;
    j->end = p + n;
    j->depth = 0;
    j->max_depth = max_depth;
    j->failed = 0;
    j->too_deep = 0;
    j->err = err;
    j->errlen = errlen;
    ing_jv *root = value(j);
    if (!root)
        return NULL;
    skip_ws(j);
    if (j->p != j->end) {
        fail(j, "end of input expected");
        return NULL;
    }
    return root;
}

int ing_json_too_deep(const ing_json *j) { return j->too_deep; }

ing_jv *ing_jv_get(const ing_jv *obj, const char *key)
{
    if (!obj || obj->type != ING_JV_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (ing_jv *m = obj->u.first; m; m = m->next)
        if (m->keylen == n && m->key[0] == key[0] && memcmp(m->key, key, n) == 0)
            return m;
    return NULL;
}

/* --- writer ------------------------------------------------------------- */

static int grow(ing_buf *b, size_t more)
{
    if (b->oom)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 512;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

int ing_buf_reserve(ing_buf *b, size_t n) { return grow(b, n); }

void ing_buf_raw(ing_buf *b, const char *s, size_t n)
{
    if (grow(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void ing_buf_cstr(ing_buf *b, const char *s) { ing_buf_raw(b, s, strlen(s)); }

void ing_buf_str(ing_buf *b, const char *s, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    if (grow(b, n * 6 + 2) != 0)
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        const char *r = plain_run_end(s + i, s + n);
        size_t run = (size_t)(r - (s + i));
        memcpy(o, s + i, run);
        o += run;
        i += run;
        if (i >= n)
            break;
        unsigned char c = (unsigned char)s[i];
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hx[c >> 4];
            *o++ = hx[c & 15];
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    b->p[b->len] = 0;
}

void ing_buf_int(ing_buf *b, int64_t v)
{
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    ing_buf_raw(b, p, (size_t)(e - p));
}

void ing_buf_free(ing_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
