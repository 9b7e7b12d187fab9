/* fuzz_template.c -- libFuzzer target over the notifier's template
 * renderer (ntf_render, services/notifier/render.c) with the variables
 * the notifier derives from a command (ntf_command_vars, vars.c).
 *
 * Input framing: byte 0 holds flags; bit 0 set = HTML (every inserted
 * value escaped), bit 1 = the variables formatted for de-DE instead of the
 * command's en-GB. The rest is the template text.
 *
 * The variables come from one fixed command, a grouped reminder of five
 * invoices in two currencies (tests/data/notifier/render/
 * en_gb_five_invoices_two_currencies/command.json, read once; the fuzzer
 * runs from the repository root, as tests/fuzz/run does), plus tenant
 * variables of which one is hostile ("evil": markup, quotes, CRLF).
 *
 * Invariants checked (abort on violation, which libFuzzer reports):
 *   - a refused template has an error message;
 *   - in HTML, no inserted value adds markup: when the template text has
 *     no '<' neither has the output;
 *   - the output is never longer than the render budget allows
 *     (NTF_RENDER_MAX_OUT);
 * and every allocation is freed (ASan's leak check). */
#include "../../services/notifier/render.h"
#include "../../services/notifier/vars.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define COMMAND "tests/data/notifier/render/en_gb_five_invoices_two_currencies/command.json"

static json_t *vars_for(int de)
{
    static json_t *vars[2];
    static ntf_command cmd;
    static int ready;
    char err[256];
    if (!ready) {
        FILE *f = fopen(COMMAND, "rb");
        char buf[65536];
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        if (n == 0 || ntf_command_parse(buf, n, &cmd, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz_template: %s: %s\n", COMMAND, n ? err : "unreadable");
            abort();
        }
        ready = 1;
    }
    if (!vars[de]) {
        json_t *extra = json_pack("{s:s, s:s, s:s}", "company", "Acme Ltd", "pay_url",
                                  "https://pay.example.com/p/abc?x=1&y=2", "evil",
                                  "<script>alert('x')</script>\"&\r\nBcc: a@b.c");
        vars[de] = ntf_command_vars(&cmd, extra, de ? "de-DE" : NULL, err, sizeof err);
        json_decref(extra);
        if (!vars[de]) {
            fprintf(stderr, "fuzz_template: vars: %s\n", err);
            abort();
        }
    }
    return vars[de];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int html = data[0] & 1;
    json_t *vars = vars_for((data[0] >> 1) & 1);
    size_t n = size - 1;
    char *tpl = malloc(n + 1), err[256];
    if (!tpl)
        return 0;
    memcpy(tpl, data + 1, n);
    tpl[n] = 0;
    cm_buf out = CM_BUF_INIT;
    err[0] = 0;
    if (ntf_render(tpl, n, vars, html, &out, err, sizeof err) != 0) {
        if (!err[0])
            abort();
    } else {
        if (out.len > NTF_RENDER_MAX_OUT)
            abort();
        if (html && !memchr(tpl, '<', n) && out.len && memchr(out.p, '<', out.len))
            abort();
    }
    cm_buf_free(&out);
    free(tpl);
    return 0;
}
