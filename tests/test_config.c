/*  test_config.c - tests of the config module
    Defaults, ZPL files, flags over files, and every usage error's one line.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <fcntl.h>
#include <unistd.h>
#include "checkout/config.h"
#include "checkout/protocol.h"

static const ck_option_t s_options [] = {
    { "frontend", CK_OPT_STRING, "tcp://127.0.0.1:5570", 0, 0, "EP", "client endpoint" },
    { "db", CK_OPT_STRING, NULL, 0, 0, "PATH", "the SQLite file" },
    { "capacity", CK_OPT_INT, "16", 1, 1024, "N", "requests at once" },
    { "offset", CK_OPT_INT, NULL, 0, 0, "N", "any integer" },
    { "coordinator", CK_OPT_LIST, "tcp://127.0.0.1:5571", 0, 0, "EP", "a backend" },
    { "fast", CK_OPT_BOOL, NULL, 0, 0, NULL, "skip fsync" },
    { NULL, CK_OPT_STRING, NULL, 0, 0, NULL, NULL }
};

static const ck_program_t s_program = {
    "checkout-test", "Tests the config module.", "COMMAND [ID]", 2, s_options,
    "  checkout-test --db x.db go\n", NULL, NULL
};

static char s_dir [64];
static zlist_t *s_files;                //  paths to remove at the end

static void
s_setup (void)
{
    strcpy (s_dir, "/tmp/ck-test-config-XXXXXX");
    cr_assert_not_null (mkdtemp (s_dir));
    s_files = zlist_new ();
    zlist_autofree (s_files);
}

static void
s_teardown (void)
{
    for (char *path = (char *) zlist_first (s_files); path;
         path = (char *) zlist_next (s_files))
        unlink (path);
    zlist_destroy (&s_files);
    rmdir (s_dir);
}

TestSuite (config, .init = s_setup, .fini = s_teardown, .timeout = 10);

//  Makes a path in the test's directory, to be removed at teardown
static const char *
s_path (const char *name)
{
    char path [256];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    zlist_append (s_files, path);
    return (const char *) zlist_last (s_files);
}

static const char *
s_write (const char *name, const char *text)
{
    const char *path = s_path (name);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fputs (text, file);
    fclose (file);
    return path;
}

static void
s_slurp (const char *path, char *text, size_t size)
{
    FILE *file = fopen (path, "r");
    cr_assert_not_null (file);
    size_t got = fread (text, 1, size - 1, file);
    text [got] = 0;
    fclose (file);
}

//  One call of ck_config_new with stdout and stderr captured
typedef struct {
    ck_config_t *config;
    int exit_code;
    char out [8192];
    char err [8192];
} run_t;

static void
s_redirect (int fd, const char *path, int *saved)
{
    *saved = dup (fd);
    int target = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert (*saved >= 0 && target >= 0);
    dup2 (target, fd);
    close (target);
}

static void
s_restore (int fd, int saved)
{
    dup2 (saved, fd);
    close (saved);
}

static run_t *
s_run (char **argv)
{
    static run_t run;
    int argc = 0;
    while (argv [argc])
        argc++;
    const char *out_path = s_path ("stdout.txt");
    const char *err_path = s_path ("stderr.txt");
    int saved_out, saved_err;
    fflush (stdout);
    fflush (stderr);
    s_redirect (STDOUT_FILENO, out_path, &saved_out);
    s_redirect (STDERR_FILENO, err_path, &saved_err);
    run.exit_code = -1;
    run.config = ck_config_new (&s_program, argc, argv, &run.exit_code);
    fflush (stdout);
    fflush (stderr);
    s_restore (STDOUT_FILENO, saved_out);
    s_restore (STDERR_FILENO, saved_err);
    s_slurp (out_path, run.out, sizeof run.out);
    s_slurp (err_path, run.err, sizeof run.err);
    return &run;
}

#define RUN(...) s_run ((char *[]) { "checkout-test", __VA_ARGS__, NULL })
#define RUN_BARE() s_run ((char *[]) { "checkout-test", NULL })

//  A usage error: no config, exit 2, nothing on stdout, and exactly one
//  line on stderr that starts with the program and holds every fragment.
static void
s_assert_error (run_t *run, const char *fragment1, const char *fragment2)
{
    cr_assert_null (run->config);
    cr_assert_eq (run->exit_code, 2);
    cr_assert_str_empty (run->out, "stdout: %s", run->out);
    cr_assert (strncmp (run->err, "checkout-test: ", 15) == 0, "stderr: %s", run->err);
    size_t len = strlen (run->err);
    cr_assert (len > 0 && run->err [len - 1] == '\n', "stderr: %s", run->err);
    cr_assert_eq (strchr (run->err, '\n'), run->err + len - 1,
                  "more than one line: %s", run->err);
    cr_assert_not_null (strstr (run->err, fragment1), "'%s' not in: %s", fragment1, run->err);
    if (fragment2)
        cr_assert_not_null (strstr (run->err, fragment2), "'%s' not in: %s",
                            fragment2, run->err);
}

static void
s_assert_ok (run_t *run)
{
    cr_assert_not_null (run->config, "stderr: %s", run->err);
    cr_assert_eq (run->exit_code, 0);
    cr_assert_str_empty (run->err);
    cr_assert_str_empty (run->out);
}

Test (config, defaults)
{
    run_t *run = RUN_BARE ();
    s_assert_ok (run);
    ck_config_t *config = run->config;
    cr_assert_str_eq (ck_config_str (config, "frontend"), "tcp://127.0.0.1:5570");
    cr_assert_null (ck_config_str (config, "db"));
    cr_assert_eq (ck_config_int (config, "capacity"), 16);
    cr_assert_eq (ck_config_int (config, "offset"), 0);
    cr_assert_eq (ck_config_list_size (config, "coordinator"), 1);
    cr_assert_str_eq (ck_config_list_at (config, "coordinator", 0), "tcp://127.0.0.1:5571");
    cr_assert_null (ck_config_list_at (config, "coordinator", 1));
    cr_assert_not (ck_config_bool (config, "fast"));
    cr_assert_not (ck_config_bool (config, "verbose"));
    cr_assert_null (ck_config_str (config, "config"));
    cr_assert_eq (ck_config_arg_count (config), 0);
    cr_assert_null (ck_config_arg (config, 0));
    ck_config_destroy (&run->config);
    cr_assert_null (run->config);
    ck_config_destroy (&run->config);
}

Test (config, file_values)
{
    const char *path = s_write ("a.zpl",
        "#   a comment line\n"
        "frontend = ipc:///tmp/x.ipc    # a comment after a value\n"
        "db = \"/var/lib/a b#c.db\"\n"
        "capacity = 64\n"
        "offset = -5\n"
        "coordinator = tcp://10.0.0.1:5571\n"
        "coordinator = tcp://10.0.0.2:5571\n"
        "fast = true\n"
        "verbose = true\n");
    run_t *run = RUN ("--config", (char *) path);
    s_assert_ok (run);
    ck_config_t *config = run->config;
    cr_assert_str_eq (ck_config_str (config, "config"), path);
    cr_assert_str_eq (ck_config_str (config, "frontend"), "ipc:///tmp/x.ipc");
    cr_assert_str_eq (ck_config_str (config, "db"), "/var/lib/a b#c.db");
    cr_assert_eq (ck_config_int (config, "capacity"), 64);
    cr_assert_eq (ck_config_int (config, "offset"), -5);
    cr_assert_str_eq (ck_config_str (config, "capacity"), "64");
    //  The file's list replaces the default list
    cr_assert_eq (ck_config_list_size (config, "coordinator"), 2);
    cr_assert_str_eq (ck_config_list_at (config, "coordinator", 0), "tcp://10.0.0.1:5571");
    cr_assert_str_eq (ck_config_list_at (config, "coordinator", 1), "tcp://10.0.0.2:5571");
    cr_assert (ck_config_bool (config, "fast"));
    cr_assert (ck_config_bool (config, "verbose"));
    ck_config_destroy (&run->config);
}

Test (config, empty_file_keeps_defaults)
{
    const char *path = s_write ("empty.zpl", "# nothing set here\n\n");
    run_t *run = RUN ("--config", (char *) path);
    s_assert_ok (run);
    cr_assert_eq (ck_config_int (run->config, "capacity"), 16);
    cr_assert_eq (ck_config_list_size (run->config, "coordinator"), 1);
    ck_config_destroy (&run->config);
}

Test (config, flags_override_file)
{
    const char *path = s_write ("a.zpl",
        "capacity = 8\nfast = true\ndb = /from/file.db\n"
        "coordinator = tcp://a:1\ncoordinator = tcp://b:2\n");
    run_t *run = RUN ("--capacity", "32", "--config", (char *) path,
                      "--coordinator", "tcp://c:3", "--coordinator=tcp://d:4", "--verbose");
    s_assert_ok (run);
    ck_config_t *config = run->config;
    cr_assert_eq (ck_config_int (config, "capacity"), 32);
    cr_assert_str_eq (ck_config_str (config, "db"), "/from/file.db");
    cr_assert (ck_config_bool (config, "fast"));
    cr_assert (ck_config_bool (config, "verbose"));
    //  Flags replace the file's list rather than extend it
    cr_assert_eq (ck_config_list_size (config, "coordinator"), 2);
    cr_assert_str_eq (ck_config_list_at (config, "coordinator", 0), "tcp://c:3");
    cr_assert_str_eq (ck_config_list_at (config, "coordinator", 1), "tcp://d:4");
    ck_config_destroy (&run->config);
}

Test (config, equals_form_and_arguments)
{
    run_t *run = RUN ("submit", "--frontend=tcp://h:1", "--capacity=1024",
                      "--db", "x=y.db", "--", "--not-a-flag");
    s_assert_ok (run);
    ck_config_t *config = run->config;
    cr_assert_str_eq (ck_config_str (config, "frontend"), "tcp://h:1");
    cr_assert_eq (ck_config_int (config, "capacity"), 1024);
    cr_assert_str_eq (ck_config_str (config, "db"), "x=y.db");
    cr_assert_eq (ck_config_arg_count (config), 2);
    cr_assert_str_eq (ck_config_arg (config, 0), "submit");
    cr_assert_str_eq (ck_config_arg (config, 1), "--not-a-flag");
    ck_config_destroy (&run->config);
}

Test (config, last_flag_wins)
{
    run_t *run = RUN ("--capacity", "2", "--capacity", "3", "--offset", "-7");
    s_assert_ok (run);
    cr_assert_eq (ck_config_int (run->config, "capacity"), 3);
    cr_assert_eq (ck_config_int (run->config, "offset"), -7);
    ck_config_destroy (&run->config);
}

Test (config, unknown_flag)
{
    s_assert_error (RUN ("--frontedn", "tcp://x:1"), "unknown flag '--frontedn'", NULL);
    s_assert_error (RUN ("--bogus=secret"), "unknown flag '--bogus'", NULL);
    cr_assert_null (strstr (RUN ("--bogus=secret")->err, "secret"));
    s_assert_error (RUN ("-x"), "unknown flag '-x'", NULL);     //  only -h is short
}

Test (config, missing_value)
{
    s_assert_error (RUN ("--frontend"), "--frontend: missing value", NULL);
    s_assert_error (RUN ("--capacity", "--verbose"), "--capacity: missing value", NULL);
    s_assert_error (RUN ("--db="), "--db: empty value", NULL);
}

Test (config, bool_takes_no_value)
{
    s_assert_error (RUN ("--verbose=yes"), "--verbose takes no value", "'yes'");
}

Test (config, bad_int)
{
    s_assert_error (RUN ("--capacity", "abc"), "--capacity 'abc': not an integer", "1..1024");
    s_assert_error (RUN ("--capacity", "12x"), "--capacity '12x': not an integer", "1..1024");
    s_assert_error (RUN ("--capacity", " 12"), "not an integer", "1..1024");
    s_assert_error (RUN ("--capacity=1.5"), "--capacity '1.5': not an integer", NULL);
}

Test (config, int_out_of_range)
{
    s_assert_error (RUN ("--capacity", "5000"), "--capacity '5000': out of range", "1..1024");
    s_assert_error (RUN ("--capacity", "0"), "--capacity '0': out of range", "1..1024");
    s_assert_error (RUN ("--offset", "99999999999999999999"), "out of range", NULL);
}

Test (config, value_escaped_on_one_line)
{
    s_assert_error (RUN ("--capacity", "1\n2\x1b"), "'1\\x0a2\\x1b'", NULL);
    char long_value [300];
    memset (long_value, '7', sizeof long_value - 1);
    long_value [sizeof long_value - 1] = 0;
    run_t *run = RUN ("--capacity", long_value);
    s_assert_error (run, "...", "out of range");
    cr_assert_lt (strlen (run->err), 200);
}

Test (config, too_many_args)
{
    s_assert_error (RUN ("submit", "id-1", "extra"), "unexpected argument 'extra'",
                    "COMMAND [ID]");
}

Test (config, unknown_key_in_file)
{
    const char *path = s_write ("a.zpl", "capacity = 8\nfronted = tcp://x:1\n");
    s_assert_error (RUN ("--config", (char *) path), "unknown key", "fronted");
}

Test (config, bad_values_in_file)
{
    const char *path = s_write ("int.zpl", "capacity = 4096\n");
    s_assert_error (RUN ("--config", (char *) path), "int.zpl: capacity '4096': out of range",
                    "1..1024");
    path = s_write ("bool.zpl", "fast = yes\n");
    s_assert_error (RUN ("--config", (char *) path), "fast 'yes': must be true or false", NULL);
    path = s_write ("twice.zpl", "db = a.db\ndb = b.db\n");
    s_assert_error (RUN ("--config", (char *) path), "db: given twice", NULL);
    path = s_write ("nested.zpl", "db = a.db\n    path = b\n");
    s_assert_error (RUN ("--config", (char *) path), "db: nested keys", NULL);
    path = s_write ("empty.zpl", "db =\n");
    s_assert_error (RUN ("--config", (char *) path), "db: missing value", NULL);
    path = s_write ("self.zpl", "config = other.zpl\n");
    s_assert_error (RUN ("--config", (char *) path), "config: not allowed", NULL);
}

Test (config, missing_file)
{
    const char *path = s_path ("absent.zpl");
    s_assert_error (RUN ("--config", (char *) path), "--config ", "absent.zpl: cannot read (No such file");
    s_assert_error (RUN ("--config", s_dir), "cannot read (Is a directory)", NULL);
}

Test (config, unparsable_file)
{
    const char *path = s_write ("bad.zpl", "capacity = 8\ndb = \"unterminated\n");
    s_assert_error (RUN ("--config", (char *) path), "bad.zpl: cannot read (line 2: ", NULL);
    path = s_write ("indent.zpl", "db = a\n        x = 1\n");
    s_assert_error (RUN ("--config", (char *) path), "cannot read (line 2: indent", NULL);
    path = s_write ("binary.zpl", "db = a\n");
    FILE *file = fopen (path, "a");
    fputc (0, file);
    fclose (file);
    s_assert_error (RUN ("--config", (char *) path), "cannot read (not a text file)", NULL);
}

Test (config, help)
{
    //  --help wins over a config file it never reads
    run_t *run = RUN ("--config", "/nonexistent/x.zpl", "--help");
    cr_assert_null (run->config);
    cr_assert_eq (run->exit_code, 0);
    cr_assert_str_empty (run->err);
    const char *expected [] = {
        "checkout-test", "Tests the config module.", "COMMAND [ID]",
        "--frontend EP", "client endpoint", "tcp://127.0.0.1:5570",
        "--db PATH", "--capacity N", "1..1024", "16", "--offset N",
        "--coordinator EP", "repeatable", "--fast", "skip fsync",
        "--config FILE", "--verbose", "--help", "--version", "Exit codes: 0 done,",
        "Examples:\n  checkout-test --db x.db go\n", NULL
    };
    for (int i = 0; expected [i]; i++)
        cr_assert_not_null (strstr (run->out, expected [i]), "'%s' not in:\n%s",
                            expected [i], run->out);
}

Test (config, short_help_and_version)
{
    run_t *run = RUN ("-h");
    cr_assert_null (run->config);
    cr_assert_eq (run->exit_code, 0);
    cr_assert_not_null (strstr (run->out, "Usage: checkout-test"), "%s", run->out);
    run = RUN ("--offset", "3", "--version");
    cr_assert_null (run->config);
    cr_assert_eq (run->exit_code, 0);
    cr_assert_str_eq (run->out, "checkout-test " CK_SOFTWARE_VERSION " (protocol " CK_VERSION ")\n");
    cr_assert_str_empty (run->err);
    s_assert_error (RUN ("--version=1"), "--version takes no value", NULL);
}

Test (config, usage_error)
{
    run_t *run = RUN_BARE ();
    s_assert_ok (run);
    const char *err_path = s_path ("usage.txt");
    int saved;
    fflush (stderr);
    s_redirect (STDERR_FILENO, err_path, &saved);
    ck_config_usage_error (run->config, "--seed %s: %s", "stock.csv", "No such file");
    s_restore (STDERR_FILENO, saved);
    char text [256];
    s_slurp (err_path, text, sizeof text);
    cr_assert_str_eq (text, "checkout-test: --seed stock.csv: No such file\n");
    ck_config_destroy (&run->config);
}

//  What we rely on in czmq's ZPL parser: a repeated key stays as siblings in
//  file order, '#' after a value starts a comment, quotes keep it.
Test (config, zconfig_behaviour)
{
    zconfig_t *root = zconfig_str_load (
        "a = 1   # one\n# whole line\na = 2\nb = \"x # y\"\n");
    cr_assert_not_null (root);
    zconfig_t *item = zconfig_child (root);
    cr_assert_str_eq (zconfig_name (item), "a");
    cr_assert_str_eq (zconfig_value (item), "1");
    item = zconfig_next (item);
    cr_assert_str_eq (zconfig_name (item), "a");
    cr_assert_str_eq (zconfig_value (item), "2");
    item = zconfig_next (item);
    cr_assert_str_eq (zconfig_value (item), "x # y");
    cr_assert_null (zconfig_next (item));
    zconfig_destroy (&root);
}
