/* schema_check.c -- a small JSON Schema checker and the file helpers of
 * the docs golden tests (see schema_check.h).
 *
 * Design: tu_schema_validate walks the schema and the value together,
 * stopping at the first rule broken and naming its place; strings are
 * measured in code points (UTF-8 lead bytes), as JSON Schema counts them,
 * and patterns are POSIX extended regular expressions, which is what the
 * patterns of schemas/ are written in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <regex.h>

#include "schema_check.h"

char *tu_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the repository root)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    return b;
}

json_t *tu_schema_load(const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "schemas/%s.json", name);
    json_error_t e;
    json_t *s = json_load_file(p, 0, &e);
    if (!s)
        fail_msg("%s: %s (python3 schemas/make-schemas.py or make-record-schemas.py writes it)", p,
                 e.text);
    return s;
}

size_t tu_doc_blocks(const char *doc, tu_block *out, size_t max)
{
    size_t n = 0;
    const char *p = doc;
    while ((p = strstr(p, "<!-- ")) && n < max) {
        char kind[32], name[64];
        if (sscanf(p, "<!-- %31[a-z-]: %63[a-z0-9_.-] -->", kind, name) != 2) {
            p += 5;
            continue;
        }
        const char *start = strstr(p, "```");
        if (!start || !(start = strchr(start, '\n')))
            fail_msg("<!-- %s: %s --> is not followed by a fenced block", kind, name);
        start++;
        const char *end = strstr(start, "```");
        if (!end)
            fail_msg("<!-- %s: %s -->: the fenced block does not end", kind, name);
        snprintf(out[n].kind, sizeof out[n].kind, "%s", kind);
        snprintf(out[n].name, sizeof out[n].name, "%s", name);
        out[n].text = strndup(start, (size_t)(end - start));
        assert_non_null(out[n].text);
        n++;
        p = end + 3;
    }
    return n;
}

/* --- a small JSON Schema checker ------------------------------------------ */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static int type_is(json_t *v, const char *t)
{
    if (!strcmp(t, "string"))
        return json_is_string(v);
    if (!strcmp(t, "integer"))
        return json_is_integer(v);
    if (!strcmp(t, "number"))
        return json_is_number(v);
    if (!strcmp(t, "object"))
        return json_is_object(v);
    if (!strcmp(t, "array"))
        return json_is_array(v);
    if (!strcmp(t, "boolean"))
        return json_is_boolean(v);
    if (!strcmp(t, "null"))
        return json_is_null(v);
    fail_msg("schema: unknown type %s", t);
    return 0;
}

static const char *known_keywords[] = {"$schema",     "$id",         "title",
                                       "description", "format",      "type",
                                       "const",       "enum",        "required",
                                       "properties",  "items",       "minItems",
                                       "maxItems",    "uniqueItems", "minLength",
                                       "maxLength",   "pattern",     "minimum",
                                       "maximum",     "anyOf",       "dependentRequired",
                                       NULL};

