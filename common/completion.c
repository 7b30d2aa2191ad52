/*  completion.c - shell completion generated from a program's option table
    One bash function per program: flags, then file names or known values.
*/
#include <string.h>
#include "completion.h"

//  Values a flag accepts, for the flags whose values are a closed list.
//  The option table has no field for them (its entries are positional
//  initializers, which a new field would break), so they are named here.
static const struct {
    const char *flag;
    const char *words;
} s_choices [] = {
    { "log-level", "error warning notice info debug" },
    { "sync", "full normal off" },
    { NULL, NULL }
};

static const char *
s_choices_of (const char *flag)
{
    for (size_t i = 0; s_choices [i].flag; i++)
        if (strcmp (s_choices [i].flag, flag) == 0)
            return s_choices [i].words;
    return NULL;
}

//  True when the option's value names a file: its metavar says so
static bool
s_takes_file (const ck_option_t *option)
{
    const char *metavar = option->metavar? option->metavar: "";
    return strstr (metavar, "FILE") || strstr (metavar, "PATH") || strstr (metavar, "DIR");
}

//  Prints "--a|--b", indented, for the options that take a value and match
//  the test
static bool
s_print_case (FILE *out, const char *indent, const ck_option_t *const *options,
              size_t count, bool (*test) (const ck_option_t *))
{
    bool any = false;
    for (size_t i = 0; i < count; i++)
        if (options [i]->kind != CK_OPT_BOOL && test (options [i])) {
            fprintf (out, "%s--%s", any? "|": indent, options [i]->name);
            any = true;
        }
    return any;
}

static bool
s_takes_any (const ck_option_t *option)
{
    (void) option;
    return true;
}

static bool
s_takes_text (const ck_option_t *option)
{
    return !s_takes_file (option) && !s_choices_of (option->name);
}

//  Prints the lines that offer commands when no word before the current
//  one is a command already (a word that is neither a flag nor a value)
static void
s_print_commands (FILE *out, const ck_option_t *const *options, size_t count,
                  const char *commands)
{
    fprintf (out, "    if [[ $cur != -* ]]; then\n"
                  "        local i\n"
                  "        for ((i = 1; i < COMP_CWORD; i++)); do\n"
                  "            [[ ${COMP_WORDS[i]} == -* ]] && continue\n"
                  "            case ${COMP_WORDS[i-1]} in\n");
    if (s_print_case (out, "                ", options, count, s_takes_any))
        fprintf (out, ")\n                    continue ;;\n");
    fprintf (out, "            esac\n"
                  "            return\n"
                  "        done\n"
                  "        COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))\n"
                  "        return\n"
                  "    fi\n", commands);
}

void
ck_completion_bash (FILE *out, const char *name, const ck_option_t *const *options,
                    size_t count, const char *commands)
{
    char function [128];
    snprintf (function, sizeof function, "_%s", name);
    for (char *c = function; *c; c++)
        if (*c == '-' || *c == '.')
            *c = '_';
    fprintf (out, "# bash completion for %s, generated from its option table:\n"
                  "# %s --completion bash\n", name, name);
    fprintf (out, "%s ()\n{\n", function);
    fprintf (out, "    local cur=${COMP_WORDS[COMP_CWORD]}\n"
                  "    local prev=${COMP_WORDS[COMP_CWORD-1]}\n"
                  "    COMPREPLY=()\n"
                  "    case $prev in\n");
    if (s_print_case (out, "        ", options, count, s_takes_file))
        fprintf (out, ")\n            COMPREPLY=($(compgen -f -- \"$cur\"))\n"
                      "            return ;;\n");
    for (size_t i = 0; i < count; i++) {
        const char *words = s_choices_of (options [i]->name);
        if (words && options [i]->kind != CK_OPT_BOOL)
            fprintf (out, "        --%s)\n            COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))\n"
                          "            return ;;\n", options [i]->name, words);
    }
    if (s_print_case (out, "        ", options, count, s_takes_text))
        fprintf (out, ")\n            return ;;\n");
    fprintf (out, "    esac\n");
    if (commands)
        s_print_commands (out, options, count, commands);
    fprintf (out, "    if [[ $cur == -* ]]; then\n"
                  "        COMPREPLY=($(compgen -W \"");
    for (size_t i = 0; i < count; i++)
        fprintf (out, "%s--%s", i? " ": "", options [i]->name);
    fprintf (out, "\" -- \"$cur\"))\n"
                  "    fi\n"
                  "}\n"
                  "complete -F %s %s\n", function, name);
}
