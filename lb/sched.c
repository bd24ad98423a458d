/* sched: the registry of schedulers. The list is explicit: adding a scheduler means adding its
 * file to CMakeLists.txt, its ops table here and its name to sched_names(). test_sched checks
 * that the names are unique and that sched_names() lists exactly this table. (IPVS ip_vs_sched.c) */
#include <stddef.h>
#include <string.h>

#include "scheduler.h"

static const struct sched_ops *const sched_table[] = {
    &sched_rr_ops, &sched_wrr_ops, &sched_lc_ops, &sched_wlc_ops, &sched_sh_ops,
};

const struct sched_ops *sched_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof(sched_table) / sizeof(sched_table[0]); i++)
        if (strcmp(sched_table[i]->name, name) == 0) return sched_table[i];
    return NULL;
}

const char *sched_names(void)
{
    return "rr wrr lc wlc sh";
}
