/* render.c -- {{variable}} templates (a small subset of Mustache).
 *
 * Design: templates are a few KB and rendered once per message, so the
 * renderer interprets the source directly (no compiled form): a section is
 * rendered by recursing over its byte range. Nesting is bounded so a hostile
 * template cannot exhaust the stack. */
#include "render.h"

#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 16

typedef struct scope {
    json_t *vars[MAX_DEPTH + 1];
    int n;
} scope;

typedef struct rctx {
    const char *base;  /* whole template, for line numbers */
    const char *limit; /* its end */
    int html;
    cm_buf *out;
    char *errstr;
    size_t errlen;
} rctx;

static int line_of(const rctx *c, const char *p)
{
    int line = 1;
    for (const char *q = c->base; q < p; q++)
        if (*q == '\n')
            line++;
    return line;
}

/* A section, inverted, closing or comment tag [t, next) alone on its line
 * (only blanks around it) is "standalone": the whole line, newline
 * included, disappears (as in Mustache). Sets *ls to the line start and
 * *after past the newline. */
static int standalone(const rctx *c, const char *t, const char *next, const char **ls,
                      const char **after)
{
    const char *b = t;
    while (b > c->base && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    if (b > c->base && b[-1] != '\n')
        return 0;
    const char *f = next;
    while (f < c->limit && (*f == ' ' || *f == '\t'))
        f++;
    if (f < c->limit && *f == '\r' && f + 1 < c->limit && f[1] == '\n')
        f++;
    if (f < c->limit && *f != '\n')
        return 0;
    *ls = b;
    *after = f < c->limit ? f + 1 : f;
    return 1;
}

static json_t *lookup(const scope *s, const char *name)
{
    for (int i = s->n - 1; i >= 0; i--) {
        if (strcmp(name, ".") == 0) {
            if (!json_is_object(s->vars[i]))
                return s->vars[i];
            continue;
        }
        if (json_is_object(s->vars[i])) {
            json_t *v = json_object_get(s->vars[i], name);
            if (v)
                return v;
        }
    }
    return NULL;
}

static int truthy(json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_real(v))
        return json_real_value(v) != 0.0;
    return 1;
}

/* Parses a tag starting at p ("{{"); fills kind, name; returns the byte
 * after "}}" or NULL when unterminated. */
