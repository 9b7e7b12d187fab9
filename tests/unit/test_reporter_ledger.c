/* test_reporter_ledger.c -- data-driven ledgers through the replay path.
 *
 * tests/data/reporter/<case>/: events.jsonl (inbound CloudEvents),
 * optional contacts.jsonl, at.txt (the report date) and expected.json,
 * which tests/data/reporter/expected.py works out independently of this
 * code. Every expected value must be present and equal in the reports that
 * rep_replay_main prints: integers (money in minor units) exactly, reals
 * to 0.001 (they are rounded to 0.01 by both), strings, booleans and null
 * exactly, arrays element by element.
 *
 * test_backtest: a hand-written scheduler backtest output (3 debtors,
 * commands, a scheduler event it does not read, a decision and bad lines) with its
 * inbound events through `replay --backtest`: every command a delivered
 * contact at its created_at, decisions ignored, bad lines named.
 *
 * test_logged_replay: contact.logged CloudEvents through replay: a logged
 * call in its own effectiveness row, filed under the debtor's open invoice
 * when it names none.
 *
 * test_backtest_money: the scheduler's money events (issue 14) in a
 * backtest, summed in the KPI report's money objects, a re-published one
 * once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../services/reporter/reporter.h"

#define DATA "tests/data/reporter"

static int rep_t_diff(const json_t *e, const json_t *a, const char *path)
{
    char sub[512];
    int bad = 0;
    if (json_is_object(e)) {
        const char *k;
        json_t *v;
        if (!json_is_object(a)) {
            fprintf(stderr, "%s: expected an object\n", path);
            return 1;
        }
        json_object_foreach((json_t *)e, k, v)
        {
            snprintf(sub, sizeof sub, "%s.%s", path, k);
            json_t *av = json_object_get(a, k);
            if (!av) {
                fprintf(stderr, "%s: missing\n", sub);
                bad++;
            } else {
                bad += rep_t_diff(v, av, sub);
            }
        }
        return bad;
    }
    if (json_is_array(e)) {
        if (!json_is_array(a) || json_array_size(a) != json_array_size(e)) {
            fprintf(stderr, "%s: expected %zu elements, got %zu\n", path, json_array_size(e),
                    json_array_size(a));
            return 1;
        }
        for (size_t i = 0; i < json_array_size(e); i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            bad += rep_t_diff(json_array_get(e, i), json_array_get(a, i), sub);
        }
        return bad;
    }
    if (json_is_integer(e)) {
        if (!json_is_integer(a) || json_integer_value(a) != json_integer_value(e)) {
            fprintf(stderr, "%s: expected %lld, got %s\n", path, (long long)json_integer_value(e),
                    json_is_number(a) ? "another number" : "?");
            return 1;
        }
        return 0;
    }
    if (json_is_real(e)) {
        if (!json_is_number(a) || fabs(json_number_value(a) - json_real_value(e)) > 0.001) {
            fprintf(stderr, "%s: expected %.4f, got %.4f\n", path, json_real_value(e),
                    json_number_value(a));
            return 1;
        }
        return 0;
    }
    if (!json_equal((json_t *)e, (json_t *)a)) {
        fprintf(stderr, "%s: values differ\n", path);
        return 1;
    }
    return 0;
}

static int rep_t_case(const char *dir)
{
    char ev[1100], co[1100], at[1100], ex[1100];
    snprintf(ev, sizeof ev, "%s/events.jsonl", dir);
    snprintf(co, sizeof co, "%s/contacts.jsonl", dir);
    snprintf(at, sizeof at, "%s/at.txt", dir);
    snprintf(ex, sizeof ex, "%s/expected.json", dir);
    char date[32] = "";
    FILE *f = fopen(at, "r");
    assert_non_null(f);
    assert_non_null(fgets(date, sizeof date, f));
    fclose(f);
    date[strcspn(date, "\r\n")] = 0;
    struct stat sb;
    int has_contacts = stat(co, &sb) == 0;
    char *argv[] = {"replay", "--events", ev, "--at", date, "--contacts", co, NULL};
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_int_equal(rep_replay_main(has_contacts ? 7 : 5, argv, out, err), 0);
    rewind(out);
    json_t *reports = json_object(); /* "tenant/type" -> report */
    json_error_t je;
    json_t *r;
    while ((r = json_loadf(out, JSON_DISABLE_EOF_CHECK, &je))) {
        char key[300];
        snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(r, "tenant")),
                 json_string_value(json_object_get(r, "type")));
        json_object_set_new(reports, key, r);
        int c;
        while ((c = fgetc(out)) == '\n')
            ;
        if (c == EOF)
            break;
        ungetc(c, out);
    }
    json_t *exp = json_load_file(ex, 0, &je);
    assert_non_null(exp);
    int bad = 0;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(exp, "reports"), i, e)
    {
        char key[300];
        snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(e, "tenant")),
                 json_string_value(json_object_get(e, "type")));
        json_t *a = json_object_get(reports, key);
        if (!a) {
            fprintf(stderr, "%s: %s: no report\n", dir, key);
            bad++;
            continue;
        }
        char path[1400];
        snprintf(path, sizeof path, "%s:%s", dir, key);
        bad += rep_t_diff(e, a, path);
    }
    assert_true(json_array_size(json_object_get(exp, "reports")) > 0);
    json_decref(exp);
    json_decref(reports);
    fclose(out);
    fclose(err);
    return bad;
}

