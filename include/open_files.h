/*  open_files.h - the process's open-files limit, raised at start
    Every ZeroMQ connection holds a descriptor, idle or not.
*/
#ifndef CK_OPEN_FILES_H_INCLUDED
#define CK_OPEN_FILES_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  Raises the soft RLIMIT_NOFILE to the hard limit (1024 is a common soft
//  limit: 1,098 idle connections once left a coordinator's PING
//  unanswered), logging the change as who ("coordinator").  Failing to
//  is logged, not fatal.
void ck_open_files_raise (const char *who);

#ifdef __cplusplus
}
#endif

#endif
