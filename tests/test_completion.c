/*  test_completion.c - bash completion generated from the option tables
    Every program's script is valid bash and offers exactly the flags --help lists.
*/
#include <criterion/criterion.h>
#include "process_helpers.h"

#define OUTPUT_MAX 16384

static const char *s_programs [] = {
    "checkout-coordinator", "checkout-inventory", "checkout-payment", "checkout-order",
    "checkout", "checkout-monitor", "checkout-bench", NULL
};

static char s_dir [64];
static char s_bin [PATH_MAX];

static void
s_init (void)
{
    cr_assert_eq (ph_mkdtemp ("ck-completion", s_dir, sizeof s_dir), 0);
    cr_assert_eq (ph_bin_dir (s_bin, sizeof s_bin), 0);
}

static void
s_fini (void)
{
    ph_rmrf (s_dir);
}

TestSuite (completion, .init = s_init, .fini = s_fini, .timeout = 60);

//  Runs script with bash -c, its stdout and stderr in <dir>/name; returns
//  the exit code and the output (malloc'd) in *output
static int
s_bash (const char *name, const char *script, char **output)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    unlink (path);
    int rc = ph_run_shell ("/bin/bash", script, path, 20000);
    *output = ph_slurp (path);
    return rc;
}

//  Writes program's completion script to <dir>/<program>.bash
static void
s_write_script (const char *program, char *path, size_t size)
{
    char script [PATH_MAX * 3];
    snprintf (path, size, "%s/%s.bash", s_dir, program);
    snprintf (script, sizeof script, "'%s/%s' --completion bash > '%s'", s_bin, program, path);
    char *output = NULL;
    cr_assert_eq (s_bash ("write.out", script, &output), 0, "%s: %s", program,
                  output? output: "");
    free (output);
}

//  The words the completion function offers for the command line words
//  (its last word is the one being completed), one a line
static char *
s_complete (const char *program, const char *path, const char *words)
{
    char function [64], script [PATH_MAX * 2];
    snprintf (function, sizeof function, "_%s", program);
    for (char *c = function; *c; c++)
        if (*c == '-')
            *c = '_';
    snprintf (script, sizeof script,
              "source '%s' && cd '%s' && COMP_WORDS=(%s %s) && COMP_CWORD=$((${#COMP_WORDS[@]} - 1))"
              " && %s && printf '%%s\\n' \"${COMPREPLY[@]}\" | sort",
              path, s_dir, program, words, function);
    char *output = NULL;
    cr_assert_eq (s_bash ("complete.out", script, &output), 0, "%s", output? output: "");
    return output;
}

//  The flags --help lists, one a line, sorted
static char *
s_help_flags (const char *program)
{
    char script [PATH_MAX * 2];
    snprintf (script, sizeof script,
              "'%s/%s' --help | sed -n 's/^  \\(--[a-z0-9-]*\\).*/\\1/p' | sort", s_bin, program);
    char *output = NULL;
    cr_assert_eq (s_bash ("help.out", script, &output), 0, "%s", output? output: "");
    return output;
}

Test (completion, every_script_is_valid_bash_and_offers_the_real_flags)
{
    for (const char **program = s_programs; *program; program++) {
        char path [PATH_MAX], script [PATH_MAX * 2];
        s_write_script (*program, path, sizeof path);
        snprintf (script, sizeof script, "bash -n '%s'", path);
        char *output = NULL;
        cr_expect_eq (s_bash ("syntax.out", script, &output), 0, "%s: %s", *program,
                      output? output: "");
        free (output);

        char *help = s_help_flags (*program);
        char *offered = s_complete (*program, path, "--");
        cr_assert (help && offered);
        cr_expect (strlen (help) > 40, "%s: too few flags in --help:\n%s", *program, help);
        cr_expect_str_eq (offered, help, "%s", *program);
        free (help);
        free (offered);
    }
}