static void test_ledgers(void **state)
{
    (void)state;
    DIR *d = opendir(DATA);
    assert_non_null(d);
    struct dirent *de;
    int cases = 0, bad = 0;
    while ((de = readdir(d))) {
        char dir[512], ex[600];
        struct stat sb;
        if (de->d_name[0] == '.')
            continue;
        snprintf(dir, sizeof dir, DATA "/%s", de->d_name);
        snprintf(ex, sizeof ex, "%s/expected.json", dir);
        if (stat(ex, &sb) != 0)
            continue;
        cases++;
        bad += rep_t_case(dir);
    }
    closedir(d);
    assert_true(cases >= 1);
    assert_int_equal(bad, 0);
}

/* ---- replay --backtest ---- */

static const char *const rep_t_inbound[] = {
    "{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"billing\",\"type\":\"invoice.issued\","
    "\"time\":\"2026-02-01T08:00:00Z\",\"tenant\":\"acme\",\"data\":{\"invoice_id\":\"I-1\","
    "\"customer_id\":\"C-1\",\"number\":\"N1\",\"currency\":\"EUR\",\"amount\":\"1000.00\","
    "\"issued_on\":\"2026-02-01\",\"due_on\":\"2026-03-01\"}}",
    "{\"specversion\":\"1.0\",\"id\":\"e2\",\"source\":\"billing\",\"type\":\"invoice.issued\","
    "\"time\":\"2026-02-01T08:00:00Z\",\"tenant\":\"acme\",\"data\":{\"invoice_id\":\"I-2\","
    "\"customer_id\":\"C-2\",\"number\":\"N2\",\"currency\":\"EUR\",\"amount\":\"500.00\","
    "\"issued_on\":\"2026-02-01\",\"due_on\":\"2026-03-01\"}}",
    "{\"specversion\":\"1.0\",\"id\":\"e3\",\"source\":\"billing\",\"type\":\"invoice.issued\","
    "\"time\":\"2026-02-01T08:00:00Z\",\"tenant\":\"acme\",\"data\":{\"invoice_id\":\"I-3\","
    "\"customer_id\":\"C-3\",\"number\":\"N3\",\"currency\":\"EUR\",\"amount\":\"300.00\","
    "\"issued_on\":\"2026-02-01\",\"due_on\":\"2026-03-01\"}}",
    "{\"specversion\":\"1.0\",\"id\":\"e4\",\"source\":\"billing\",\"type\":\"payment.received\","
    "\"time\":\"2026-03-05T12:00:00Z\",\"tenant\":\"acme\",\"data\":{\"payment_id\":\"P-1\","
    "\"customer_id\":\"C-1\",\"currency\":\"EUR\",\"amount\":\"1000.00\",\"received_on\":"
    "\"2026-03-05\",\"received_at\":\"2026-03-05T12:00:00Z\",\"allocations\":[{\"invoice_id\":"
    "\"I-1\",\"amount\":\"1000.00\"}]}}",
    "{\"specversion\":\"1.0\",\"id\":\"e5\",\"source\":\"billing\",\"type\":\"payment.received\","
    "\"time\":\"2026-03-20T12:00:00Z\",\"tenant\":\"acme\",\"data\":{\"payment_id\":\"P-3\","
    "\"customer_id\":\"C-3\",\"currency\":\"EUR\",\"amount\":\"300.00\",\"received_on\":"
    "\"2026-03-20\",\"received_at\":\"2026-03-20T12:00:00Z\",\"allocations\":[{\"invoice_id\":"
    "\"I-3\",\"amount\":\"300.00\"}]}}",
};

