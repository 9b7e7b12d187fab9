/* backtest.c -- `arrears-scheduler backtest`: a policy over a ledger file,
 * offline, with the live scheduler's own decision code.
 *
 *   arrears-scheduler backtest --policy FILE --events FILE.jsonl
 *       [--from YYYY-MM-DD] [--until YYYY-MM-DD] [--tenant T]
 *       [--json-summary FILE] [--strict] [--closed-retention D]
 *       [--compare B.json [--json]]
 *
 * Design: nothing here decides anything. Each line goes through the
 * contract's inbound validator (ct_validate, exactly as ingest runs it),
 * then through the engine the service runs (engine.c: sch_engine_apply,
 * sch_engine_fire), over the memory store (store_mem.c) instead of Redis
 * and a sink that prints instead of producing. The clock is simulated:
 * before an event at t is applied, every timer due at or before t fires,
 * each round at its own instant, in the order the service fires them (due
 * time, then tenant/invoice id, as the Redis timer set orders them). Every
 * debtor is on one partition. The output is a pure function of the inputs:
 * no wall clock, no host time zone (time zones are tzdata via common/tz),
 * no locale-dependent formatting on stdout.
 *
 * Output lines (stdout):
 *   {"at":"<simulated instant>","topic":"commands"|"events"|"decisions",
 *    "key":"<tenant>/<customer_id>","record":<the record's exact bytes>}
 * A summary goes to stderr (docs/backtest.md). */
#include "backtest.h"
#include "policy_set.h"
#include "retention.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "engine.h"
#include "log.h"
#include "policy.h"
#include "validate.h"

#define BT_DAY_MS 86400000LL

typedef struct bt_opts {
    const char *policy, *compare, *events, *tenant, *json_summary, *retention;
    int64_t from, until; /* ms; from = INT64_MIN, until = INT64_MAX when not given */
    int strict, json;
} bt_opts;

/* The simulated clock, read by the engine through sch_engine.now. */
static int64_t bt_clock;
static int64_t bt_now(void)
{
    return bt_clock;
}

typedef struct bt_run {
    const bt_opts *o;
    sch_policy_set pols; /* one file, or a directory (per tenant) */
    int per_tenant;
    sch_engine eng;
    sch_map *empty; /* for the peeks that only ask for the next due time */
    FILE *out;      /* NULL: tally only (--compare) */
    cm_buf line;
    bt_stats st;
    int failed; /* out of memory, or a write error */
} bt_run;

static const char *topic_name(char t)
{
    return t == 'c' ? "commands" : t == 'e' ? "events" : t == 'x' ? "escalations" : "decisions";
}

/* The engine's sink: prints the record and tallies it. Records published
 * before --from are neither printed nor counted. */
static int bt_publish(void *opaque, char topic, const char *key, const char *id,
                      const char *payload, size_t len, char *errstr, size_t errlen)
{
    bt_run *r = opaque;
    char at[40];
    (void)id;
    if (bt_clock < r->o->from)
        return 0;
    if (bt_stats_record(&r->st, topic, key, payload, len, bt_clock) < 0) {
        snprintf(errstr, errlen, "backtest: out of memory");
        r->failed = 1;
        return -1;
    }
    if (!r->out)
        return 0;
    cm_time_format_rfc3339(bt_clock, at, sizeof at);
    cm_buf_reset(&r->line);
    int bad = cm_buf_adds(&r->line, "{\"at\":\"") < 0 || cm_buf_adds(&r->line, at) < 0 ||
              cm_buf_adds(&r->line, "\",\"topic\":\"") < 0 ||
              cm_buf_adds(&r->line, topic_name(topic)) < 0 ||
              cm_buf_adds(&r->line, "\",\"key\":") < 0 ||
              cm_buf_json_str(&r->line, key, strlen(key)) < 0 ||
              cm_buf_adds(&r->line, ",\"record\":") < 0 || cm_buf_add(&r->line, payload, len) < 0 ||
              cm_buf_adds(&r->line, "}\n") < 0;
    if (bad || fwrite(r->line.p, 1, r->line.len, r->out) != r->line.len) {
        snprintf(errstr, errlen, "backtest: writing the output failed");
        r->failed = 1;
        return -1;
    }
    return 0;
}

