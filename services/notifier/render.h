/* render.h -- {{variable}} templates (a small subset of Mustache).
 *
 * Syntax: {{name}} inserts a variable; {{#name}}...{{/name}} renders the
 * block once per element of an array (the element's fields shadow the outer
 * variables) or once if the value is true, non-empty or a non-zero number; {{^name}}...{{/name}}
 * renders when it is missing, false, null, empty or 0; {{! comment}}.
 * There is no raw form: with html set every inserted value is escaped.
 * A {{name}} whose value is missing or null, an object or an array is a
 * render error naming it and its line: a message never goes out with a
 * hole in it. Sections and inverted sections nest at most 15 deep. */
#ifndef NTF_RENDER_H
#define NTF_RENDER_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

/* A render that would go past either bound fails ("template too costly"):
 * a template of sections nested over a list multiplies its work by the
 * list's length at each level. A message of CT_LIST_MAX (100) invoices with
 * a table row of 20 tags each renders about 2,000 tags and tens of KB. */
#define NTF_RENDER_MAX_TAGS 50000   /* tags rendered (each pass of a section counts its tags) */
#define NTF_RENDER_MAX_OUT  1048576 /* bytes a render may append to out */

/* Renders tpl (len bytes, with tpl[len] == 0) with variables from vars (borrowed) appended to
 * out. Returns 0, or -1 with errstr ("missing variable 'x' at line 3"). */
int ntf_render(const char *tpl, size_t len, json_t *vars, int html, cm_buf *out, char *errstr,
               size_t errlen);

#endif
