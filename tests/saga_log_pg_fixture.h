/*  saga_log_pg_fixture.h - a suite's saga log on a throwaway PostgreSQL cluster
    s_setup starts the cluster and opens s_log on its "coordinator" database (s_uri); s_teardown undoes both.

    Header-only, for the .init and .fini of the PostgreSQL saga log's suites
    (tests/test_saga_log_pg*.c): it defines their statics.
*/
#ifndef CK_SAGA_LOG_PG_FIXTURE_H_INCLUDED
#define CK_SAGA_LOG_PG_FIXTURE_H_INCLUDED

#include <criterion/criterion.h>
#include "pg_helpers.h"
#include "saga_log.h"

static pg_cluster_t s_cluster;
static char s_uri [256];
static saga_log_t *s_log;

static void
s_setup (void)
{
    cr_assert_eq (pg_cluster_start (&s_cluster), 0, "the throwaway PostgreSQL starts");
    cr_assert_eq (pg_cluster_createdb (&s_cluster, "coordinator", s_uri, sizeof s_uri), 0);
    s_log = saga_log_new (s_uri, NULL);
    cr_assert_not_null (s_log);
}

static void
s_teardown (void)
{
    saga_log_destroy (&s_log);
    pg_cluster_stop (&s_cluster);
}

#endif
