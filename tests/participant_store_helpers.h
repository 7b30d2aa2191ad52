/*  participant_store_helpers.h - what the participant store tests share
    Reading one integer back from a participant's store.
*/
#ifndef PARTICIPANT_STORE_HELPERS_H_INCLUDED
#define PARTICIPANT_STORE_HELPERS_H_INCLUDED

#include <criterion/criterion.h>
#include "participant_store.h"

//  The first column of the one row sql returns, asserted to exist
static inline int64_t
pst_query_int (participant_store_t *store, const char *sql)
{
    sqlite3_stmt *stmt = store_prepare (participant_store_store (store), sql);
    cr_assert_not_null (stmt, "sql: %s", sql);
    cr_assert_eq (sqlite3_step (stmt), SQLITE_ROW, "sql: %s", sql);
    int64_t value = sqlite3_column_int64 (stmt, 0);
    sqlite3_reset (stmt);
    return value;
}

#endif
