/* fuzz_ingest.c -- libFuzzer target over ingest's parse, validate and
 * normalize path (ing_process), and the DLQ record it builds.
 *
 * Input framing: byte 0 holds flags; bit 0 set = Kafka binary mode: the
 * bytes up to the next NUL are headers, one "name:value" per line, and the
 * rest is the payload; bit 0 clear = structured mode: the rest is the
 * payload. Bit 1 lowers the size limit to 600 bytes, bit 2 the depth limit
 * to 4, so the limit paths are reached too.
 *
 * Invariants checked (abort on violation, which libFuzzer reports):
 *   - ing_process returns 0 (bad input is a result, never an error);
 *   - an accepted message yields a JSON object with v, id, tenant,
 *     customer_id and data, and a key "tenant/customer_id";
 *   - a rejected message has at least one reason, each message starting
 *     with its field name, and a DLQ record that is a JSON object;
 *   - the arena JSON reader (common/json.c) accepts exactly what jansson accepts
 *     with JSON_REJECT_DUPLICATES, on UTF-8 input without NUL bytes within
 *     the depth limit,
 *     and every string it writes reads back through jansson;
 *   - the readers of `events` (the scheduler and the reporter decode with
 *     ct_event_decode_bytes) answer any bytes without a crash, and decode
 *     every event ingest accepts. */
#include "../../services/ingest/ingest.h"
#include "event.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    ing_header hdr[MAX_HEADERS];
    char names[MAX_HEADERS][64];
    size_t nh = 0;
    if (flags & 1) {
        const char *end = memchr(p, 0, n);
        size_t hlen = end ? (size_t)(end - p) : n;
        const char *q = p, *hend = p + hlen;
        while (q < hend && nh < MAX_HEADERS) {
            const char *eol = memchr(q, '\n', (size_t)(hend - q));
            if (!eol)
                eol = hend;
            const char *colon = memchr(q, ':', (size_t)(eol - q));
            if (colon && colon - q < 63) {
                memcpy(names[nh], q, (size_t)(colon - q));
                names[nh][colon - q] = 0;
                hdr[nh].name = names[nh];
                hdr[nh].value = colon + 1;
                hdr[nh].len = (size_t)(eol - colon - 1);
                nh++;
            }
            q = eol + 1;
        }
        size_t skip = end ? hlen + 1 : hlen;
        p += skip;
        n -= skip;
    }
    /* differential: the hot-path reader against jansson */
    {
        static cm_json *jr;
        ct_reasons rs;
        rs.n = rs.dropped = 0;
        if (!jr)
            jr = cm_json_new();
        /* jansson treats a NUL byte as the end of input; the reader (rightly)
         * refuses trailing bytes, so inputs with NUL are not compared */
        if (n > 0 && !memchr(p, 0, n) && ct_scan(p, n, 64, "x", &rs) == 0) {
            char err[160];
            json_error_t je;
            const cm_jv *mine = cm_json_parse(jr, p, n, 64, err, sizeof err);
            json_t *ref = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
            if ((mine != NULL) != (ref != NULL)) {
                fprintf(stderr, "reader %s, jansson %s\n", mine ? "accepts" : err,
                        ref ? "accepts" : je.text);
                abort();
            }
            if (mine && mine->type == CM_JV_STRING) {
                cm_buf b = {NULL, 0, 0, 0};
                cm_buf_json_str(&b, mine->u.s, mine->n);
                json_t *back = json_loadb(b.p, b.len, JSON_DECODE_ANY, &je);
                if (!back || strcmp(json_string_value(back), mine->u.s) != 0)
                    abort();
                json_decref(back);
                cm_buf_free(&b);
            }
            json_decref(ref);
        }
    }
    static cm_json *er; /* the readers of `events`: any bytes are answered */
    ct_event ev;
    char everr[256];
    if (!er)
        er = cm_json_new();
    cm_json_clear(er);
    (void)ct_event_decode_bytes(er, p, n, &ev, everr, sizeof everr);
    ing_config cfg = {(flags & 2) ? 600 : ING_DEFAULT_MAX_BYTES,
                      (flags & 4) ? 4 : ING_DEFAULT_MAX_DEPTH};
    ing_input in = {n ? p : NULL, n, "k", 1, hdr, nh, "fuzz.inbound", 0, 42, 1772355600000LL};
    ing_result r;
    char err[256];
    if (ing_process(&cfg, &in, &r, err, sizeof err) != 0) {
        fprintf(stderr, "ing_process: %s\n", err);
        abort();
    }
    json_error_t e;
    json_t *j = json_loadb(r.body, r.bodylen, 0, &e);
    if (!j || !json_is_object(j))
        abort();
    if (r.accepted) {
        json_t *d = json_object_get(j, "data");
        const char *t = json_string_value(json_object_get(j, "tenant"));
        const char *c = json_string_value(json_object_get(j, "customer_id"));
        if (json_integer_value(json_object_get(j, "v")) != 1 || !json_is_object(d) || !t || !c ||
            !json_string_value(json_object_get(j, "id")) || strlen(r.trace_id) != 32)
            abort();
        size_t lt = strlen(t);
        if (strncmp(r.key, t, lt) != 0 || r.key[lt] != '/' || strcmp(r.key + lt + 1, c) != 0)
            abort();
        cm_json_clear(er);
        if (ct_event_decode_bytes(er, r.body, r.bodylen, &ev, everr, sizeof everr) != 0) {
            fprintf(stderr, "an accepted event does not decode: %s\n", everr);
            abort();
        }
    } else {
        if (r.reasons.n == 0)
            abort();
        for (size_t i = 0; i < r.reasons.n; i++) {
            size_t lf = strlen(r.reasons.r[i].field);
            if (strncmp(r.reasons.r[i].message, r.reasons.r[i].field, lf) != 0 ||
                r.reasons.r[i].message[lf] != ':')
                abort();
        }
        if (!json_is_array(json_object_get(j, "reasons")))
            abort();
    }
    json_decref(j);
    ing_result_clear(&r);
    return 0;
}
