/* templates.h -- message templates loaded from a directory tree.
 *
 * Layout (a ConfigMap can mount it; see docs/notifier.md):
 *   <dir>/<tenant>/vars.json                        tenant variables (opt)
 *   <dir>/<tenant>/<locale>/email/<id>.subject      subject line
 *   <dir>/<tenant>/<locale>/email/<id>.txt          text part
 *   <dir>/<tenant>/<locale>/email/<id>.html         HTML part
 *   <dir>/<tenant>/<locale>/sms/<id>.txt            SMS body
 *   <dir>/<tenant>/<locale>/<channel>/_opt_out.txt  opt-out line (opt)
 * Lookup falls back tenant -> "default" and locale -> same language ->
 * en-GB, taking the first (tenant, locale) that has the template.
 * Everything is read once at load; the set is immutable afterwards. */
#ifndef NTF_TEMPLATES_H
#define NTF_TEMPLATES_H

#include <jansson.h>
#include <stddef.h>

typedef struct ntf_templates ntf_templates;

typedef struct ntf_template_set {
    const char *tenant, *locale;                 /* where it was found */
    const char *subject, *text, *html, *opt_out; /* NUL-terminated; NULL if absent */
    size_t subject_len, text_len, html_len, opt_out_len;
} ntf_template_set;

/* Loads dir; -1 with errstr on an unreadable tree or a malformed vars.json.
 * Free with ntf_templates_free. */
ntf_templates *ntf_templates_load(const char *dir, char *errstr, size_t errlen);
void ntf_templates_free(ntf_templates *t);
size_t ntf_templates_count(const ntf_templates *t);

/* Finds the parts of (tenant, locale, channel, id); pointers borrow from t.
 * email needs subject, text and html; sms needs text. -1 with errstr
 * naming what is missing. */
int ntf_templates_find(const ntf_templates *t, const char *tenant, const char *locale,
                       const char *channel, const char *id, ntf_template_set *out, char *errstr,
                       size_t errlen);

/* The tenant's variables: default's vars.json overlaid by the tenant's.
 * Returns a new reference (an empty object when neither exists). */
json_t *ntf_templates_vars(const ntf_templates *t, const char *tenant);

#endif
