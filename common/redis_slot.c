/* redis_slot.c -- CRC16 and hash-tag slots of the Redis cluster spec.
 *
 * Design: the bitwise CRC (8 shifts a byte) rather than a 512-byte table:
 * keys are short and a route costs one key hash per command, far below
 * the round trip it saves. */
#include "redis_slot.h"

#include <string.h>

uint16_t cm_redis_crc16(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

int cm_redis_key_slot(const void *key, size_t len)
{
    const char *k = key;
    const char *open = len ? memchr(k, '{', len) : NULL;
    if (open) {
        size_t from = (size_t)(open - k) + 1;
        const char *close = memchr(k + from, '}', len - from);
        if (close && close > k + from)
            return cm_redis_crc16(k + from, (size_t)(close - (k + from))) & (CM_REDIS_SLOTS - 1);
    }
    return cm_redis_crc16(k, len) & (CM_REDIS_SLOTS - 1);
}