static const char *parse_tag(const char *p, const char *end, char *kind, char *name, size_t namelen)
{
    const char *q = p + 2;
    const char *close = NULL;
    for (const char *r = q; r + 1 < end; r++)
        if (r[0] == '}' && r[1] == '}') {
            close = r;
            break;
        }
    if (!close)
        return NULL;
    *kind = 0;
    if (q < close && (*q == '#' || *q == '^' || *q == '/' || *q == '!'))
        *kind = *q++;
    while (q < close && (*q == ' ' || *q == '\t'))
        q++;
    const char *e = close;
    while (e > q && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    size_t n = (size_t)(e - q);
    if (n >= namelen)
        n = namelen - 1;
    memcpy(name, q, n);
    name[n] = 0;
    return close + 2;
}

static int valid_name(const char *n)
{
    if (!*n)
        return 0;
    if (strcmp(n, ".") == 0)
        return 1;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return 0;
    return 1;
}

/* Finds the matching {{/name}} for a section whose body starts at p.
 * Returns the start of the closing tag and sets *after past it. */
static const char *find_close(const char *p, const char *end, const char *name, const char **after)
{
    int depth = 0;
    while (p < end) {
        const char *t = strstr(p, "{{");
        if (!t || t >= end)
            return NULL;
        char kind, nm[128];
        const char *n = parse_tag(t, end, &kind, nm, sizeof nm);
        if (!n)
            return NULL;
        if ((kind == '#' || kind == '^') && strcmp(nm, name) == 0)
            depth++;
        else if (kind == '/' && strcmp(nm, name) == 0) {
            if (depth == 0) {
                *after = n;
                return t;
            }
            depth--;
        }
        p = n;
    }
    return NULL;
}

static int emit_value(rctx *c, json_t *v)
{
    char num[64];
    const char *s = NULL;
    size_t n = 0;
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else if (json_is_integer(v)) {
        n = (size_t)snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        s = num;
    } else if (json_is_real(v)) {
        n = (size_t)snprintf(num, sizeof num, "%g", json_real_value(v));
        s = num;
    } else if (json_is_boolean(v)) {
        s = json_is_true(v) ? "true" : "false";
        n = strlen(s);
    } else {
        return -1;
    }
    if ((c->html ? cm_buf_html(c->out, s, n) : cm_buf_add(c->out, s, n)) < 0)
        return -1;
    /* a value never reorders the template's text after it (U+202E in a name) */
    return cm_buf_bidi_close(c->out, s, n);
}

static int render_range(rctx *c, const char *p, const char *end, scope *s)
{
    while (p < end) {
        const char *t = strstr(p, "{{");
        if (!t || t >= end) {
            cm_buf_add(c->out, p, (size_t)(end - p));
            return 0;
        }
        char kind, name[128];
        const char *next = parse_tag(t, end, &kind, name, sizeof name);
        if (!next) {
            snprintf(c->errstr, c->errlen, "unterminated tag at line %d", line_of(c, t));
            return -1;
        }
        const char *ls, *after_line;
        if (kind && standalone(c, t, next, &ls, &after_line) && ls >= p) {
            cm_buf_add(c->out, p, (size_t)(ls - p));
            next = after_line;
        } else {
            cm_buf_add(c->out, p, (size_t)(t - p));
        }
        if (kind == '!') {
            p = next;
            continue;
        }
        if (!valid_name(name)) {
            snprintf(c->errstr, c->errlen, "bad tag name '%s' at line %d", name, line_of(c, t));
            return -1;
        }
        if (kind == '/') {
            snprintf(c->errstr, c->errlen, "unexpected {{/%s}} at line %d", name, line_of(c, t));
            return -1;
        }
        if (kind == 0) {
            json_t *v = lookup(s, name);
            if (!v || json_is_null(v)) {
                snprintf(c->errstr, c->errlen, "missing variable '%s' at line %d", name,
                         line_of(c, t));
                return -1;
            }
            if (emit_value(c, v) < 0) {
                snprintf(c->errstr, c->errlen,
                         "variable '%s' at line %d is a list or object, not a value", name,
                         line_of(c, t));
                return -1;
            }
            p = next;
            continue;
        }
        /* section */
        const char *after = NULL;
        const char *close = find_close(next, end, name, &after);
        if (!close) {
            snprintf(c->errstr, c->errlen, "section '%s' at line %d is not closed", name,
                     line_of(c, t));
            return -1;
        }
        if (standalone(c, close, after, &ls, &after_line) && ls >= next) {
            close = ls;
            after = after_line;
        }
        json_t *v = lookup(s, name);
        if (kind == '^') {
            if (!truthy(v) && render_range(c, next, close, s) < 0)
                return -1;
        } else if (truthy(v)) {
            if (s->n >= MAX_DEPTH) {
                snprintf(c->errstr, c->errlen, "sections nested too deeply at line %d",
                         line_of(c, t));
                return -1;
            }
            if (json_is_array(v)) {
                size_t i;
                json_t *item;
                json_array_foreach(v, i, item)
                {
                    s->vars[s->n++] = item;
                    int rc = render_range(c, next, close, s);
                    s->n--;
                    if (rc < 0)
                        return -1;
                }
            } else {
                s->vars[s->n++] = v;
                int rc = render_range(c, next, close, s);
                s->n--;
                if (rc < 0)
                    return -1;
            }
        }
        p = after;
    }
    return 0;
}

int ntf_render(const char *tpl, size_t len, json_t *vars, int html, cm_buf *out, char *errstr,
               size_t errlen)
{
    rctx c = {tpl, tpl + len, html, out, errstr, errlen};
    scope s;
    s.n = 0;
    s.vars[s.n++] = vars;
    if (render_range(&c, tpl, tpl + len, &s) < 0)
        return -1;
    if (out->oom) {
        snprintf(errstr, errlen, "out of memory while rendering");
        return -1;
    }
    return 0;
}