static int bt_flush(void *opaque, char *errstr, size_t errlen)
{
    (void)opaque, (void)errstr, (void)errlen;
    return 0; /* printed: delivered */
}

static int bt_inflight(void *opaque, int *failed)
{
    (void)opaque;
    *failed = 0;
    return 0;
}

/* The earliest timer (INT64_MAX when none). */
static int64_t next_due(bt_run *r, char *errstr, size_t errlen)
{
    int part = 0, count = 0;
    int64_t nd = INT64_MAX;
    if (r->eng.store.peek(r->eng.store.be, r->eng.prefix, &part, 1, INT64_MIN, 0, r->empty, &count,
                          &nd, errstr, errlen) < 0) {
        r->failed = 1;
        return INT64_MAX;
    }
    return nd;
}

/* Fires every timer due at or before limit (before it, when exclusive),
 * round by round, each at its own instant (or at the clock, if it is due
 * already: a late timer fires late, as in the service). */
static int fire_until(bt_run *r, int64_t limit, int exclusive)
{
    char err[1024];
    for (;;) {
        int64_t d = next_due(r, err, sizeof err);
        if (r->failed)
            goto fail;
        if (d == INT64_MAX || d > limit || (exclusive && d == limit))
            return 0;
        if (d > bt_clock)
            bt_clock = d;
        int more = 1, rounds = 0;
        while (more) {
            if (sch_engine_fire(&r->eng, &more, err, sizeof err) < 0)
                goto fail;
            if (++rounds > 1000000) {
                snprintf(err, sizeof err, "timers at one instant do not drain (a bug)");
                goto fail;
            }
        }
    }
fail:
    fprintf(stderr, "backtest: firing timers: %s\n", err);
    r->failed = 1;
    return -1;
}

/* "YYYY-MM-DD" -> its 00:00 UTC in ms. */
static int parse_day(const char *s, int64_t *ms)
{
    char b[40];
    if (strlen(s) != 10)
        return -1;
    snprintf(b, sizeof b, "%sT00:00:00Z", s);
    return cm_time_parse_rfc3339(b, ms);
}

/* One problem with a line: named on stderr; with --strict the run stops. */
static int problem(const bt_opts *o, long lineno, const char *what)
{
    fprintf(stderr, "%s:%ld: %s\n", o->events, lineno, what);
    return o->strict ? -1 : 0;
}

/* The time of a canonical event (its "time"), or -1. */
static int64_t event_time(const cm_jv *ev)
{
    int64_t t;
    const cm_jv *s = cm_jv_get(ev, "time");
    return s && s->type == CM_JV_STRING && cm_time_parse_rfc3339(s->u.s, &t) == 0 ? t : -1;
}

/* Runs pol over the ledger into r (r->out may be NULL). 0, 1 a --strict
 * stop, -1 an error (out of memory, unreadable input). */
