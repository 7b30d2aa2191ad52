/*  config.c - process configuration from a ZPL file and flags
    Each option takes its default, then the --config file's value, then flags.
*/
#include <czmq.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <unistd.h>
#include "completion.h"
#include "checkout/codec.h"
#include "checkout/config.h"
#include "checkout/protocol.h"
#include "checkout/version.h"

#define CONFIG_FILE_MAX (1024 * 1024)   //  config files are small: more is a mistake
#define SHOWN_MAX       64              //  bytes of a value quoted in a message
#define SHOWN_SIZE      (SHOWN_MAX * 4 + 4)
#define REASON_SIZE     256

//  Where an option's current value came from; a new source replaces a list
typedef enum { SOURCE_NONE, SOURCE_DEFAULT, SOURCE_FILE, SOURCE_FLAGS } source_t;

//  One declared option and its value(s)
typedef struct {
    const ck_option_t *option;
    source_t source;
    char *text;                         //  STRING, INT, BOOL: owned, or NULL
    long number;                        //  INT
    bool flag;                          //  BOOL
    char **items;                       //  LIST: owned strings
    size_t item_count;
} entry_t;

//  A flag seen on the command line, applied once the file is loaded
typedef struct {
    entry_t *entry;
    const char *value;                  //  borrowed from argv; NULL for BOOL
} pending_t;

struct _ck_config_t {
    const ck_program_t *program;
    entry_t *entries;
    size_t entry_count;
    char **args;                        //  positional arguments, owned
    int arg_count;
};

//  Options every program has, unless it declares them itself
static const ck_option_t s_builtins [] = {
    { "config", CK_OPT_STRING, NULL, 0, 0, "FILE",
      "read options from a ZPL file; flags override it" },
    { "verbose", CK_OPT_BOOL, NULL, 0, 0, NULL, "log every message" },
    { "help", CK_OPT_BOOL, NULL, 0, 0, NULL, "print this help and exit (also -h)" },
    { "version", CK_OPT_BOOL, NULL, 0, 0, NULL, "print the software's version and exit" },
    { NULL, CK_OPT_STRING, NULL, 0, 0, NULL, NULL }
};

static char *
s_strdup (const char *text)
{
    size_t size = strlen (text) + 1;
    char *copy = (char *) zmalloc (size);
    memcpy (copy, text, size);
    return copy;
}

//  Copies text into dest for a one-line message: unprintable bytes become
//  \xNN and a long value is cut, so a hostile value can't forge lines.
static const char *
s_shown (const char *text, char *dest)
{
    size_t used = 0;
    for (size_t i = 0; text [i]; i++) {
        if (i == SHOWN_MAX) {
            strcpy (dest + used, "...");
            return dest;
        }
        unsigned char byte = (unsigned char) text [i];
        if (byte >= 0x20 && byte < 0x7f && byte != '\\')
            dest [used++] = (char) byte;
        else
            used += (size_t) sprintf (dest + used, "\\x%02x", byte);
    }
    dest [used] = 0;
    return dest;
}

static void
s_vreport (const char *name, const char *format, va_list args)
{
    char message [1024];
    vsnprintf (message, sizeof message, format, args);
    fprintf (stderr, "%s: %s\n", name, message);
    fflush (stderr);
}

static void
s_fail (ck_config_t *self, const char *format, ...) CHECK_PRINTF (2);

static void
s_fail (ck_config_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_vreport (self->program->name, format, args);
    va_end (args);
}

static entry_t *
s_lookup (ck_config_t *self, const char *name, size_t len)
{
    for (size_t i = 0; i < self->entry_count; i++) {
        const char *candidate = self->entries [i].option->name;
        if (strlen (candidate) == len && memcmp (candidate, name, len) == 0)
            return &self->entries [i];
    }
    return NULL;
}

