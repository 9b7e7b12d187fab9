/* parse.c -- the baseline of `make bench-backtest`: a jansson parse of
 * every line of a ledger file and nothing else.
 *
 *   parse FILE.jsonl
 *
 * Reads FILE line by line with getline (as the backtest reads it), strips
 * the line end, parses the line with json_loadb (flags 0, as the backtest's
 * own parse of an accepted event) and frees it with json_decref. Empty
 * lines are skipped, as the backtest skips them. Exits 1 on the first line
 * that does not parse (the baseline must do the same work as the run it is
 * compared with: a ledger the backtest accepts whole).
 * Prints "parse: N lines in S s (R lines/s)", timed from open to close. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: parse FILE.jsonl\n");
        return 2;
    }
    double t0 = now_s();
    FILE *in = fopen(argv[1], "r");
    if (!in) {
        perror(argv[1]);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lines = 0, lineno = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (n == 0)
            continue;
        json_error_t je;
        json_t *v = json_loadb(line, (size_t)n, 0, &je);
        if (!v) {
            fprintf(stderr, "parse: %s:%ld: %s\n", argv[1], lineno, je.text);
            rc = 1;
            break;
        }
        json_decref(v);
        lines++;
    }
    if (ferror(in)) {
        perror(argv[1]);
        rc = 1;
    }
    free(line);
    fclose(in);
    double secs = now_s() - t0;
    printf("parse: %ld lines in %.3f s (%.0f lines/s)\n", lines, secs,
           secs > 0 ? (double)lines / secs : 0.0);
    return rc;
}
