/* replay.c -- `arrears-reporter replay`: the reports as of a date, offline.
 *
 *   arrears-reporter replay --events FILE.jsonl [--contacts FILE.jsonl]
 *                           --at YYYY-MM-DD [--tenant T] [--type T] [--table]
 *
 * Events are inbound CloudEvents lines (normalized by normalize.c), or
 * canonical events (lines with "v" and integer amounts are applied as is).
 * Contacts are contact outcomes or the scheduler's backtest commands. The
 * same rep_state and report builders as the service are used. Output: one
 * report per line (tenants sorted, types aging, kpis, effectiveness), or
 * aligned tables with --table. A bad line is reported on stderr with its
 * number and reason and skipped. generated_at is the end of the --at day,
 * so the output is a pure function of the input. */
#include "reporter.h"

#include "clock.h"
#include "contract.h"
#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int rep_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int rep_replay_file(rep_state *st, const char *path, int contacts, FILE *err, long *bad)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(err, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    char errstr[256];
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = 0;
        if (n == 0)
            continue;
        json_error_t jerr;
        json_t *j = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
        json_t *norm = NULL;
        int rc = -1;
        if (!j) {
            snprintf(errstr, sizeof errstr, "not JSON: %s", jerr.text);
        } else if (contacts) {
            norm = rep_normalize_contact(j, errstr, sizeof errstr);
            if (norm)
                rc = rep_state_apply_contact(st, norm, errstr, sizeof errstr);
        } else {
            if (json_object_get(j, "specversion"))
                norm = rep_normalize_inbound(j, errstr, sizeof errstr);
            else
                norm = json_incref(j);
            if (norm)
                rc = rep_state_apply_event(st, norm, errstr, sizeof errstr);
        }
        if (rc < 0) {
            fprintf(err, "replay: %s:%ld: %s\n", path, lineno, errstr);
            (*bad)++;
        }
        json_decref(norm);
        json_decref(j);
    }
    free(line);
    fclose(f);
    return 0;
}

/* Prints the reports of every tenant in names (sorted), of type (NULL:
 * every type), as of the end of day d. -1 when memory ran out. */
static int rep_replay_print(const rep_state *st, const char *const *names, uint32_t nn, int32_t d,
                            const char *type, int table, FILE *out, FILE *err)
{
    int64_t gen = ((int64_t)d + 1) * REP_MS_PER_DAY - 1;
    for (uint32_t i = 0; i < nn; i++)
        for (int t = 0; t < CT_REP_COUNT; t++) {
            if (type && strcmp(type, ct_report_name((ct_report)t)))
                continue;
            json_t *r = rep_report_build(st, ct_report_name((ct_report)t), names[i], d, gen);
            if (!r) {
                fprintf(err, "replay: out of memory building %s\n", ct_report_name((ct_report)t));
                return -1;
            }
            if (table) {
                cm_table_report(out, r);
            } else {
                char *s =
                    json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
                if (s)
                    fprintf(out, "%s\n", s);
                free(s);
            }
            json_decref(r);
        }
    return 0;
}

int rep_replay_main(int argc, char **argv, FILE *out, FILE *err)
{
    const char *events = NULL, *contacts = NULL, *at = NULL, *tenant = NULL, *type = NULL;
    int table = 0, rc = 2;
    rep_state *st = NULL;
    char **names = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--events")     ? &events
                            : !strcmp(a, "--contacts") ? &contacts
                            : !strcmp(a, "--at")       ? &at
                            : !strcmp(a, "--tenant")   ? &tenant
                            : !strcmp(a, "--type")     ? &type
                                                       : NULL;
        if (slot && i + 1 < argc) {
            *slot = argv[++i];
        } else if (!strcmp(a, "--table")) {
            table = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fprintf(out,
                    "usage: arrears-reporter replay --events FILE.jsonl [--contacts FILE.jsonl] "
                    "--at YYYY-MM-DD [--tenant T] [--type aging|kpis|effectiveness] [--table]\n"
                    "  prints the reports as of the end of that day (UTC), one JSON per line,\n"
                    "  from inbound CloudEvents (or canonical events) and contact outcomes (or\n"
                    "  the scheduler's backtest commands); see docs/reporter.md\n");
            return 0;
        } else {
            fprintf(err,
                    "replay: unknown or incomplete option %s\n"
                    "usage: arrears-reporter replay --events FILE.jsonl [--contacts "
                    "FILE.jsonl] --at YYYY-MM-DD [--tenant T] [--type "
                    "aging|kpis|effectiveness] [--table]\n",
                    a);
            return 2;
        }
    }
    int32_t d;
    if (!events || !at) {
        fprintf(err, "replay: --events and --at are required\n");
        return 2;
    }
    if (cm_date_parse(at, &d) < 0) {
        fprintf(err, "replay: --at: not a date (YYYY-MM-DD)\n");
        return 2;
    }
    if (type && strcmp(type, "aging") && strcmp(type, "kpis") && strcmp(type, "effectiveness")) {
        fprintf(err, "replay: --type: one of aging, kpis, effectiveness\n");
        return 2;
    }
    st = rep_state_new();
    long bad = 0;
    if (!st || rep_replay_file(st, events, 0, err, &bad) < 0 ||
        (contacts && rep_replay_file(st, contacts, 1, err, &bad) < 0))
        goto cleanup;
    if (bad)
        fprintf(err, "replay: %ld line(s) skipped\n", bad);
    names = calloc(st->ntenants + 1, sizeof *names);
    if (!names)
        goto cleanup;
    uint32_t nn = 0;
    if (tenant)
        names[nn++] = (char *)tenant;
    else
        for (uint32_t i = 0; i < st->ntenants; i++)
            names[nn++] = st->tenants[i];
    qsort(names, nn, sizeof *names, rep_cmp_str);
    rc = rep_replay_print(st, (const char *const *)names, nn, d, type, table, out, err) < 0 ? 2 : 0;
cleanup:
    free(names);
    rep_state_free(st);
    return rc;
}