//  Looks up an option the program asks for by name; asking for one it
//  never declared is a bug in the program.
static entry_t *
s_require (ck_config_t *self, const char *name, ck_opt_kind_t kind)
{
    assert (self && name);
    entry_t *entry = s_lookup (self, name, strlen (name));
    assert (entry);
    assert (entry->option->kind == kind || kind == CK_OPT_STRING);
    return entry && (entry->option->kind == kind || kind == CK_OPT_STRING)? entry: NULL;
}

static bool
s_unbounded (const ck_option_t *option)
{
    return option->min == 0 && option->max == 0;
}

//  Parses text as a decimal integer in the option's range, or reports why
//  not; where names the flag or the file key.
static int
s_parse_int (ck_config_t *self, entry_t *entry, const char *text, const char *where)
{
    const ck_option_t *option = entry->option;
    long low = s_unbounded (option)? LONG_MIN: option->min;
    long high = s_unbounded (option)? LONG_MAX: option->max;
    char *end = NULL;
    errno = 0;
    long number = strtol (text, &end, 10);
    bool digits = end != text && *end == 0 && !isspace ((unsigned char) *text);
    if (digits && errno == 0 && number >= low && number <= high) {
        entry->number = number;
        return 0;
    }
    char shown [SHOWN_SIZE];
    s_fail (self, "%s '%s': %s (allowed %ld..%ld)", where, s_shown (text, shown),
            digits? "out of range": "not an integer", low, high);
    return -1;
}

static int
s_parse_bool (ck_config_t *self, entry_t *entry, const char *text, const char *where)
{
    if (text == NULL || streq (text, "true"))
        entry->flag = true;
    else
    if (streq (text, "false"))
        entry->flag = false;
    else {
        char shown [SHOWN_SIZE];
        s_fail (self, "%s '%s': must be true or false", where, s_shown (text, shown));
        return -1;
    }
    return 0;
}

static void
s_list_clear (entry_t *entry)
{
    for (size_t i = 0; i < entry->item_count; i++)
        free (entry->items [i]);
    free (entry->items);
    entry->items = NULL;
    entry->item_count = 0;
}

static void
s_list_append (entry_t *entry, const char *value)
{
    char **items = (char **) realloc (entry->items,
                                      (entry->item_count + 1) * sizeof (char *));
    assert (items);
    items [entry->item_count++] = s_strdup (value);
    entry->items = items;
}

//  Gives an option a value from source; a list given by a new source
//  starts over, so flags replace the file's list and the file the default.
static int
s_assign (ck_config_t *self, entry_t *entry, const char *value,
          source_t source, const char *where)
{
    ck_opt_kind_t kind = entry->option->kind;
    int rc = 0;
    if (kind == CK_OPT_INT)
        rc = s_parse_int (self, entry, value, where);
    else
    if (kind == CK_OPT_BOOL)
        rc = s_parse_bool (self, entry, value, where);
    if (rc == -1)
        return -1;
    if (kind == CK_OPT_LIST) {
        if (entry->source != source)
            s_list_clear (entry);
        s_list_append (entry, value);
    }
    else {
        free (entry->text);
        entry->text = kind == CK_OPT_BOOL?
            s_strdup (entry->flag? "true": "false"): s_strdup (value);
    }
    entry->source = source;
    return 0;
}

//  Builds the entry table: the program's options, then the builtins it did
//  not declare itself.  Defaults are ours, so a bad one is a bug.
static ck_config_t *
s_self_new (const ck_program_t *program)
{
    size_t declared = 0;
    while (program->options [declared].name)
        declared++;
    ck_config_t *self = (ck_config_t *) zmalloc (sizeof (ck_config_t));
    self->program = program;
    self->entries = (entry_t *) zmalloc ((declared + 4) * sizeof (entry_t));
    for (size_t i = 0; i < declared; i++)
        self->entries [self->entry_count++].option = &program->options [i];
    for (const ck_option_t *builtin = s_builtins; builtin->name; builtin++)
        if (!s_lookup (self, builtin->name, strlen (builtin->name)))
            self->entries [self->entry_count++].option = builtin;
    for (size_t i = 0; i < self->entry_count; i++) {
        entry_t *entry = &self->entries [i];
        if (entry->option->value) {
            int rc = s_assign (self, entry, entry->option->value, SOURCE_DEFAULT,
                               "default");
            assert (rc == 0);
            (void) rc;
        }
    }
    return self;
}

