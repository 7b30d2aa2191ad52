/*  open_files.c - the process's open-files limit, raised at start
*/
#include <czmq.h>
#include <sys/resource.h>
#include "open_files.h"

void
ck_open_files_raise (const char *who)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) || limit.rlim_cur >= limit.rlim_max)
        return;
    rlim_t was = limit.rlim_cur;
    //  an infinite hard limit is still capped by the kernel's nr_open
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY? 1048576: limit.rlim_max;
    if (setrlimit (RLIMIT_NOFILE, &limit) == 0)
        zsys_info ("%s: open files limit raised from %llu to %llu", who,
                   (unsigned long long) was, (unsigned long long) limit.rlim_cur);
    else
        zsys_warning ("%s: open files limit stays %llu: %s", who,
                      (unsigned long long) was, strerror (errno));
}