static int bt_run_ledger(bt_run *r)
{
    const bt_opts *o = r->o;
    FILE *in = fopen(o->events, "r");
    char *line = NULL, err[1024];
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int64_t last = INT64_MIN;
    int rc = -1, part = 0;
    cm_json *js = NULL;        /* the event's tree, one at a time */
    cm_buf body = CM_BUF_INIT; /* the event's record, kept while it is applied */
    static const ct_limits lim = {CT_DEFAULT_MAX_BYTES, CT_DEFAULT_MAX_DEPTH};
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    if (!in) {
        fprintf(stderr, "backtest: %s: %s\n", o->events, strerror(errno));
        return -1;
    }
    if (!(js = cm_json_new()) || sch_store_mem_new(&r->eng.store) < 0 ||
        !(r->empty = sch_map_new()))
        goto oom;
    r->eng.pol = r->pols.v[0].pol;
    r->eng.pols = r->per_tenant ? &r->pols : NULL;
    r->eng.fire_batch = 10000;
    r->eng.now = bt_now;
    r->eng.next_due = INT64_MAX;
    r->eng.decide = 1;
    {
        char rerr[200];
        sch_retention_parse(r->o->retention ? r->o->retention : SCH_RETENTION_DEFAULT,
                            &r->eng.retention, rerr, sizeof rerr); /* checked by parse_args */
    }
    r->eng.owned[0] = 1;
    r->eng.sink = (sch_sink){bt_publish, bt_flush, bt_inflight, r};
    snprintf(r->eng.prefix, sizeof r->eng.prefix, "bt:");
    bt_clock = INT64_MIN;
    r->st.first_ms = INT64_MIN;
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (n == 0)
            continue;
        r->st.lines++;
        ct_message msg = {.payload = line, .len = (size_t)n, .topic = "inbound", .offset = lineno};
        ct_verdict v;
        if (ct_validate(&lim, &msg, &v, err, sizeof err) < 0)
            goto oom;
        if (v.accepted && v.phone[0]) {
            /* issue 17: naming a phone needs ingest's phone index */
            v.accepted = 0;
            v.reasons.n = v.reasons.dropped = 0;
            ct_reason_add(&v.reasons, "data.phone", "unresolved",
                          "names a phone; the backtest has no phone index (give customer_id)");
        }
        if (!v.accepted) {
            cm_buf why = CM_BUF_INIT;
            for (size_t i = 0; i < v.reasons.n; i++)
                cm_buf_printf(&why, "%s%s", i ? "; " : "", v.reasons.r[i].message);
            if (v.reasons.dropped)
                cm_buf_printf(&why, "; and %zu more", v.reasons.dropped);
            r->st.rejected++;
            int stop = problem(o, lineno, why.p ? why.p : "rejected");
            cm_buf_free(&why);
            ct_verdict_clear(&v);
            if (stop < 0) {
                rc = 1;
                goto cleanup;
            }
            continue;
        }
        if (o->tenant && strcmp(v.tenant, o->tenant) != 0) {
            r->st.filtered++;
            ct_verdict_clear(&v);
            continue;
        }
        cm_buf_reset(&body);
        int added = cm_buf_add(&body, v.body, v.bodylen);
        ct_verdict_clear(&v);
        if (added < 0)
            goto oom;
        cm_json_clear(js); /* the last event's tree is dead: applied and committed */
        const cm_jv *ev = ct_event_parse(js, body.p, body.len, err, sizeof err);
        if (!ev) { /* the validator's own output: a bug */
            fprintf(stderr, "backtest: %s:%ld: internal: %s\n", o->events, lineno, err);
            goto cleanup;
        }
        int64_t t = event_time(ev);
        if (t < last) {
            char what[160], lt[40];
            cm_time_format_rfc3339(last, lt, sizeof lt);
            snprintf(what, sizeof what, "time: out of order (before %s, the latest time so far)",
                     lt);
            r->st.out_of_order++;
            if (problem(o, lineno, what) < 0) {
                rc = 1;
                goto cleanup;
            }
            continue;
        }
        if (t >= o->until) {
            r->st.outside++;
            continue;
        }
        last = t;
        sch_event se;
        int ck = sch_event_decode(ev, body.p, body.len, &se, err, sizeof err);
        if (ck <= 0) {
            if (ck == 0) {
                r->st.ignored++;
                continue;
            }
            r->st.rejected++;
            if (problem(o, lineno, err) < 0) {
                rc = 1;
                goto cleanup;
            }
            continue;
        }
        if (r->st.first_ms == INT64_MIN)
            r->st.first_ms = o->from > t ? o->from : t;
        if (fire_until(r, t, 0) < 0)
            goto cleanup;
        if (t > bt_clock)
            bt_clock = t;
        long long before = r->eng.not_applied_total;
        int ar = sch_engine_apply(&r->eng, &se, &part, 1, err, sizeof err);
        if (ar < 0 || r->failed) {
            fprintf(stderr, "backtest: %s:%ld: %s\n", o->events, lineno, err);
            goto cleanup;
        }
        if (r->eng.not_applied_total > before) {
            r->st.not_applied++;
            if (problem(o, lineno, "not applicable to the state (see the log line above)") < 0) {
                rc = 1;
                goto cleanup;
            }
        } else {
            r->st.applied++;
        }
    }
    if (ferror(in)) {
        fprintf(stderr, "backtest: %s: %s\n", o->events, strerror(errno));
        goto cleanup;
    }
    /* after the last event, until --until (default: the end of the last
     * event's day, UTC) */
    int64_t until = o->until;
    if (until == INT64_MAX)
        until = last == INT64_MIN ? 0 : (last / BT_DAY_MS + 1) * BT_DAY_MS;
    if (o->from != INT64_MIN && o->from >= until) {
        char f[40], u[40];
        cm_time_format_rfc3339(o->from, f, sizeof f);
        cm_time_format_rfc3339(until, u, sizeof u);
        fprintf(
            stderr,
            "backtest: --from %.10s is not before the end of the run (%s); give a later --until\n",
            f, u);
        goto cleanup;
    }
    if (r->st.first_ms == INT64_MIN)
        r->st.first_ms = o->from != INT64_MIN ? o->from : until;
    r->st.until_ms = until;
    if (fire_until(r, until, 1) < 0)
        goto cleanup;
    if (bt_clock < until)
        bt_clock = until;
    if (sch_engine_settle(&r->eng, 1, err, sizeof err) < 0)
        goto cleanup;
    bt_stats_finish(&r->st);
    rc = 0;
    goto cleanup;
