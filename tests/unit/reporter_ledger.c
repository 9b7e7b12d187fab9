/* reporter_ledger.c -- a test ledger into a reporter state (see the
 * header). */
#include "reporter_ledger.h"

#include <stdio.h>
#include <stdlib.h>

rep_state *rep_t_ledger(const char *dir)
{
    char err[256], line[8192], path[512];
    rep_state *st = rep_state_new();
    FILE *f = NULL;
    if (!st)
        return NULL;
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    if (!(f = fopen(path, "r")))
        goto fail;
    while (fgets(line, sizeof line, f)) {
        json_t *in = json_loads(line, 0, NULL);
        json_t *c = in ? rep_normalize_inbound(in, err, sizeof err) : NULL;
        if (c)
            rep_state_apply_event(st, c, err, sizeof err);
        json_decref(c);
        json_decref(in);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/contacts.jsonl", dir);
    if (!(f = fopen(path, "r")))
        goto fail;
    while (fgets(line, sizeof line, f)) {
        json_t *c = json_loads(line, 0, NULL);
        if (c)
            rep_state_apply_contact(st, c, err, sizeof err);
        json_decref(c);
    }
    fclose(f);
    return st;
fail:
    rep_state_free(st);
    return NULL;
}

rep_state *rep_t_round_trip(const rep_state *st)
{
    char err[256], *buf = NULL;
    size_t len = 0;
    rep_state *back = NULL;
    if (rep_snapshot_encode(st, &buf, &len, err, sizeof err) < 0 ||
        !(back = rep_snapshot_decode(buf, len, err, sizeof err)))
        fprintf(stderr, "snapshot round trip: %s\n", err);
    free(buf);
    return back;
}

json_t *rep_t_event(const char *id, const char *type, const char *time, const char *data)
{
    json_t *d = json_loads(data, 0, NULL);
    if (!d)
        return NULL;
    json_t *e = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "v", 1, "id", id, "source", "t", "type",
                          type, "tenant", "t1", "time", time);
    json_t *cid = json_object_get(d, "customer_id");
    if (cid)
        json_object_set(e, "customer_id", cid);
    json_object_set_new(e, "data", d);
    return e;
}

json_t *rep_t_invoice(const char *id, const char *cust, long long minor, const char *issued,
                      const char *due)
{
    char data[512], at[32];
    snprintf(data, sizeof data,
             "{\"invoice_id\":\"%s\",\"customer_id\":\"%s\",\"currency\":\"EUR\","
             "\"amount_minor\":%lld,\"issued_on\":\"%s\",\"due_on\":\"%s\"}",
             id, cust, minor, issued, due);
    snprintf(at, sizeof at, "%sT08:00:00Z", issued);
    return rep_t_event(id, "invoice.issued", at, data);
}

json_t *rep_t_payment(const char *id, const char *cust, long long minor, const char *inv,
                      const char *at)
{
    char data[512];
    snprintf(data, sizeof data,
             "{\"payment_id\":\"%s\",\"customer_id\":\"%s\",\"currency\":\"EUR\","
             "\"amount_minor\":%lld,\"received_on\":\"%.10s\",\"received_at\":\"%s\","
             "\"allocations\":[{\"invoice_id\":\"%s\",\"amount_minor\":%lld}]}",
             id, cust, minor, at, at, inv, minor);
    return rep_t_event(id, "payment.received", at, data);
}