static void
s_print_option (const ck_option_t *option)
{
    char left [128];
    snprintf (left, sizeof left, "--%s%s%s", option->name,
              option->metavar? " ": "", option->metavar? option->metavar: "");
    printf ("  %-24s%s%s", left, strlen (left) > 22? "\n                          ": "",
            option->help? option->help: "");
    if (option->kind == CK_OPT_INT && !s_unbounded (option))
        printf (" (%ld..%ld)", option->min, option->max);
    if (option->kind == CK_OPT_LIST)
        printf (" (repeatable)");
    if (option->value)
        printf (" [default: %s]", option->value);
    printf ("\n");
}

static void
s_print_usage (ck_config_t *self)
{
    const ck_program_t *program = self->program;
    printf ("Usage: %s [OPTIONS]%s%s\n", program->name,
            program->args? " ": "", program->args? program->args: "");
    if (program->summary)
        printf ("%s\n", program->summary);
    printf ("\nOptions:\n");
    for (size_t i = 0; i < self->entry_count; i++)
        s_print_option (self->entries [i].option);
    printf ("\nA --config file holds 'name = value' lines with the same names;"
            " a list repeats its key.\n");
    printf ("\nExit codes: %s\n", program->exit_codes? program->exit_codes:
            "0 done, 1 runtime failure, 2 bad usage or bad configuration"
            " (one line on stderr names it).");
    if (program->examples)
        printf ("\nExamples:\n%s", program->examples);
    fflush (stdout);
}

static void
s_print_version (ck_config_t *self)
{
    printf ("%s %s (protocol %s)\n", self->program->name, CK_SOFTWARE_VERSION, CK_VERSION);
    fflush (stdout);
}

static int
s_add_arg (ck_config_t *self, const char *arg)
{
    if (self->arg_count >= self->program->max_args) {
        char shown [SHOWN_SIZE];
        const char *args = self->program->args;
        if (self->program->max_args <= 0)
            s_fail (self, "unexpected argument '%s' (takes none)", s_shown (arg, shown));
        else
            s_fail (self, "unexpected argument '%s' (at most %d: %s)", s_shown (arg, shown),
                    self->program->max_args, args? args: "arguments");
        return -1;
    }
    char **grown = (char **) realloc (self->args,
                                      (size_t) (self->arg_count + 1) * sizeof (char *));
    assert (grown);
    self->args = grown;
    self->args [self->arg_count++] = s_strdup (arg);
    return 0;
}

//  Reads one flag at argv[*index], advancing past its value.  Returns 0 and
//  fills *pending, 1 for --help, 2 for --version, or -1 after reporting
//  what is wrong.
static int
s_scan_flag (ck_config_t *self, int argc, char **argv, int *index, pending_t *pending)
{
    const char *arg = argv [*index];
    char shown [SHOWN_SIZE];
    const char *name = arg + 2;
    const char *equals = strchr (name, '=');
    size_t name_len = equals? (size_t) (equals - name): strlen (name);
    entry_t *entry = arg [1] == '-'? s_lookup (self, name, name_len): NULL;
    if (!entry) {
        //  Name the flag but not its value, which may be a secret
        char spelled [SHOWN_MAX + 2];
        int length = equals && equals - arg <= SHOWN_MAX? (int) (equals - arg): SHOWN_MAX + 1;
        snprintf (spelled, sizeof spelled, "%.*s", length, arg);
        s_fail (self, "unknown flag '%s' (see --help)", s_shown (spelled, shown));
        return -1;
    }
    const char *flag = entry->option->name;
    const char *value = NULL;
    if (entry->option->kind == CK_OPT_BOOL) {
        if (equals) {
            s_fail (self, "--%s takes no value (got '%s')", flag, s_shown (equals + 1, shown));
            return -1;
        }
        if (streq (flag, "help"))
            return 1;
        if (streq (flag, "version"))
            return 2;
    }
    else
    if (equals)
        value = equals + 1;
    else
    if (*index + 1 < argc && strncmp (argv [*index + 1], "--", 2) != 0)
        value = argv [++*index];
    else {
        s_fail (self, "--%s: missing value", flag);
        return -1;
    }
    if (value && *value == 0) {
        s_fail (self, "--%s: empty value", flag);
        return -1;
    }
    pending->entry = entry;
    pending->value = value;
    return 0;
}