oom:
    fprintf(stderr, "backtest: out of memory\n");
cleanup:
    clock_gettime(CLOCK_MONOTONIC, &w1);
    r->st.wall_s = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
    if (r->out && fflush(r->out) != 0 && rc == 0) {
        fprintf(stderr, "backtest: writing the output: %s\n", strerror(errno));
        rc = -1;
    }
    free(line);
    fclose(in);
    cm_buf_free(&body);
    cm_json_free(js);
    ct_thread_cleanup();
    return r->failed && rc == 0 ? -1 : rc;
}

static void bt_run_free(bt_run *r)
{
    for (size_t i = 0; i < r->eng.npending; i++)
        free(r->eng.pending[i].id);
    free(r->eng.pending);
    if (r->eng.store.be)
        sch_store_mem_free(&r->eng.store);
    sch_map_free(r->empty);
    cm_buf_free(&r->line);
    bt_stats_free(&r->st);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: arrears-scheduler backtest --policy FILE|--policy-dir DIR --events FILE.jsonl\n"
            "           [--from YYYY-MM-DD] [--until YYYY-MM-DD] [--tenant T]\n"
            "           [--json-summary FILE] [--strict] [--closed-retention D]\n"
            "           [--compare B.json [--json]]\n"
            "Runs a policy over a ledger of inbound CloudEvents (one per line, in time\n"
            "order) with the scheduler's own engine on a simulated clock, and prints every\n"
            "record it would publish, one JSON line each; a summary goes to stderr.\n"
            "  --from D       records before D 00:00 UTC are not printed (events before it\n"
            "                 still build the state)\n"
            "  --until D      the run ends at D 00:00 UTC (default: the day after the last\n"
            "                 event's); later events are left out\n"
            "  --policy-dir D  <tenant>.json policies plus default.json (ARREARS_POLICY_DIR)\n"
            "  --tenant T     only the events of tenant T\n"
            "  --json-summary FILE  the summary as JSON too\n"
            "  --closed-retention D  as ARREARS_SCHEDULER_CLOSED_RETENTION "
            "(default " SCH_RETENTION_DEFAULT ", none: for ever)\n"
            "  --strict       the first problem with a line exits 1\n"
            "  --compare B    runs --policy (A) and B (a file, or a directory of\n"
            "                 policies) over the ledger and prints a\n"
            "                 side-by-side table (--json: as JSON) instead of the records\n"
            "See docs/backtest.md.\n");
}

