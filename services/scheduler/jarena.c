/* jarena.c -- bump allocation for the jansson trees of consumed events (see
 * jarena.h). One virtual reservation (MAP_NORESERVE: pages are committed
 * when first touched), SCH_JARENA_SLOTS equal regions; a slot's offset is
 * only touched by the thread that has it armed, or by the releasing thread
 * after that one was joined. */
#include "jarena.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define REGION (256UL << 20)

static char *base; /* NULL: not installed */
static size_t used[SCH_JARENA_SLOTS];
static _Thread_local int armed = -1;
static _Thread_local int on;

static void *jmalloc(size_t n)
{
    if (on && armed >= 0) {
        size_t need = (n + 15) & ~(size_t)15;
        if (used[armed] + need <= REGION) {
            void *p = base + (size_t)armed * REGION + used[armed];
            used[armed] += need;
            return p;
        }
    }
    return malloc(n); /* region full (a freak batch): the heap */
}

static void jfree(void *p)
{
    if (base && (char *)p >= base && (char *)p < base + SCH_JARENA_SLOTS * REGION)
        return;
    free(p);
}

int sch_jarena_install(void)
{
    if (base)
        return 0;
    void *m = mmap(NULL, SCH_JARENA_SLOTS * REGION, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    base = m;
    json_set_alloc_funcs(jmalloc, jfree);
    return 0;
}

void sch_jarena_arm(int s)
{
    armed = base && s >= 0 && s < SCH_JARENA_SLOTS ? s : -1;
}

void sch_jarena_begin(void)
{
    on = 1;
}

void sch_jarena_end(void)
{
    on = 0;
}

void sch_jarena_reset(int s)
{
    if (s >= 0 && s < SCH_JARENA_SLOTS)
        used[s] = 0;
}
