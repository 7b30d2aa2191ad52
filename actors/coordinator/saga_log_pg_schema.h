/*  saga_log_pg_schema.h - the saga log's tables on PostgreSQL
    What saga_log_pg.c opens: the tables, the version, the partition count.
*/
#ifndef SAGA_LOG_PG_SCHEMA_H_INCLUDED
#define SAGA_LOG_PG_SCHEMA_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "pg.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The phases, written as the partial indexes' conditions are
#define SAGA_LOG_PG_ACTIVE "phase IN ('running', 'compensating')"
#define SAGA_LOG_PG_TERMINAL "phase IN ('confirmed', 'failed')"
//  The SQLSTATE of a fenced-out commit (saga_log_fence)
#define SAGA_LOG_PG_FENCED "CKF01"

//  Creates the tables of a new log, or checks an existing one's version,
//  and records the partition count partitions (0: the one recorded, or
//  CK_DEFAULT_PARTITIONS) or checks it against the recorded one, all in
//  one transaction under the schema lock; sets *count.  Returns 0, or -1
//  after logging (*refused when the log is another version or has another
//  count; the transaction is left for the caller to roll back).
int saga_log_pg_schema (pg_t *pg, uint32_t partitions, uint32_t *count, bool *refused);

#ifdef __cplusplus
}
#endif

#endif