static int parse_args(int argc, char **argv, bt_opts *o)
{
    *o = (bt_opts){.from = INT64_MIN, .until = INT64_MAX};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = !strcmp(a, "--policy") || !strcmp(a, "--policy-dir") ? &o->policy
                            : !strcmp(a, "--events")                             ? &o->events
                            : !strcmp(a, "--compare")                            ? &o->compare
                            : !strcmp(a, "--tenant")                             ? &o->tenant
                            : !strcmp(a, "--json-summary")                       ? &o->json_summary
                            : !strcmp(a, "--closed-retention")                   ? &o->retention
                                                                                 : NULL;
        if (slot || !strcmp(a, "--from") || !strcmp(a, "--until")) {
            if (!v) {
                fprintf(stderr, "backtest: %s: needs a value\n", a);
                return -1;
            }
            i++;
            if (slot) {
                *slot = v;
            } else if (parse_day(v, !strcmp(a, "--from") ? &o->from : &o->until) < 0) {
                fprintf(stderr, "backtest: %s: expected a date YYYY-MM-DD, got '%s'\n", a, v);
                return -1;
            }
        } else if (!strcmp(a, "--strict")) {
            o->strict = 1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "backtest: unknown option '%s'\n", a);
            return -1;
        }
    }
    char err[200];
    int64_t ms;
    if (o->retention && sch_retention_parse(o->retention, &ms, err, sizeof err) < 0) {
        fprintf(stderr, "backtest: --closed-retention: %s\n", err);
        return -1;
    }
    if (!o->policy || !o->events) {
        fprintf(stderr, "backtest: --policy (or --policy-dir) and --events are required\n");
        return -1;
    }
    if (o->json && !o->compare) {
        fprintf(stderr, "backtest: --json goes with --compare (the records are JSON already)\n");
        return -1;
    }
    if (o->from != INT64_MIN && o->until != INT64_MAX && o->from >= o->until) {
        fprintf(stderr, "backtest: --from must be before --until\n");
        return -1;
    }
    return 0;
}

/* A policy file, or a directory of per-tenant policies (policy_set.h). */
static int load_policy(const char *path, bt_run *r)
{
    static char err[16384];
    struct stat st;
    r->per_tenant = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    int rc = r->per_tenant ? sch_policy_set_load_dir(&r->pols, path, err, sizeof err)
                           : sch_policy_set_load_file(&r->pols, path, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "backtest: %s\n", err);
    return rc;
}

int sch_backtest_main(int argc, char **argv)
{
    bt_opts o;
    bt_run a, b;
    int rc = 2, loaded_a = 0, loaded_b = 0;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (parse_args(argc, argv, &o) < 0) {
        usage(stderr);
        return 2;
    }
    cm_log_init("scheduler", "warn");
    a.o = b.o = &o;
    if (load_policy(o.policy, &a) < 0)
        goto cleanup;
    loaded_a = 1;
    if (o.compare) {
        if (load_policy(o.compare, &b) < 0)
            goto cleanup;
        loaded_b = 1;
    } else {
        static char obuf[1 << 20];
        setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
        a.out = stdout;
    }
    int r = bt_run_ledger(&a);
    if (r == 0 && o.compare)
        r = bt_run_ledger(&b);
    if (r != 0) {
        rc = 1;
        goto cleanup;
    }
    if (o.compare) {
        bt_compare_print(stdout, &a.st, &b.st, o.policy, o.compare, o.json);
        fflush(stdout);
    }
    bt_stats_print(stderr, &a.st);
    if (o.compare) {
        fprintf(stderr, "backtest (B):\n");
        bt_stats_print(stderr, &b.st);
    }
    if (o.json_summary) {
        FILE *f = fopen(o.json_summary, "w");
        int bad = !f || bt_stats_json(f, &a.st) < 0;
        if (f && fclose(f) != 0)
            bad = 1;
        if (bad) {
            fprintf(stderr, "backtest: %s: cannot write the summary\n", o.json_summary);
            rc = 1;
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    bt_run_free(&a);
    bt_run_free(&b);
    if (loaded_a)
        sch_policy_set_free(&a.pols);
    if (loaded_b)
        sch_policy_set_free(&b.pols);
    return rc;
}
