/* costs.c -- the unit cost of a message per channel and currency, for the
 * effectiveness report's cost to collect (issue 15).
 *
 * Design: the costs are the policy's `costs` object,
 *   {"sms_minor": {"GBP": 4}, "letter_minor": {"GBP": 95},
 *    "call_task_minor": {"GBP": 250}, "email_minor": {"GBP": 0}}
 * read from the file ARREARS_REPORTER_COSTS (or `replay --costs`) names:
 * either that object alone or a policy with it under "costs" (so the
 * reporter can be pointed at the scheduler's policy file). Keys are
 * <channel>_minor for the contract's channels; amounts are minor units of
 * an ISO 4217 code, >= 0. A channel or currency not listed has no known
 * cost: its messages are counted as unpriced, never as free. Errors name
 * the JSON path. Configuration, not state: never in a snapshot. */
#include "reporter.h"

#include "contract.h"
#include "str.h"

#include <string.h>

static int rep_cur_code_ok(const char *k)
{
    return strlen(k) == 3 && k[0] >= 'A' && k[0] <= 'Z' && k[1] >= 'A' && k[1] <= 'Z' &&
           k[2] >= 'A' && k[2] <= 'Z';
}

int rep_costs_parse(const json_t *j, rep_costs *out, char *errstr, size_t errlen)
{
    const char *pre = "$";
    memset(out, 0, sizeof *out);
    if (!json_is_object(j)) {
        snprintf(errstr, errlen, "$: an object");
        return -1;
    }
    if (json_object_get(j, "costs")) { /* a policy: its "costs" */
        j = json_object_get(j, "costs");
        pre = "$.costs";
        if (!json_is_object(j)) {
            snprintf(errstr, errlen, "%s: an object", pre);
            return -1;
        }
    }
    const char *key;
    const json_t *m;
    json_object_foreach((json_t *)j, key, m)
    {
        size_t kl = strlen(key);
        ct_channel ch = CT_CH_NONE;
        if (kl > 6 && !strcmp(key + kl - 6, "_minor"))
            ch = ct_channel_parse(key, kl - 6);
        if (ch == CT_CH_NONE) {
            snprintf(errstr, errlen,
                     "%s.%s: not a channel cost (email_minor, sms_minor, webhook_minor, "
                     "call_task_minor, letter_minor)",
                     pre, key);
            return -1;
        }
        if (!json_is_object(m)) {
            snprintf(errstr, errlen, "%s.%s: an object of currency: minor units", pre, key);
            return -1;
        }
        const char *cur;
        const json_t *a;
        json_object_foreach((json_t *)m, cur, a)
        {
            if (!rep_cur_code_ok(cur)) {
                snprintf(errstr, errlen, "%s.%s.%s: not an ISO 4217 code", pre, key, cur);
                return -1;
            }
            if (!json_is_integer(a) || json_integer_value(a) < 0) {
                snprintf(errstr, errlen, "%s.%s.%s: an integer >= 0 (minor units)", pre, key, cur);
                return -1;
            }
            if (out->n == REP_COSTS_MAX) {
                snprintf(errstr, errlen, "%s.%s.%s: more than %d costs", pre, key, cur,
                         REP_COSTS_MAX);
                return -1;
            }
            out->v[out->n].channel = (uint8_t)ch;
            cm_strlcpy(out->v[out->n].code, cur, sizeof out->v[out->n].code);
            out->v[out->n].minor = json_integer_value(a);
            out->n++;
        }
    }
    return 0;
}

int rep_costs_load(const char *path, rep_costs *out, char *errstr, size_t errlen)
{
    json_error_t e;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        snprintf(errstr, errlen, "%s: %s (line %d)", path, e.text, e.line);
        return -1;
    }
    char why[256];
    int rc = rep_costs_parse(j, out, why, sizeof why);
    if (rc < 0)
        snprintf(errstr, errlen, "%s: %s", path, why);
    json_decref(j);
    return rc;
}

int rep_costs_get(const rep_costs *c, int channel, const char *currency, int64_t *minor)
{
    for (int i = 0; c && i < c->n; i++)
        if (c->v[i].channel == channel && !strcmp(c->v[i].code, currency)) {
            *minor = c->v[i].minor;
            return 1;
        }
    return 0;
}
