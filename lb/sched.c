/* sched: the registry of schedulers and of their -b flags. The lists are explicit: adding a
 * scheduler means adding its file to CMakeLists.txt, its ops table here and its name to
 * sched_names(); adding a flag, its bit (scheduler.h), its row here and its bit in its
 * scheduler's ops.flags. test_sched checks that the names are unique and that sched_names() lists
 * exactly this table. (IPVS ip_vs_sched.c; the flag names are ipvsadm's) */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"

static const struct sched_ops *const sched_table[] = {
    &sched_rr_ops, &sched_wrr_ops, &sched_lc_ops, &sched_wlc_ops, &sched_sh_ops, &sched_mh_ops,
};

/* In ipvsadm's order (its IP_VS_SVC_F_SCHED1, then SCHED2), which -S and -L print. */
static const struct {
    const char *name;
    unsigned bit;
    const struct sched_ops *owner;
} flag_table[] = {
    {"mh-fallback", SCHED_FLAG_MH_FALLBACK, &sched_mh_ops},
    {"mh-port", SCHED_FLAG_MH_PORT, &sched_mh_ops},
};
#define N_FLAGS (sizeof flag_table / sizeof flag_table[0])

/* ipvsadm's flags for its sh, refused by name: rawlb's sh hashes the address alone and always
 * falls back (sched_sh.c), so neither flag would change what it does. */
static const char *const ipvsadm_sh_flags[] = {"sh-fallback", "sh-port"};

const struct sched_ops *sched_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof(sched_table) / sizeof(sched_table[0]); i++)
        if (strcmp(sched_table[i]->name, name) == 0) return sched_table[i];
    return NULL;
}

const char *sched_names(void)
{
    return "rr wrr lc wlc sh mh";
}

/* One word of a -b list (len bytes at word) into *bit. */
static bool flag_word(const char *word, size_t len, unsigned *bit, char *why, size_t whylen)
{
    for (size_t i = 0; i < N_FLAGS; i++)
        if (strlen(flag_table[i].name) == len && strncmp(flag_table[i].name, word, len) == 0) {
            *bit = flag_table[i].bit;
            return true;
        }
    for (size_t i = 0; i < sizeof ipvsadm_sh_flags / sizeof ipvsadm_sh_flags[0]; i++)
        if (strlen(ipvsadm_sh_flags[i]) == len && strncmp(ipvsadm_sh_flags[i], word, len) == 0) {
            snprintf(why, whylen, "'%.*s' is ipvsadm's flag for sh, which rawlb's sh does not take (it hashes the "
                     "client address alone and always falls back to the next bucket; -s mh takes mh-port and "
                     "mh-fallback)", (int)len, word);
            return false;
        }
    if (len == 0)
        snprintf(why, whylen, "an empty flag");
    else
        snprintf(why, whylen, "unknown scheduler flag '%.*s' (known: mh-port mh-fallback)", (int)len, word);
    return false;
}

bool sched_flags_parse(const char *list, unsigned *flags, char *why, size_t whylen)
{
    unsigned out = 0;
    for (const char *w = list;;) {
        size_t len = strcspn(w, ",");
        unsigned bit;
        if (!flag_word(w, len, &bit, why, whylen))
            return false;
        out |= bit;
        if (w[len] == '\0')
            break;
        w += len + 1;
    }
    *flags = out;
    return true;
}

bool sched_flags_fit(const struct sched_ops *ops, unsigned flags, char *why, size_t whylen)
{
    for (size_t i = 0; i < N_FLAGS; i++)
        if ((flags & flag_table[i].bit) && !(ops->flags & flag_table[i].bit)) {
            snprintf(why, whylen, "'%s' is a flag of the %s scheduler, not of %s", flag_table[i].name,
                     flag_table[i].owner->name, ops->name);
            return false;
        }
    return true;
}

const char *sched_flags_str(unsigned flags, char *buf)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_FLAGS; i++)
        if (flags & flag_table[i].bit)
            n += (size_t)snprintf(buf + n, SCHED_FLAGS_STRLEN - n, "%s%s", n ? "," : "", flag_table[i].name);
    return buf;
}

void sched_free_data(struct service *svc)
{
    free(svc->sched_data);
    svc->sched_data = NULL;
}