/* 1 when v validates; else 0 with the path in why. */
int tu_schema_validate(json_t *s, json_t *v, const char *path, char *why, size_t wl)
{
    const char *k;
    json_t *x;
    json_object_foreach(s, k, x)
    {
        int known = 0;
        for (int i = 0; known_keywords[i]; i++)
            known |= !strcmp(k, known_keywords[i]);
        if (!known)
            fail_msg("schema keyword %s not supported by this checker", k);
    }
    if ((x = json_object_get(s, "type"))) {
        int ok = 0;
        if (json_is_string(x))
            ok = type_is(v, json_string_value(x));
        else {
            size_t i;
            json_t *t;
            json_array_foreach(x, i, t) ok |= type_is(v, json_string_value(t));
        }
        if (!ok) {
            snprintf(why, wl, "%s: wrong type", path);
            return 0;
        }
    }
    if ((x = json_object_get(s, "const")) && !json_equal(x, v)) {
        snprintf(why, wl, "%s: not the constant", path);
        return 0;
    }
    if ((x = json_object_get(s, "enum"))) {
        int ok = 0;
        size_t i;
        json_t *e;
        json_array_foreach(x, i, e) ok |= json_equal(e, v);
        if (!ok) {
            snprintf(why, wl, "%s: not in enum", path);
            return 0;
        }
    }
    if (json_is_string(v)) {
        const char *str = json_string_value(v);
        if ((x = json_object_get(s, "minLength")) &&
            utf8_chars(str) < (size_t)json_integer_value(x)) {
            snprintf(why, wl, "%s: too short", path);
            return 0;
        }
        if ((x = json_object_get(s, "maxLength")) &&
            utf8_chars(str) > (size_t)json_integer_value(x)) {
            snprintf(why, wl, "%s: too long", path);
            return 0;
        }
        if ((x = json_object_get(s, "pattern"))) {
            regex_t re;
            if (regcomp(&re, json_string_value(x), REG_EXTENDED | REG_NOSUB) != 0)
                fail_msg("schema pattern does not compile: %s", json_string_value(x));
            int m = regexec(&re, str, 0, NULL, 0);
            regfree(&re);
            if (m != 0) {
                snprintf(why, wl, "%s: does not match %s", path, json_string_value(x));
                return 0;
            }
        }
    }
    if (json_is_number(v) && (x = json_object_get(s, "minimum")) &&
        json_number_value(v) < json_number_value(x)) {
        snprintf(why, wl, "%s: below minimum", path);
        return 0;
    }
    if (json_is_number(v) && (x = json_object_get(s, "maximum")) &&
        json_number_value(v) > json_number_value(x)) {
        snprintf(why, wl, "%s: above maximum", path);
        return 0;
    }
    if (json_is_object(v)) {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(s, "required"), i, r)
        {
            if (!json_object_get(v, json_string_value(r))) {
                snprintf(why, wl, "%s.%s: required", path, json_string_value(r));
                return 0;
            }
        }
        json_t *props = json_object_get(s, "properties");
        const char *pk;
        json_t *ps;
        json_object_foreach(props, pk, ps)
        {
            json_t *pv = json_object_get(v, pk);
            char sub[256];
            snprintf(sub, sizeof sub, "%s.%s", path, pk);
            if (pv && !tu_schema_validate(ps, pv, sub, why, wl))
                return 0;
        }
        json_t *dep = json_object_get(s, "dependentRequired");
        json_object_foreach(dep, pk, ps)
        {
            if (!json_object_get(v, pk))
                continue;
            json_array_foreach(ps, i, r) if (!json_object_get(v, json_string_value(r)))
            {
                snprintf(why, wl, "%s.%s: required with %s", path, json_string_value(r), pk);
                return 0;
            }
        }
    }
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        if ((x = json_object_get(s, "minItems")) && n < (size_t)json_integer_value(x)) {
            snprintf(why, wl, "%s: too few items", path);
            return 0;
        }
        if ((x = json_object_get(s, "maxItems")) && n > (size_t)json_integer_value(x)) {
            snprintf(why, wl, "%s: too many items", path);
            return 0;
        }
        if (json_is_true(json_object_get(s, "uniqueItems")))
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < i; j++)
                    if (json_equal(json_array_get(v, i), json_array_get(v, j))) {
                        snprintf(why, wl, "%s: duplicate items", path);
                        return 0;
                    }
        if ((x = json_object_get(s, "items")))
            for (size_t i = 0; i < n; i++) {
                char sub[256];
                snprintf(sub, sizeof sub, "%s[%zu]", path, i);
                if (!tu_schema_validate(x, json_array_get(v, i), sub, why, wl))
                    return 0;
            }
    }
    if ((x = json_object_get(s, "anyOf"))) {
        size_t i;
        json_t *alt;
        char tmp[256];
        int ok = 0;
        json_array_foreach(x, i, alt) ok |= tu_schema_validate(alt, v, path, tmp, sizeof tmp);
        if (!ok) {
            snprintf(why, wl, "%s: matches no alternative (%s)", path, tmp);
            return 0;
        }
    }
    return 1;
}
