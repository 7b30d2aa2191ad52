/*  bench_verify.h - W1's invariants, checked in the SQLite files after a run
    Every checkout against its saga and the participants' rows; stock; counts.

    Reads DIR/coordinator.db, inventory.db, payment.db and order.db, read
    only, through one connection (the participants' files are attached), so
    it may run while the processes are still up; for a process on
    PostgreSQL, DIR/<name>.uri holds its database's libpq URI instead.
    Checks:
    - exactly one saga per checkout_id of the range, with its state row;
    - a confirmed checkout: 1 held reservation, 1 authorized authorization,
      1 order; a failed one: reservation released or never made,
      authorization voided or never made, no order; none still running;
    - each checkout ended as W1 plans, and the counts per outcome match;
    - stock conservation for every SKU: initial (W1_INITIAL_STOCK, SKU-OOS
      0) - sum of held reservation lines == available;
    - no held reservation, authorization or order of a saga no checkout has.
*/
#ifndef BENCH_VERIFY_H_INCLUDED
#define BENCH_VERIFY_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *data_dir;               //  holds the four .db files
    const char *prefix;                 //  in front of W1's ids; NULL for none
    uint64_t first;                     //  range of checkouts, when range_given
    uint64_t count;
    bool range_given;                   //  false: every W1 id in coordinator.db
    uint32_t max_shown;                 //  violations printed; 0: all
} bench_verify_config_t;

//  Checks every invariant, printing one "violation: ..." line per breach
//  and a summary line on out.  Returns the number of violations (0 when
//  all hold), or -1 when the files can't be read (reported on out).
int64_t bench_verify_run (const bench_verify_config_t *config, FILE *out);

#ifdef __cplusplus
}
#endif

#endif
