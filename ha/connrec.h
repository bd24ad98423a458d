/* connrec: a connection entry as a record by address and port (struct ha_record) and back. An
 * entry that leaves the process (HA's connection sync, the table saved across a planned restart)
 * names its service and real server by address and port, never by this process's indexes, and
 * comes back into a table set whose indexes and owners may differ. */
#ifndef RAWLB_CONNREC_H
#define RAWLB_CONNREC_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "hamsg.h"
#include "service.h"

/* The record of entry c of table t: kind HA_REC_UPSERT (with its remaining lifetime) or
 * HA_REC_DELETE. */
void connrec_of(const struct conn_table *t, const struct conn *c, uint8_t kind, struct ha_record *r);

/* Which table an entry belongs in (its worker's: flowworker.h). */
typedef struct conn_table *(*connrec_table_fn)(void *arg, const struct conn *entry);

/* The entry r describes, in services' indexes, and the table it belongs in (table_of's answer,
 * where its persistence template is looked up too); false when its service or real server is not
 * here, or its state cannot be one of its kind. */
bool connrec_entry(const struct service_table *services, connrec_table_fn table_of, void *arg,
                   const struct ha_record *r, struct conn *e, struct conn_table **t);

#endif
