/*  completion.h - shell completion generated from a program's option table
    `PROGRAM --completion bash` prints it; the build installs the result.
*/
#ifndef CK_COMPLETION_H_INCLUDED
#define CK_COMPLETION_H_INCLUDED

#include <stdio.h>
#include "checkout/config.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Prints on out a bash completion script for the program named name,
//  whose flags are the count options (its own and the builtins): every
//  flag after "-", file names after a flag whose value is a FILE or PATH,
//  the known values of --log-level and --sync, and commands (space-separated
//  words, or NULL) for the first word that is neither a flag nor a flag's
//  value.  Can't fail.
void ck_completion_bash (FILE *out, const char *name, const ck_option_t *const *options,
                         size_t count, const char *commands);

#ifdef __cplusplus
}
#endif

#endif
