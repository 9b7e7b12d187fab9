/* redis_slot.h -- the Redis Cluster key slot: CRC16 (XMODEM) of the key's
 * hash tag, mod 16384, as the Redis cluster specification defines it.
 *
 * Pure functions on caller-owned bytes: nothing is allocated or freed. */
#ifndef CM_REDIS_SLOT_H
#define CM_REDIS_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define CM_REDIS_SLOTS 16384

/* CRC16-CCITT XMODEM (polynomial 0x1021, initial value 0, no reflection,
 * no final XOR): "123456789" -> 0x31C3. */
uint16_t cm_redis_crc16(const void *buf, size_t len);

/* The slot of a key (0..16383). The hash tag: when the key has a '{' and
 * a later '}' with at least one byte between the first '{' and the first
 * '}' after it, only those bytes are hashed; else the whole key. */
int cm_redis_key_slot(const void *key, size_t len);

#endif
