/* genledger.c -- arrears-genledger: a deterministic, realistic ledger of
 * billing events as CloudEvents JSON lines (the demo's input, and usable as
 * backtest input).
 *
 *   arrears-genledger [--customers N] [--invoices N] [--days N]
 *                     [--start YYYY-MM-DD] [--seed N] [--tenant T]
 *                     [--source S] [--mix full|simple] [--out FILE] [--quiet]
 *
 * Design: the generator is genledger_lib.c (libtools); this file parses the
 * options, writes the ledger and prints a summary by type and behaviour. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "contract.h"
#include "genledger_lib.h"
#include "tz.h"

static void tool_gl_usage(FILE *f)
{
    fprintf(f, "usage: arrears-genledger [options]\n"
               "Writes a deterministic ledger of billing events (CloudEvents 1.0 JSON lines,\n"
               "sorted by time) for arrears-publish or a backtest.\n\n"
               "  --customers N     customers (default 2000)\n"
               "  --invoices N      invoices (default 20000)\n"
               "  --days N          simulated days (default 120)\n"
               "  --start DATE      first simulated day, YYYY-MM-DD (default 2026-01-05)\n"
               "  --seed N          PRNG seed (default 42); same seed, same bytes\n"
               "  --tenant T        CloudEvents tenant extension (default demo)\n"
               "  --source S        CloudEvents source (default billing-demo)\n"
               "  --mix full|simple behaviour mix (default full; simple = no promises,\n"
               "                    disputes, opt-outs or key accounts)\n"
               "  --out FILE        output file (default stdout)\n"
               "  --quiet           no summary on stderr\n"
               "  --help, --version\n");
}

static int tool_gl_long(const char *name, const char *v, long lo, long hi, long *out)
{
    char *end;
    long x;
    errno = 0;
    x = strtol(v ? v : "", &end, 10);
    if (!v || !*v || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "arrears-genledger: %s: expected an integer in [%ld, %ld], got '%s'\n",
                name, lo, hi, v ? v : "");
        return -1;
    }
    *out = x;
    return 0;
}

int main(int argc, char **argv)
{
    tool_gl_opts o = {2000, 20000, 120, 0, 42, "demo", "billing-demo", 0};
    tool_gl_stats st;
    const char *outpath = NULL;
    int quiet = 0;
    FILE *out = stdout;
    char err[512];

    cm_date_parse("2026-01-05", &o.start_day);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            tool_gl_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("arrears-genledger %s\n", ARREARS_VERSION);
            return 0;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "arrears-genledger: %s needs a value (see --help)\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--customers")) {
            if (tool_gl_long(a, v, 1, 10000000, &x) != 0)
                return 2;
            o.customers = x;
        } else if (!strcmp(a, "--invoices")) {
            if (tool_gl_long(a, v, 0, 50000000, &x) != 0)
                return 2;
            o.invoices = x;
        } else if (!strcmp(a, "--days")) {
            if (tool_gl_long(a, v, 1, 3650, &x) != 0)
                return 2;
            o.days = x;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            o.seed = strtoull(v, &end, 10);
            if (!*v || *end || errno || *v == '-') {
                fprintf(stderr,
                        "arrears-genledger: --seed: expected an unsigned integer, got '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--start")) {
            if (cm_date_parse(v, &o.start_day) != 0) {
                fprintf(stderr, "arrears-genledger: --start: not a date (YYYY-MM-DD): '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--tenant")) {
            o.tenant = v;
        } else if (!strcmp(a, "--source")) {
            o.source = v;
        } else if (!strcmp(a, "--mix")) {
            if (strcmp(v, "full") && strcmp(v, "simple")) {
                fprintf(stderr, "arrears-genledger: --mix: expected full or simple, got '%s'\n", v);
                return 2;
            }
            o.simple = !strcmp(v, "simple");
        } else if (!strcmp(a, "--out") || !strcmp(a, "-o")) {
            outpath = v;
        } else {
            fprintf(stderr, "arrears-genledger: unknown option %s (see --help)\n", a);
            return 2;
        }
    }
    if (!*o.tenant || !*o.source) {
        fprintf(stderr, "arrears-genledger: --tenant and --source must not be empty\n");
        return 2;
    }
    if (outpath && !(out = fopen(outpath, "w"))) {
        fprintf(stderr, "arrears-genledger: %s: %s\n", outpath, strerror(errno));
        return 1;
    }
    if (tool_genledger_write(&o, out, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "arrears-genledger: %s\n", err);
        if (outpath)
            fclose(out);
        return 1;
    }
    if (outpath && fclose(out) != 0) {
        fprintf(stderr, "arrears-genledger: %s: %s\n", outpath, strerror(errno));
        return 1;
    }
    if (!quiet) {
        fprintf(stderr,
                "arrears-genledger: %ld events (%ld after the last day left out):", st.events,
                st.dropped);
        for (int i = 0; i < TOOL_GL_EV_NTYPES; i++)
            fprintf(stderr, " %s=%ld", ct_type_name(tool_gl_types[i]), st.by_type[i]);
        fprintf(stderr, "\narrears-genledger: invoice behaviours:");
        for (int i = 0; i < TOOL_GL_B_N; i++)
            fprintf(stderr, " %s=%ld", tool_gl_behaviour_names[i], st.by_behaviour[i]);
        fprintf(stderr, "\n");
    }
    cm_tz_cache_free();
    return 0;
}