//  --completion SHELL, left out of --help: it is for packagers, who
//  install its output.  Returns 3, or -1 after reporting a shell we don't
//  write for.
static int
s_scan_completion (ck_config_t *self, int argc, char **argv, int *index)
{
    char shown [SHOWN_SIZE];
    const char *shell = *index + 1 < argc? argv [++*index]: NULL;
    if (shell && streq (shell, "bash"))
        return 3;
    s_fail (self, "--completion: '%s' is not a shell it knows (bash)",
            shell? s_shown (shell, shown): "");
    return -1;
}

static void
s_print_completion (ck_config_t *self)
{
    const ck_option_t **options =
        (const ck_option_t **) zmalloc (self->entry_count * sizeof (ck_option_t *));
    for (size_t i = 0; i < self->entry_count; i++)
        options [i] = self->entries [i].option;
    ck_completion_bash (stdout, self->program->name, options, self->entry_count,
                        self->program->commands);
    fflush (stdout);
    free (options);
}

//  Splits argv into flags (kept in pending, applied later) and positional
//  arguments.  Returns 0, 1 for --help, 2 for --version, 3 for
//  --completion, or -1 after reporting an error.
static int
s_scan_argv (ck_config_t *self, int argc, char **argv, pending_t *pending, size_t *count)
{
    bool options_done = false;
    for (int index = 1; index < argc; index++) {
        const char *arg = argv [index];
        int rc = 0;
        if (options_done || arg [0] != '-' || arg [1] == 0)
            rc = s_add_arg (self, arg);
        else
        if (streq (arg, "-h"))
            rc = 1;
        else
        if (streq (arg, "--"))
            options_done = true;
        else
        if (streq (arg, "--completion"))
            rc = s_scan_completion (self, argc, argv, &index);
        else {
            rc = s_scan_flag (self, argc, argv, &index, &pending [*count]);
            if (rc == 0)
                (*count)++;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

//  Reads the whole file; NULL with a reason when it can't be read as text.
static char *
s_read_file (const char *path, size_t *size, char *reason)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        snprintf (reason, REASON_SIZE, "%s", strerror (errno));
        return NULL;
    }
    char *data = (char *) zmalloc (CONFIG_FILE_MAX + 1);
    *size = fread (data, 1, CONFIG_FILE_MAX + 1, file);
    int error = ferror (file)? errno: 0;
    fclose (file);
    if (error)
        snprintf (reason, REASON_SIZE, "%s", strerror (error));
    else
    if (*size > CONFIG_FILE_MAX)
        snprintf (reason, REASON_SIZE, "larger than %d bytes", CONFIG_FILE_MAX);
    else
    if (memchr (data, 0, *size))
        snprintf (reason, REASON_SIZE, "not a text file");
    else
        return data;
    free (data);
    return NULL;
}

//  Turns zconfig's log line "yy-mm-dd hh:mm:ss E (zconfig): (2) indent..."
//  into "line 2: indent...".
static void
s_zpl_reason (const char *logged, char *reason)
{
    const char *marker = logged? strstr (logged, "(zconfig): "): NULL;
    if (!marker) {
        snprintf (reason, REASON_SIZE, "not valid ZPL");
        return;
    }
    const char *text = marker + strlen ("(zconfig): ");
    int line = 0, skip = 0;
    if (sscanf (text, "(%d) %n", &line, &skip) == 1 && skip > 0)
        text += skip;
    char shown [SHOWN_SIZE];
    char first [SHOWN_MAX + 1];
    snprintf (first, sizeof first, "%.*s", (int) strcspn (text, "\n"), text);
    if (line > 0)
        snprintf (reason, REASON_SIZE, "line %d: %s", line, s_shown (first, shown));
    else
        snprintf (reason, REASON_SIZE, "%s", s_shown (first, shown));
}

//  Parses ZPL text.  zconfig reports a syntax error only by printing it on
//  stdout (zclock_log); glibc documents stdout as an assignable variable, so
//  we lend zconfig a memory stream for the parse and turn what it printed
//  into our one-line reason.  Config parsing runs before any thread.
static zconfig_t *
s_zpl_parse (char *data, size_t size, char *reason)
{
    char *logged = NULL;
    size_t logged_size = 0;
    FILE *saved = stdout;
    FILE *capture = open_memstream (&logged, &logged_size);
    fflush (saved);
    if (capture)
        stdout = capture;
    zchunk_t *chunk = zchunk_new (data, size);
    zconfig_t *root = zconfig_chunk_load (chunk);
    zchunk_destroy (&chunk);
    stdout = saved;
    if (capture)
        fclose (capture);
    if (!root)
        s_zpl_reason (logged, reason);
    free (logged);
    return root;
}

//  Applies one top-level key of the file, or reports why it can't.
static int
s_apply_key (ck_config_t *self, const char *path, zconfig_t *item)
{
    char shown [SHOWN_SIZE], where [SHOWN_SIZE + 128];
    const char *name = zconfig_name (item)? zconfig_name (item): "";
    const char *value = zconfig_value (item)? zconfig_value (item): "";
    entry_t *entry = s_lookup (self, name, strlen (name));
    snprintf (where, sizeof where, "--config %s: %s", path, s_shown (name, shown));
    const char *problem = NULL;
    if (!entry)
        problem = "unknown key";
    else
    if (streq (name, "config") || streq (name, "help") || streq (name, "version"))
        problem = "not allowed in a config file";
    else
    if (zconfig_child (item))
        problem = "nested keys are not options";
    else
    if (*value == 0)
        problem = "missing value";
    else
    if (entry->source == SOURCE_FILE && entry->option->kind != CK_OPT_LIST)
        problem = "given twice (only a list option repeats)";
    if (problem) {
        s_fail (self, "%s: %s", where, problem);
        return -1;
    }
    return s_assign (self, entry, value, SOURCE_FILE, where);
}

static int
s_load_file (ck_config_t *self, const char *path)
{
    char shown [SHOWN_SIZE], reason [REASON_SIZE];
    size_t size = 0;
    s_shown (path, shown);
    char *data = s_read_file (path, &size, reason);
    zconfig_t *root = data? s_zpl_parse (data, size, reason): NULL;
    free (data);
    if (!root) {
        s_fail (self, "--config %s: cannot read (%s)", shown, reason);
        return -1;
    }
    int rc = 0;
    for (zconfig_t *item = zconfig_child (root); item && rc == 0; item = zconfig_next (item))
        rc = s_apply_key (self, shown, item);
    zconfig_destroy (&root);
    return rc;
}

//  Scans argv, loads the --config file, then applies the flags over it.
//  Returns 0, 1 when --help was printed, 2 when --version was, 3 when
//  --completion was, or -1 after reporting an error.
static int
s_parse (ck_config_t *self, int argc, char **argv)
{
    pending_t *pending = (pending_t *) zmalloc ((size_t) (argc + 1) * sizeof (pending_t));
    size_t count = 0;
    int rc = s_scan_argv (self, argc, argv, pending, &count);
    const char *path = NULL;
    for (size_t i = 0; rc == 0 && i < count; i++)
        if (streq (pending [i].entry->option->name, "config"))
            path = pending [i].value;
    if (rc == 0 && path)
        rc = s_load_file (self, path);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        char where [128];
        snprintf (where, sizeof where, "--%s", pending [i].entry->option->name);
        rc = s_assign (self, pending [i].entry, pending [i].value, SOURCE_FLAGS, where);
    }
    free (pending);
    if (rc == 1)
        s_print_usage (self);
    if (rc == 2)
        s_print_version (self);
    if (rc == 3)
        s_print_completion (self);
    return rc;
}