Test (completion, values_files_and_prefixes)
{
    char path [PATH_MAX], file [PATH_MAX];
    s_write_script ("checkout-payment", path, sizeof path);
    char *offered = s_complete ("checkout-payment", path, "--lat");
    cr_expect_str_eq (offered, "--latency-ms\n");
    free (offered);
    offered = s_complete ("checkout-payment", path, "--log-level w");
    cr_expect_str_eq (offered, "warning\n");
    free (offered);
    offered = s_complete ("checkout-payment", path, "--sync ''");
    cr_expect_str_eq (offered, "full\nnormal\noff\n");
    free (offered);
    //  a FILE or PATH value completes file names; an endpoint nothing
    snprintf (file, sizeof file, "%s/payment.conf", s_dir);
    FILE *conf = fopen (file, "w");
    cr_assert_not_null (conf);
    fclose (conf);
    offered = s_complete ("checkout-payment", path, "--config paym");
    cr_expect_str_eq (offered, "payment.conf\n");
    free (offered);
    offered = s_complete ("checkout-payment", path, "--db paym");
    cr_expect_str_eq (offered, "payment.conf\n");
    free (offered);
    offered = s_complete ("checkout-payment", path, "--coordinator tc");
    cr_expect_str_eq (offered, "\n");
    free (offered);
}

Test (completion, an_unknown_shell_is_a_usage_error)
{
    char script [PATH_MAX * 2];
    char *output = NULL;
    snprintf (script, sizeof script, "'%s/checkout-payment' --completion zsh", s_bin);
    cr_expect_eq (s_bash ("zsh.out", script, &output), 2);
    cr_expect (output && strstr (output, "--completion: 'zsh' is not a shell"), "%s",
               output? output: "");
    free (output);
    snprintf (script, sizeof script, "'%s/checkout-coordinator' --completion", s_bin);
    cr_expect_eq (s_bash ("none.out", script, &output), 2);
    free (output);
}

//  A program with commands completes them in the first word that is
//  neither a flag nor a flag's value, and nothing after one
Test (completion, commands_complete_first)
{
    char path [PATH_MAX];
    s_write_script ("checkout-keys", path, sizeof path);
    char *offered = s_complete ("checkout-keys", path, "''");
    cr_expect_str_eq (offered, "allow\ninit\nlist\nnew\nrevoke\n");
    free (offered);
    offered = s_complete ("checkout-keys", path, "--config x.conf re");
    cr_expect_str_eq (offered, "revoke\n");
    free (offered);
    offered = s_complete ("checkout-keys", path, "init ''");
    cr_expect_str_eq (offered, "\n");
    free (offered);
    offered = s_complete ("checkout-keys", path, "--ver");
    cr_expect_str_eq (offered, "--verbose\n--version\n");
    free (offered);
}

//  The exporter (Python) prints its completion in the same form, from
//  its argparse options
Test (completion, the_exporter_completes_its_flags)
{
    char path [PATH_MAX], script [PATH_MAX * 2];
    s_write_script ("checkout-exporter", path, sizeof path);
    snprintf (script, sizeof script, "bash -n '%s'", path);
    char *output = NULL;
    cr_expect_eq (s_bash ("syntax.out", script, &output), 0, "%s", output? output: "");
    free (output);
    char *offered = s_complete ("checkout-exporter", path, "--");
    cr_expect_str_eq (offered, "--curve-secret\n--curve-server\n--events\n--help\n"
                               "--listen\n--stale-ms\n--supervisor\n--version\n");
    free (offered);
    offered = s_complete ("checkout-exporter", path, "--supervisor checkout-exp");
    cr_expect_str_eq (offered, "checkout-exporter.bash\n");
    free (offered);
    offered = s_complete ("checkout-exporter", path, "--events tc");
    cr_expect_str_eq (offered, "\n");
    free (offered);
    snprintf (script, sizeof script, "'%s/checkout-exporter' --completion zsh", s_bin);
    cr_expect_eq (s_bash ("zsh.out", script, &output), 2);
    free (output);
}
