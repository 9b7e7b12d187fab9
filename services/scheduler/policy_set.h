/* policy_set.h -- the policies of every tenant: one file for all
 * (ARREARS_POLICY) or a directory of <tenant>.json plus default.json
 * (ARREARS_POLICY_DIR), loaded whole or not at all (policy_set.c).
 *
 * Ownership: the set owns its entries and their policies; a pointer from
 * sch_policy_set_for lives as long as the set. */
#ifndef SCH_POLICY_SET_H
#define SCH_POLICY_SET_H

#include <stddef.h>
#include <stdint.h>

#include "contract.h"
#include "policy.h"

typedef struct sch_policy_set_entry {
    char tenant[CT_TENANT_MAX + 1]; /* "" for the default */
    sch_policy *pol;
    uint64_t version; /* FNV-1a 64 of the file's bytes */
} sch_policy_set_entry;

typedef struct sch_policy_set {
    sch_policy_set_entry *v; /* v[0] the default, then by tenant */
    int n;
} sch_policy_set;

/* One file for every tenant. 0, or -1 with "<file>: <error>". */
int sch_policy_set_load_file(sch_policy_set *s, const char *path, char *errstr, size_t errlen);
/* Every *.json of dir: default.json (required) and <tenant>.json. 0, or -1
 * with every error, one per line ("<file>: policy <path>: <rule>"); on -1
 * *s is empty. */
int sch_policy_set_load_dir(sch_policy_set *s, const char *dir, char *errstr, size_t errlen);
/* tenant's policy, else the default's (NULL only for an empty set). */
const sch_policy *sch_policy_set_for(const sch_policy_set *s, const char *tenant);
/* "default=<16 hex> acme=<16 hex> ...": the versions, for logs and /readyz. */
void sch_policy_set_describe(const sch_policy_set *s, char *buf, size_t len);
void sch_policy_set_free(sch_policy_set *s);

#endif