//  Parses argv against the program's options; returns a new config, or NULL
//  with *exit_code 0 after --help and 2 after a reported error.
ck_config_t *
ck_config_new (const ck_program_t *program, int argc, char **argv, int *exit_code)
{
    assert (program && program->name && program->options);
    assert (argc == 0 || argv);
    ck_config_t *self = s_self_new (program);
    int rc = s_parse (self, argc, argv);
    if (exit_code)
        *exit_code = rc == -1? 2: 0;     //  1..3: help, version or completion printed
    if (rc != 0)
        ck_config_destroy (&self);
    return self;
}

//  Destroys the config; safe on NULL, nulls the pointer.
void
ck_config_destroy (ck_config_t **self_p)
{
    assert (self_p);
    ck_config_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->entry_count; i++) {
        free (self->entries [i].text);
        s_list_clear (&self->entries [i]);
    }
    for (int i = 0; i < self->arg_count; i++)
        free (self->args [i]);
    free (self->args);
    free (self->entries);
    free (self);
    *self_p = NULL;
}

//  Returns an option's value as text (a list's first item), or NULL when
//  unset; borrowed.
const char *
ck_config_str (ck_config_t *self, const char *name)
{
    entry_t *entry = s_require (self, name, CK_OPT_STRING);
    if (!entry)
        return NULL;
    if (entry->option->kind == CK_OPT_LIST)
        return entry->item_count? entry->items [0]: NULL;
    return entry->text;
}

