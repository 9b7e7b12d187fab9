/* produce.c -- the scheduler benchmark's event generator: publishes
 * customer.upserted and invoice.issued canonical events on a topic, keyed
 * tenant/customer_id, as fast as librdkafka allows (compiled by
 * bench/scheduler/run against build/libcommon.a).
 *
 *   produce BROKERS TOPIC TENANT N_INVOICES PER_CUSTOMER FIRST_DUE NDAYS NZONES
 *
 * Invoice i belongs to customer i / PER_CUSTOMER, is due FIRST_DUE + (i % NDAYS)
 * days, and its customer lives in zone Etc/GMT<offset> number
 * (customer % NZONES) of 27 whole-hour zones (no DST), so timers spread over
 * NDAYS x NZONES distinct instants. Prints the number of records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "kafka.h"

static const char *const zones[] = {
    "Etc/GMT+12", "Etc/GMT+11", "Etc/GMT+10", "Etc/GMT+9",  "Etc/GMT+8",  "Etc/GMT+7", "Etc/GMT+6",
    "Etc/GMT+5",  "Etc/GMT+4",  "Etc/GMT+3",  "Etc/GMT+2",  "Etc/GMT+1",  "UTC",       "Etc/GMT-1",
    "Etc/GMT-2",  "Etc/GMT-3",  "Etc/GMT-4",  "Etc/GMT-5",  "Etc/GMT-6",  "Etc/GMT-7", "Etc/GMT-8",
    "Etc/GMT-9",  "Etc/GMT-10", "Etc/GMT-11", "Etc/GMT-12", "Etc/GMT-13", "Etc/GMT-14"};

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr,
                "usage: produce BROKERS TOPIC TENANT N PER_CUSTOMER FIRST_DUE NDAYS NZONES\n");
        return 2;
    }
    const char *brokers = argv[1], *topic = argv[2], *tenant = argv[3];
    long n = atol(argv[4]), per = atol(argv[5]), ndays = atol(argv[7]), nz = atol(argv[8]);
    int32_t first;
    char err[512], key[128], buf[1024], due[16];
    cm_kafka_dr dr;
    memset(&dr, 0, sizeof dr);
    if (n <= 0 || per <= 0 || ndays <= 0 || nz <= 0 || nz > 27 ||
        cm_date_parse(argv[6], &first) < 0) {
        fprintf(stderr, "produce: bad arguments\n");
        return 2;
    }
    rd_kafka_t *rk = cm_kafka_producer_new(brokers, "sch-bench", &dr, 20, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "produce: %s\n", err);
        return 1;
    }
    long records = 0;
    for (long i = 0; i < n; i++) {
        long c = i / per;
        snprintf(key, sizeof key, "%s/C%07ld", tenant, c);
        int len;
        if (i % per == 0) {
            len = snprintf(
                buf, sizeof buf,
                "{\"v\":1,\"id\":\"bc-%ld\",\"source\":\"bench\",\"type\":\"customer.upserted\","
                "\"tenant\":\"%s\",\"time\":\"2026-01-01T00:00:00.000Z\",\"customer_id\":\"C%"
                "07ld\","
                "\"data\":{\"customer_id\":\"C%07ld\",\"name\":\"Debtor "
                "%ld\",\"email\":\"ap%ld@bench.test\","
                "\"timezone\":\"%s\",\"locale\":\"en-GB\",\"country\":\"GB\",\"channels\":["
                "\"email\"],"
                "\"opted_out\":[],\"tags\":[]}}",
                c, tenant, c, c, c, c, zones[c % nz]);
            if (cm_kafka_produce(rk, topic, key, strlen(key), buf, (size_t)len, NULL, err,
                                 sizeof err) < 0) {
                fprintf(stderr, "produce: %s\n", err);
                return 1;
            }
            records++;
        }
        cm_date_format(first + (int32_t)(i % ndays), due, sizeof due);
        len = snprintf(
            buf, sizeof buf,
            "{\"v\":1,\"id\":\"bi-%ld\",\"source\":\"bench\",\"type\":\"invoice.issued\","
            "\"tenant\":\"%s\",\"time\":\"2026-01-01T00:00:00.000Z\",\"customer_id\":\"C%07ld\","
            "\"data\":{\"invoice_id\":\"I%08ld\",\"customer_id\":\"C%07ld\",\"number\":\"I%08ld\","
            "\"currency\":\"EUR\",\"amount_minor\":%ld,\"issued_on\":\"2026-01-01\",\"due_on\":\"%"
            "s\"}}",
            i, tenant, c, i, c, i, 1000 + i % 100000, due);
        if (cm_kafka_produce(rk, topic, key, strlen(key), buf, (size_t)len, NULL, err, sizeof err) <
            0) {
            fprintf(stderr, "produce: %s\n", err);
            return 1;
        }
        records++;
        if (records % 100000 == 0)
            rd_kafka_poll(rk, 0);
    }
    if (cm_kafka_wait_delivered(rk, &dr, 120000, err, sizeof err) < 0) {
        fprintf(stderr, "produce: %s\n", err);
        return 1;
    }
    rd_kafka_destroy(rk);
    printf("%ld\n", records);
    return 0;
}
