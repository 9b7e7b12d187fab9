/* jarena.h -- bump allocation for the jansson trees of consumed events.
 *
 * Parsing a batch of events with jansson is thousands of small mallocs and,
 * when the batch is released, as many frees; with the allocator's
 * consolidation this was a large share of the scheduler's CPU. Installed,
 * jansson allocates from a per-batch region while a thread has a slot armed
 * and is between sch_jarena_begin and sch_jarena_end (around json_loadb
 * only); every other allocation goes to malloc. Frees of region memory are
 * no-ops; the region is reused when its batch is released.
 *
 * Ownership: a tree parsed into slot s (and anything allocated inside it)
 * must not be used after sch_jarena_reset(s). json_decref of such a tree is
 * still correct (heap parts added later are freed). */
#ifndef SCH_JARENA_H
#define SCH_JARENA_H

#define SCH_JARENA_SLOTS 2

/* Reserves the regions and installs the allocator with json_set_alloc_funcs.
 * Call before any jansson allocation of the process. -1 (allocator left
 * alone) if the regions cannot be reserved. */
int sch_jarena_install(void);
/* Arms slot s for this thread (-1 disarms). */
void sch_jarena_arm(int s);
/* Region allocation on/off for this thread (no-op when nothing is armed or
 * installed). */
void sch_jarena_begin(void);
void sch_jarena_end(void);
/* Makes slot s's region reusable: its trees are dead. */
void sch_jarena_reset(int s);

#endif