//  Returns an integer option's value, or 0 when unset.
long
ck_config_int (ck_config_t *self, const char *name)
{
    entry_t *entry = s_require (self, name, CK_OPT_INT);
    return entry && entry->text? entry->number: 0;
}

//  Returns a boolean option's value; false when unset.
bool
ck_config_bool (ck_config_t *self, const char *name)
{
    entry_t *entry = s_require (self, name, CK_OPT_BOOL);
    return entry? entry->flag: false;
}

//  Returns the number of values of a list option.
size_t
ck_config_list_size (ck_config_t *self, const char *name)
{
    entry_t *entry = s_require (self, name, CK_OPT_LIST);
    return entry? entry->item_count: 0;
}

//  Returns the index-th value of a list option, or NULL past the end; borrowed.
const char *
ck_config_list_at (ck_config_t *self, const char *name, size_t index)
{
    entry_t *entry = s_require (self, name, CK_OPT_LIST);
    return entry && index < entry->item_count? entry->items [index]: NULL;
}

//  Returns the number of positional arguments.
int
ck_config_arg_count (ck_config_t *self)
{
    assert (self);
    return self->arg_count;
}

//  Returns the index-th positional argument, or NULL; borrowed.
const char *
ck_config_arg (ck_config_t *self, int index)
{
    assert (self);
    return index >= 0 && index < self->arg_count? self->args [index]: NULL;
}

//  Prints "program: message" on stderr, as config errors are. Can't fail.
void
ck_config_usage_error (ck_config_t *self, const char *format, ...)
{
    assert (self && format);
    va_list args;
    va_start (args, format);
    s_vreport (self->program->name, format, args);
    va_end (args);
}

bool
ck_config_instance (ck_config_t *self, char *instance, size_t size)
{
    const char *given = ck_config_str (self, "instance");
    if (given) {
        snprintf (instance, size, "%s", given);
        return ck_id_valid (given, strlen (given));
    }
    char host [64] = "host";
    gethostname (host, sizeof host - 1);
    host [sizeof host - 1] = 0;
    for (char *c = host; *c; c++)
        if (!ck_id_valid (c, 1))
            *c = '-';
    snprintf (instance, size, "%.40s-%d", host, (int) getpid ());
    return true;
}

const char *
ck_sdk_version (void)
{
    return CK_SOFTWARE_VERSION;
}
