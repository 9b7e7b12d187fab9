/* render.h -- {{variable}} templates (a small subset of Mustache).
 *
 * Syntax: {{name}} inserts a variable; {{#name}}...{{/name}} renders the
 * block once per element of an array (the element's fields shadow the outer
 * variables) or once if the value is true, non-empty or a non-zero number; {{^name}}...{{/name}}
 * renders when it is missing, false, null, empty or 0; {{! comment}}.
 * There is no raw form: with html set every inserted value is escaped.
 * A {{name}} whose value is missing or null, an object or an array is a
 * render error naming it and its line: a message never goes out with a
 * hole in it. */
#ifndef NTF_RENDER_H
#define NTF_RENDER_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

/* Renders tpl (len bytes, with tpl[len] == 0) with variables from vars (borrowed) appended to
 * out. Returns 0, or -1 with errstr ("missing variable 'x' at line 3"). */
int ntf_render(const char *tpl, size_t len, json_t *vars, int html, cm_buf *out, char *errstr,
               size_t errlen);

#endif