/* A backtest "commands" line: the command as the scheduler encodes it. */
static void rep_t_cmd(FILE *f, const char *cust, const char *inv, int step, const char *channel,
                      const char *variant, const char *kind, const char *created,
                      const char *scheduled)
{
    fprintf(f,
            "{\"at\":\"%s\",\"topic\":\"commands\",\"key\":\"acme/%s\",\"record\":{\"v\":1,"
            "\"command_id\":\"acme/inv/%s/step/%d/attempt/1\",\"kind\":\"%s\",\"tenant\":"
            "\"acme\",\"channel\":\"%s\",\"template\":\"t\",\"strategy\":\"default\","
            "\"variant\":\"%s\",\"step\":%d,\"created_at\":\"%s\",\"scheduled_at\":\"%s\","
            "\"customer\":{\"customer_id\":\"%s\"},\"currency\":\"EUR\",\"amounts\":{\"total\":"
            "100},\"invoices\":[{\"invoice_id\":\"%s\"}]}}\n",
            created, cust, inv, step, kind, channel, variant, step, created, scheduled, cust, inv);
}

/* The effectiveness row of (variant, step, channel), or NULL. */
static const json_t *rep_t_row(const json_t *eff, const char *variant, int step,
                               const char *channel)
{
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(eff, "rows"), i, r)
    {
        if (!strcmp(json_string_value(json_object_get(r, "variant")), variant) &&
            json_integer_value(json_object_get(r, "step")) == step &&
            !strcmp(json_string_value(json_object_get(r, "channel")), channel))
            return r;
    }
    return NULL;
}

