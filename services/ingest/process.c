/* process.c -- one inbound message to one canonical event or DLQ record.
 *
 * Design: the contract validates and normalizes (ct_validate); a refused
 * message becomes ingest's dead-letter record (ct_dlq_record), keyed and
 * produced like any other record by the batch loop. */
#include "ingest.h"

#include <stdio.h>

int ing_process(const ing_config *cfg, const ing_input *in, ing_result *out, char *errstr,
                size_t errlen)
{
    if (ct_validate(cfg, in, out, errstr, errlen) != 0)
        return -1;
    if (out->accepted)
        return 0;
    out->body = ct_dlq_record(cfg, in, &out->reasons, out->tenant, out->source, out->id, out->type,
                              &out->bodylen);
    if (!out->body) {
        snprintf(errstr, errlen, "out of memory building a DLQ record");
        return -1;
    }
    return 0;
}

void ing_result_clear(ing_result *r)
{
    ct_verdict_clear(r);
}

void ing_thread_cleanup(void)
{
    ct_thread_cleanup();
}
