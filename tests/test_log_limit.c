/*  test_log_limit.c - rate-limited warnings
    A burst of one kind logs LOG_LIMIT_LINES lines, then one summary of the rest.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include "log_limit.h"

static FILE *s_stream;

static void
s_init (void)
{
    s_stream = tmpfile ();
    cr_assert_not_null (s_stream);
    zsys_init ();
    zsys_set_logstream (s_stream);
}

static void
s_fini (void)
{
    zsys_set_logstream (stdout);
    fclose (s_stream);
}

TestSuite (log_limit, .init = s_init, .fini = s_fini, .timeout = 20);

//  Lines written to the log stream so far, and a copy of the text
static size_t
s_lines (char *text, size_t size)
{
    fflush (s_stream);
    long end = ftell (s_stream);
    rewind (s_stream);
    size_t got = fread (text, 1, size - 1, s_stream);
    text [got] = 0;
    fseek (s_stream, end, SEEK_SET);
    size_t lines = 0;
    for (size_t i = 0; i < got; i++)
        lines += text [i] == '\n';
    return lines;
}

Test (log_limit, a_burst_logs_a_few_lines_then_a_summary)
{
    static char text [1 << 16];
    for (int i = 0; i < 10000; i++)
        log_limit_warning ("test: bad message number=%d", i);
    cr_expect_eq (s_lines (text, sizeof text), LOG_LIMIT_LINES, "%s", text);
    cr_expect_eq (log_limit_suppressed (), 10000 - LOG_LIMIT_LINES);
    cr_expect_not_null (strstr (text, "number=4"));
    cr_expect_null (strstr (text, "number=5\n"));

    log_limit_flush (true);
    cr_expect_eq (s_lines (text, sizeof text), LOG_LIMIT_LINES + 1, "%s", text);
    cr_expect_not_null (strstr (text, "test: bad message number=... and 9995 more like "
                                      "this in the last 1 s"), "%s", text);
    log_limit_flush (true);             //  nothing held back: nothing logged
    cr_expect_eq (s_lines (text, sizeof text), LOG_LIMIT_LINES + 1);
}

Test (log_limit, kinds_are_limited_apart_and_a_second_later_log_again)
{
    static char text [1 << 16];
    for (int i = 0; i < 100; i++) {
        log_limit_warning ("test: one kind %d", i);
        log_limit_warning ("test: another kind %d", i);
    }
    cr_expect_eq (s_lines (text, sizeof text), 2 * LOG_LIMIT_LINES, "%s", text);
    zclock_sleep (1100);
    log_limit_warning ("test: one kind %d", 100);
    cr_expect_eq (s_lines (text, sizeof text), 2 * LOG_LIMIT_LINES + 1, "%s", text);
    cr_expect_not_null (strstr (text, "test: one kind 100"));
}
