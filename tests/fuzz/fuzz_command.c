/* fuzz_command.c -- libFuzzer target over the command decoder: the
 * notifier's path from a record's bytes to a ct_command
 * (ntf_command_parse, services/notifier/vars.c: the contract's record
 * reader, ct_record_parse, into an arena of the command's own, then
 * ct_command_decode, contract/command_decode.c), the
 * template variables derived from it (ntf_command_vars), and the
 * scheduler's encoder (ct_command_encode, contract/command.c) on what was
 * decoded.
 *
 * Input: the bytes are the record's value.
 *
 * Invariants checked (abort on violation, which libFuzzer reports):
 *   - a refused command has an error message;
 *   - an accepted command re-encodes (ct_command_encode) to JSON; when
 *     the decoder accepts that again, encoding the second decode gives
 *     the same bytes: the encoder and the decoder agree on every member
 *     (the first encoding may differ from the input: members a
 *     hand-written command leaves out decode as CT_DAY_NONE or
 *     CT_MINOR_NONE, which the encoder, checking nothing, writes out);
 *   - ntf_command_vars on an accepted command gives an object, or fails
 *     with an error message;
 *   - the record written back from its tree (cm_jv_write, what a webhook
 *     and a task record carry) reads again, and writing that again gives
 *     the same bytes;
 * and every allocation is freed (ASan's leak check). */
#include "../../services/notifier/vars.h"

#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ntf_command cmd, again; /* about 16 KiB each */
    char err[512];
    err[0] = 0;
    if (ntf_command_parse(data, size, &cmd, err, sizeof err) != 0) {
        if (!err[0])
            abort();
        ntf_command_free(&cmd);
        return 0;
    }
    cm_buf a = CM_BUF_INIT, b = CM_BUF_INIT;
    if (cm_jv_write(&a, cmd.root) != 0)
        abort();
    cm_json *j = cm_json_new();
    const cm_jv *back = j ? cm_json_parse(j, a.p, a.len, CT_READ_MAX_DEPTH, err, sizeof err) : NULL;
    if (!back || cm_jv_write(&b, back) != 0 || a.len != b.len || memcmp(a.p, b.p, a.len) != 0) {
        fprintf(stderr, "write(read(write(tree))) differs or does not read: %s\n%.*s\n",
                back ? "" : err, (int)a.len, a.p);
        abort();
    }
    cm_json_free(j);
    cm_buf_reset(&a);
    cm_buf_reset(&b);
    if (ct_command_encode(&cmd.c, &a) != 0 || a.oom)
        abort();
    /* a hand-written command may leave members out, which decode as
     * CT_DAY_NONE / CT_MINOR_NONE and encode as such (the encoder checks
     * nothing); what the decoder accepts of the encoding is a fixed point */
    if (ntf_command_parse(a.p, a.len, &again, err, sizeof err) == 0 &&
        (ct_command_encode(&again.c, &b) != 0 || a.len != b.len || memcmp(a.p, b.p, a.len) != 0)) {
        fprintf(stderr, "encode(decode(encode(c))) differs:\n%.*s\n%.*s\n", (int)a.len, a.p,
                (int)b.len, b.p);
        abort();
    }
    err[0] = 0;
    json_t *vars = ntf_command_vars(&cmd, NULL, NULL, err, sizeof err);
    if (vars ? !json_is_object(vars) : !err[0])
        abort();
    json_decref(vars);
    cm_buf_free(&a);
    cm_buf_free(&b);
    ntf_command_free(&again);
    ntf_command_free(&cmd);
    return 0;
}