static json_int_t rep_t_int(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* The recovered EUR of a row or variant (0 when none). */
static json_int_t rep_t_recovered(const json_t *o)
{
    const json_t *r = json_array_get(json_object_get(o, "recovered"), 0);
    return r ? rep_t_int(r, "amount_minor") : 0;
}

/* Runs replay with --events ev and (opt) file; the printed reports, and
 * stderr into err (size n). */
static char *rep_t_run(const char *ev, const char *opt, const char *file, char *err, size_t n)
{
    char *argv[] = {"replay",     "--events", (char *)ev,   (char *)opt,
                    (char *)file, "--at",     "2026-03-31", NULL};
    FILE *out = tmpfile(), *ef = tmpfile();
    assert_non_null(out);
    assert_non_null(ef);
    assert_int_equal(rep_replay_main(7, argv, out, ef), 0);
    long len = ftell(out);
    char *s = calloc(1, (size_t)len + 1);
    assert_non_null(s);
    rewind(out);
    assert_int_equal(fread(s, 1, (size_t)len, out), (size_t)len);
    rewind(ef);
    err[fread(err, 1, n - 1, ef)] = 0;
    fclose(out);
    fclose(ef);
    return s;
}

/* The report of type in got (replay's output, one report of tenant acme a
 * line), a new reference; fails the test when there is none. */
static json_t *rep_t_report(const char *got, const char *type)
{
    for (const char *line = got; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        json_t *r = json_loadb(line, n, 0, NULL);
        assert_non_null(r);
        assert_string_equal(json_string_value(json_object_get(r, "tenant")), "acme");
        if (!strcmp(json_string_value(json_object_get(r, "type")), type))
            return r;
        json_decref(r);
        line += n + (end != NULL);
    }
    fail_msg("no %s report", type);
    return NULL;
}

/* Makes the temporary directory dir (a mkdtemp template) and writes
 * rep_t_inbound, then the n lines of more, to dir/events.jsonl (its path
 * into ev, 64 bytes). */
static void rep_t_events(char *dir, char *ev, const char *const *more, size_t n)
{
    assert_non_null(mkdtemp(dir));
    snprintf(ev, 64, "%s/events.jsonl", dir);
    FILE *f = fopen(ev, "w");
    assert_non_null(f);
    for (size_t i = 0; i < sizeof rep_t_inbound / sizeof rep_t_inbound[0]; i++)
        fprintf(f, "%s\n", rep_t_inbound[i]);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", more[i]);
    fclose(f);
}

static void test_backtest(void **state)
{
    (void)state;
    char dir[] = "/tmp/rep-backtest-XXXXXX", ev[64], bt[64], err[2048];
    rep_t_events(dir, ev, NULL, 0);
    snprintf(bt, sizeof bt, "%s/backtest.jsonl", dir);
    FILE *f = fopen(bt, "w");
    assert_non_null(f);
    /* 1-3: the first reminders; variant A for C-1 and C-3, B for C-2 */
    rep_t_cmd(f, "C-1", "I-1", 1, "email", "A", "reminder", "2026-03-02T09:00:00.000Z",
              "2026-03-02T09:00:00.000Z");
    rep_t_cmd(f, "C-2", "I-2", 1, "email", "B", "reminder", "2026-03-02T09:00:00.000Z",
              "2026-03-02T09:00:00.000Z");
    rep_t_cmd(f, "C-3", "I-3", 1, "email", "A", "reminder", "2026-03-02T09:00:00.000Z",
              "2026-03-02T09:00:00.000Z");
    /* 4: a decision (C-2's step 2 not sent): ignored */
    fprintf(f, "{\"at\":\"2026-03-09T09:00:00.000Z\",\"topic\":\"decisions\",\"key\":\"acme/C-2\","
               "\"record\":{\"invoice_id\":\"I-2\",\"step\":2,\"rule\":\"opted_out\"}}\n");
    /* 5: due on 03-08, fired on 03-14: counts at 03-14, so that the
     * payment of 03-20 is a response to it (7 days from 03-08 it is not) */
    rep_t_cmd(f, "C-3", "I-3", 2, "sms", "A", "reminder", "2026-03-14T09:00:00.000Z",
              "2026-03-08T09:00:00.000Z");
    /* 6-7: a scheduler event the reporter does not read (C-2's
     * plan.completed: applied, ignored), and C-2's escalation letter (an
     * escalation step publishes only its command) */
    fprintf(f, "{\"at\":\"2026-03-16T09:00:00.000Z\",\"topic\":\"events\",\"key\":\"acme/C-2\","
               "\"record\":{\"v\":1,\"id\":\"PL-2/completed\",\"source\":"
               "\"arrears-scheduler\",\"type\":\"plan.completed\",\"tenant\":\"acme\",\"time\":"
               "\"2026-03-16T09:00:00.000Z\",\"customer_id\":\"C-2\",\"data\":{\"customer_id\":"
               "\"C-2\",\"plan_id\":\"PL-2\",\"invoice_ids\":[\"I-2\"],\"currency\":\"EUR\","
               "\"total_minor\":100,\"paid_minor\":100}}}\n");
    rep_t_cmd(f, "C-2", "I-2", 3, "letter", "B", "escalation", "2026-03-16T09:00:00.000Z",
              "2026-03-16T09:00:00.000Z");
    /* 8-11: bad lines: a command without created_at, an event without
     * data.invoice_id (a fee charged), an unknown topic, a bare command */
    fprintf(f, "{\"at\":\"2026-03-16T09:00:00.000Z\",\"topic\":\"commands\",\"key\":\"acme/C-1\","
               "\"record\":{\"v\":1,\"command_id\":\"acme/x\",\"tenant\":\"acme\"}}\n");
    fprintf(f, "{\"at\":\"2026-03-16T09:00:00.000Z\",\"topic\":\"events\",\"key\":\"acme/C-2\","
               "\"record\":{\"v\":1,\"id\":\"y\",\"source\":\"arrears-scheduler\",\"type\":"
               "\"invoice.fee_charged\",\"tenant\":\"acme\",\"time\":\"2026-03-16T09:00:00.000Z\","
               "\"customer_id\":\"C-2\",\"data\":{\"customer_id\":\"C-2\",\"currency\":\"EUR\","
               "\"amount_minor\":1500,\"step\":3,\"charged_on\":\"2026-03-16\"}}}\n");
    fprintf(f, "{\"at\":\"2026-03-16T09:00:00.000Z\",\"topic\":\"pings\",\"record\":{}}\n");
    long before_bare = ftell(f);
    fprintf(f, "{\"v\":1,\"command_id\":\"acme/z\",\"tenant\":\"acme\",\"created_at\":"
               "\"2026-03-16T09:00:00.000Z\"}\n");
    fclose(f);

    char *got = rep_t_run(ev, "--backtest", bt, err, sizeof err);
    assert_non_null(strstr(err, "backtest.jsonl:8: record.created_at: required\n"));
    assert_non_null(strstr(err, "backtest.jsonl:9: record.data.invoice_id: "));
    assert_non_null(strstr(err, "backtest.jsonl:10: topic: one of commands, events, decisions\n"));
    assert_non_null(strstr(err, "backtest.jsonl:11: topic: required"));
    assert_null(strstr(err, "backtest.jsonl:4:"));
    assert_non_null(strstr(err, "replay: 4 line(s) skipped\n"));
    assert_non_null(strstr(err, "replay: 1 decision line(s) ignored\n"));

    json_t *kpis = rep_t_report(got, "kpis"), *eff = rep_t_report(got, "effectiveness");
    /* the inbound events went in: March collected 1300.00 EUR */
    const json_t *cur = json_array_get(json_object_get(kpis, "currencies"), 0);
    const json_t *month = json_array_get(json_object_get(cur, "periods"), 2);
    assert_string_equal(json_string_value(json_object_get(month, "period")), "month");
    assert_int_equal(rep_t_int(month, "collected_minor"), 130000);
    /* every command a delivered contact: 5 sent, none failed, in 4 rows */
    assert_int_equal(json_array_size(json_object_get(eff, "rows")), 4);
    const json_t *a1 = rep_t_row(eff, "A", 1, "email"), *a2 = rep_t_row(eff, "A", 2, "sms"),
                 *b1 = rep_t_row(eff, "B", 1, "email"), *b3 = rep_t_row(eff, "B", 3, "letter");
    assert_non_null(a1);
    assert_non_null(a2);
    assert_non_null(b1);
    assert_non_null(b3);
    assert_int_equal(rep_t_int(a1, "sent"), 2);
    assert_int_equal(rep_t_int(a1, "failed"), 0);
    assert_int_equal(rep_t_int(a1, "contacted_invoices"), 2);
    assert_int_equal(rep_t_int(a1, "responded_invoices"), 1); /* I-1 paid 03-05 */
    assert_int_equal(rep_t_recovered(a1), 100000);
    assert_int_equal(rep_t_int(a2, "sent"), 1);
    assert_int_equal(rep_t_int(a2, "responded_invoices"), 1); /* at created_at */
    assert_int_equal(rep_t_recovered(a2), 30000);             /* the last contact before P-3 */
    assert_int_equal(rep_t_int(b1, "sent"), 1);
    assert_int_equal(rep_t_int(b1, "responded_invoices"), 0);
    assert_int_equal(rep_t_recovered(b1), 0);
    assert_int_equal(rep_t_int(b3, "sent"), 1);
    /* first-contact attribution: I-3 counts once, under A */
    const json_t *exp = json_array_get(json_object_get(eff, "experiments"), 0);
    const json_t *va = json_array_get(json_object_get(exp, "variants"), 0),
                 *vb = json_array_get(json_object_get(exp, "variants"), 1);
    assert_string_equal(json_string_value(json_object_get(va, "variant")), "A");
    assert_int_equal(rep_t_int(va, "invoices"), 2);
    assert_int_equal(rep_t_int(va, "paid_invoices"), 2);
    assert_int_equal(rep_t_recovered(va), 130000);
    assert_string_equal(json_string_value(json_object_get(vb, "variant")), "B");
    assert_int_equal(rep_t_int(vb, "invoices"), 1);
    assert_int_equal(rep_t_int(vb, "paid_invoices"), 0);
    json_decref(kpis);
    json_decref(eff);

    /* --contacts takes the same wrapped lines, with the same reports (less
     * the bare command, which it takes as a contact) */
    assert_int_equal(truncate(bt, before_bare), 0);
    char *again = rep_t_run(ev, "--contacts", bt, err, sizeof err);
    char *first = rep_t_run(ev, "--backtest", bt, err, sizeof err);
    assert_string_equal(again, first);
    free(again);
    free(first);
    free(got);
    unlink(bt);
    unlink(ev);
    rmdir(dir);
}

/* The scheduler's money events (issue 14) in a backtest, as it prints them
 * (canonical events on "events"), through replay --backtest as of
 * 2026-03-31, a Tuesday (week 03-30..31, month 03-01..31), over
 * rep_t_inbound (EUR):
 *   fee of 15.00 on I-2 charged on 03-15 (line 1, and again as line 3:
 *     the same id, counted once);
 *   interest 0.86 and compensation 40.00 claimed on I-1 on 03-05;
 *   a settlement of I-2 forgiving 100.00 on 03-30.
 * Month: charged 1500, waived 0, interest 86, compensation 4000, forgiven
 * 10000 (settlement); week: forgiven 10000 only; day: all 0. */
static void test_backtest_money(void **state)
{
    (void)state;
    static const char *const env = "\"source\":\"arrears-scheduler\",\"tenant\":\"acme\"";
    char dir[] = "/tmp/rep-btmoney-XXXXXX", ev[64], bt[64], err[2048];
    rep_t_events(dir, ev, NULL, 0);
    snprintf(bt, sizeof bt, "%s/backtest.jsonl", dir);
    FILE *f = fopen(bt, "w");
    assert_non_null(f);
    for (int i = 0; i < 2; i++) {
        fprintf(f,
                "{\"at\":\"2026-03-15T09:00:00.000Z\",\"topic\":\"events\",\"key\":\"acme/C-2\","
                "\"record\":{\"v\":1,\"id\":\"acme/inv/I-2/step/1/attempt/1/fee\",%s,"
                "\"type\":\"invoice.fee_charged\",\"time\":\"2026-03-15T09:00:00.000Z\","
                "\"customer_id\":\"C-2\",\"data\":{\"customer_id\":\"C-2\",\"invoice_id\":"
                "\"I-2\",\"currency\":\"EUR\",\"amount_minor\":1500,\"step\":1,\"charged_on\":"
                "\"2026-03-15\"}}}\n",
                env);
        if (i == 0)
            fprintf(f,
                    "{\"at\":\"2026-03-05T12:00:00.000Z\",\"topic\":\"events\",\"key\":"
                    "\"acme/C-1\",\"record\":{\"v\":1,\"id\":\"acme/inv/I-1/claim/P-1/claimed\","
                    "%s,\"type\":\"invoice.interest_claimed\",\"time\":"
                    "\"2026-03-05T12:00:00.000Z\",\"customer_id\":\"C-1\",\"data\":{"
                    "\"customer_id\":\"C-1\",\"invoice_id\":\"I-1\",\"currency\":\"EUR\","
                    "\"interest_minor\":86,\"compensation_minor\":4000,\"scheme\":"
                    "\"eu_late_payment\",\"days_late\":4}}}\n",
                    env);
    }
    fprintf(f,
            "{\"at\":\"2026-03-30T10:00:00.000Z\",\"topic\":\"events\",\"key\":\"acme/C-2\","
            "\"record\":{\"v\":1,\"id\":\"acme/inv/I-2/settled/P-9/settled\",%s,\"type\":"
            "\"invoice.settled\",\"time\":\"2026-03-30T10:00:00.000Z\",\"customer_id\":\"C-2\","
            "\"data\":{\"customer_id\":\"C-2\",\"invoice_id\":\"I-2\",\"currency\":\"EUR\","
            "\"paid_minor\":40000,\"forgiven_minor\":10000,\"offer\":\"settlement\"}}}\n",
            env);
    fclose(f);

    char *got = rep_t_run(ev, "--backtest", bt, err, sizeof err);
    assert_null(strstr(err, "backtest.jsonl:"));
    json_t *kpis = rep_t_report(got, "kpis");
    const json_t *cur = json_array_get(json_object_get(kpis, "currencies"), 0);
    assert_string_equal(json_string_value(json_object_get(cur, "currency")), "EUR");
    /* day, week, month: charged, waived, interest, compensation, forgiven,
     * discount, settlement */
    static const json_int_t want[3][7] = {
        {0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 10000, 0, 10000}, {1500, 0, 86, 4000, 10000, 0, 10000}};
    for (size_t p = 0; p < 3; p++) {
        const json_t *m =
            json_object_get(json_array_get(json_object_get(cur, "periods"), p), "money");
        assert_non_null(m);
        const json_t *by = json_object_get(m, "forgiven_by_offer");
        json_int_t got_p[7] = {
            rep_t_int(m, "fees_charged_minor"),     rep_t_int(m, "fees_waived_minor"),
            rep_t_int(m, "interest_claimed_minor"), rep_t_int(m, "compensation_claimed_minor"),
            rep_t_int(m, "forgiven_minor"),         rep_t_int(by, "discount_minor"),
            rep_t_int(by, "settlement_minor")};
        for (size_t i = 0; i < 7; i++)
            if (got_p[i] != want[p][i])
                fail_msg("period %zu, member %zu: %lld, expected %lld", p, i, (long long)got_p[i],
                         (long long)want[p][i]);
    }
    json_decref(kpis);
    free(got);
    unlink(bt);
    unlink(ev);
    rmdir(dir);
}

/* contact.logged as a dialer sends it (an inbound CloudEvent) through
 * replay's normaliser, with rep_t_inbound:
 *   C-3 conversation at 03-16 10:00+01:00 (09:00Z), no invoice_ids: filed
 *     under C-3's invoice open at the start of 03-16, I-3 (300.00, paid
 *     03-20 12:00, within 7 days: a response, and the contact that payment
 *     is attributed to);
 *   C-2 wrong_number at 03-17 10:00Z on I-2: not reached, failed.
 * Row ("", "", -1, call_task): sent 1, failed 1, contacted 1, responded 1,
 * recovered 300.00; no experiment (logged contacts have no variant). */
static void test_logged_replay(void **state)
{
    (void)state;
    static const char *const calls[] = {
        "{\"specversion\":\"1.0\",\"id\":\"call-1\",\"source\":\"dialer\",\"type\":"
        "\"contact.logged\",\"time\":\"2026-03-16T09:05:00Z\",\"tenant\":\"acme\",\"data\":"
        "{\"customer_id\":\"C-3\",\"channel\":\"call_task\",\"outcome\":\"conversation\","
        "\"at\":\"2026-03-16T10:00:00+01:00\",\"agent\":\"j.doe\",\"notes\":\"will pay\"}}",
        "{\"specversion\":\"1.0\",\"id\":\"call-2\",\"source\":\"dialer\",\"type\":"
        "\"contact.logged\",\"time\":\"2026-03-17T10:05:00Z\",\"tenant\":\"acme\",\"data\":"
        "{\"customer_id\":\"C-2\",\"channel\":\"call_task\",\"outcome\":\"wrong_number\","
        "\"at\":\"2026-03-17T10:00:00Z\",\"invoice_ids\":[\"I-2\"]}}"};
    char dir[] = "/tmp/rep-logged-XXXXXX", ev[64], co[64], err[2048];
    rep_t_events(dir, ev, calls, 2);
    snprintf(co, sizeof co, "%s/contacts.jsonl", dir);
    FILE *f = fopen(co, "w"); /* no outcomes */
    assert_non_null(f);
    fclose(f);
    char *got = rep_t_run(ev, "--contacts", co, err, sizeof err);
    assert_null(strstr(err, "events.jsonl:"));
    json_t *eff = rep_t_report(got, "effectiveness");
    assert_int_equal(json_array_size(json_object_get(eff, "rows")), 1);
    const json_t *row = rep_t_row(eff, "", -1, "call_task");
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "strategy")), "");
    assert_int_equal(rep_t_int(row, "sent"), 1);
    assert_int_equal(rep_t_int(row, "failed"), 1);
    assert_int_equal(rep_t_int(row, "contacted_invoices"), 1);
    assert_int_equal(rep_t_int(row, "responded_invoices"), 1);
    assert_int_equal(rep_t_recovered(row), 30000);
    assert_int_equal(json_array_size(json_object_get(eff, "experiments")), 0);
    json_decref(eff);
    free(got);
    unlink(co);
    unlink(ev);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledgers), cmocka_unit_test(test_backtest),
        cmocka_unit_test(test_logged_replay), cmocka_unit_test(test_backtest_money)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
