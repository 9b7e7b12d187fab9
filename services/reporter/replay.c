/* replay.c -- `arrears-reporter replay`: the reports as of a date, offline.
 *
 *   arrears-reporter replay [--events FILE.jsonl] [--contacts FILE.jsonl]
 *                           [--backtest FILE.jsonl] --at YYYY-MM-DD
 *                           [--tenant T] [--type T] [--table] [--costs FILE]
 *                           [--by variant]
 *
 * Events are inbound CloudEvents lines (normalized by normalize.c), or
 * canonical events (lines without "specversion" are applied as is).
 * Contacts are contact outcomes or bare commands. The backtest file is the
 * scheduler's `backtest` stdout, {"at","topic","key","record"} per line:
 * a command is a contact.sent (the reporter's delivered contact) at its
 * created_at, an event is applied like an --events line, a decision is
 * counted and ignored; --contacts takes such wrapped lines too. Files are
 * applied in that order: events, contacts, backtest. The
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

static const char rep_replay_usage[] =
    "arrears-reporter replay [--events FILE.jsonl] [--contacts FILE.jsonl] "
    "[--backtest FILE.jsonl] --at YYYY-MM-DD [--tenant T] [--type aging|kpis|effectiveness] "
    "[--table] [--costs FILE.json] [--by variant] (--events or --backtest required)";

static int rep_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What a file holds: --events, --contacts or --backtest lines. */
enum { REP_IN_EVENTS, REP_IN_CONTACTS, REP_IN_BACKTEST };

/* One event line: a canonical event, or an inbound CloudEvent normalized
 * first. */
static int rep_replay_event(rep_state *st, const json_t *j, char *errstr, size_t errlen)
{
    json_t *norm = json_object_get(j, "specversion") ? rep_normalize_inbound(j, errstr, errlen)
                                                     : json_incref((json_t *)j);
    int rc = norm ? rep_state_apply_event(st, norm, errstr, errlen) : -1;
    json_decref(norm);
    return rc;
}

/* One backtest line {"at","topic","key","record"}: a command is a sent
 * contact at its created_at, an event is applied as --events applies it, a
 * decision is counted in *decisions and otherwise ignored. The record's
 * own problems are named record.<field>. */
static int rep_replay_backtest(rep_state *st, const json_t *j, long *decisions, char *errstr,
                               size_t errlen)
{
    const json_t *topic = json_object_get(j, "topic"), *rec = json_object_get(j, "record");
    const char *t = json_string_value(topic);
    json_t *norm = NULL;
    int rc = -1;
    if (!json_is_object(j)) {
        snprintf(errstr, errlen, "line: not a JSON object");
        return -1;
    }
    if (!t) {
        snprintf(errstr, errlen, "topic: required (commands, events or decisions)");
        return -1;
    }
    if (!json_is_object(rec)) {
        snprintf(errstr, errlen, "record: required (an object)");
        return -1;
    }
    if (!strcmp(t, "decisions")) {
        (*decisions)++;
        return 0;
    }
    if (!strcmp(t, "commands")) {
        norm = rep_normalize_command(rec, errstr, errlen);
        if (norm)
            rc = rep_state_apply_contact(st, norm, errstr, errlen);
        json_decref(norm);
    } else if (!strcmp(t, "events")) {
        rc = rep_replay_event(st, rec, errstr, errlen);
    } else {
        snprintf(errstr, errlen, "topic: one of commands, events, decisions");
        return -1;
    }
    if (rc < 0 && strcmp(errstr, "out of memory") && errlen > sizeof "record.") {
        /* "record." before the record's field (its tail cut if need be) */
        size_t pre = sizeof "record." - 1, n = strlen(errstr);
        if (n > errlen - pre - 1)
            n = errlen - pre - 1;
        memmove(errstr + pre, errstr, n);
        memcpy(errstr, "record.", pre);
        errstr[pre + n] = 0;
    }
    return rc;
}

static int rep_replay_file(rep_state *st, const char *path, int kind, FILE *err, long *bad,
                           long *decisions)
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
        } else if (kind == REP_IN_BACKTEST ||
                   (kind == REP_IN_CONTACTS && json_object_get(j, "topic") &&
                    json_object_get(j, "record"))) {
            rc = rep_replay_backtest(st, j, decisions, errstr, sizeof errstr);
        } else if (kind == REP_IN_CONTACTS) {
            norm = rep_normalize_contact(j, errstr, sizeof errstr);
            if (norm)
                rc = rep_state_apply_contact(st, norm, errstr, sizeof errstr);
        } else {
            rc = rep_replay_event(st, j, errstr, sizeof errstr);
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
 * every type), as of the end of day d: JSON lines (table 0), tables (1),
 * or tables and the arms of each effectiveness report (2). -1 when memory
 * ran out. */
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
                if (table == 2 && (t == CT_REP_EFFECTIVENESS || t == CT_REP_KPIS))
                    cm_table_arms(out, r);
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
    const char *events = NULL, *contacts = NULL, *backtest = NULL, *at = NULL, *tenant = NULL,
               *type = NULL, *costs_path = NULL, *by = NULL;
    int table = 0, rc = 2;
    rep_costs costs;
    rep_state *st = NULL;
    char **names = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--events")     ? &events
                            : !strcmp(a, "--contacts") ? &contacts
                            : !strcmp(a, "--backtest") ? &backtest
                            : !strcmp(a, "--at")       ? &at
                            : !strcmp(a, "--tenant")   ? &tenant
                            : !strcmp(a, "--type")     ? &type
                            : !strcmp(a, "--costs")    ? &costs_path
                            : !strcmp(a, "--by")       ? &by
                                                       : NULL;
        if (slot && i + 1 < argc) {
            *slot = argv[++i];
        } else if (!strcmp(a, "--table")) {
            table = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fprintf(out,
                    "usage: %s\n"
                    "  prints the reports as of the end of that day (UTC), one JSON per line,\n"
                    "  from inbound CloudEvents (or canonical events), contact outcomes (or\n"
                    "  bare commands) and the scheduler's backtest output, each command a\n"
                    "  delivered contact at its created_at; see docs/reporter.md\n",
                    rep_replay_usage);
            return 0;
        } else {
            fprintf(err, "replay: unknown or incomplete option %s\nusage: %s\n", a,
                    rep_replay_usage);
            return 2;
        }
    }
    int32_t d;
    if ((!events && !backtest) || !at) {
        fprintf(err, "replay: --at and --events or --backtest are required\n");
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
    if (by && (strcmp(by, "variant") || !table)) {
        fprintf(err, "replay: --by: only variant, with --table\n");
        return 2;
    }
    if (by)
        table = 2;
    char cerr[512];
    if (costs_path && rep_costs_load(costs_path, &costs, cerr, sizeof cerr) < 0) {
        fprintf(err, "replay: --costs: %s\n", cerr);
        return 2;
    }
    st = rep_state_new();
    long bad = 0, decisions = 0;
    if (st && costs_path)
        st->costs = &costs;
    if (!st || (events && rep_replay_file(st, events, REP_IN_EVENTS, err, &bad, &decisions) < 0) ||
        (contacts && rep_replay_file(st, contacts, REP_IN_CONTACTS, err, &bad, &decisions) < 0) ||
        (backtest && rep_replay_file(st, backtest, REP_IN_BACKTEST, err, &bad, &decisions) < 0))
        goto cleanup;
    if (bad)
        fprintf(err, "replay: %ld line(s) skipped\n", bad);
    if (decisions)
        fprintf(err, "replay: %ld decision line(s) ignored\n", decisions);
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
