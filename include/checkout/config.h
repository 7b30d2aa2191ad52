/*  config.h - process configuration from a ZPL file and flags
    Every executable declares its options once; flags override the file.

    A ZPL file holds the same names as the flags, at top level:

        frontend = tcp://127.0.0.1:5570
        db = /var/lib/checkout/coordinator.db
        coordinator = tcp://10.0.0.1:5571        # a list: repeat the key
        coordinator = tcp://10.0.0.2:5571

    --config FILE, --verbose, --help (also -h) and --version are added to
    every program, and --completion bash, which --help leaves out: it
    prints a bash completion script made from the option table.  Any problem (unknown flag or key, missing or bad value,
    unreadable file) prints one line naming it on stderr and gives exit
    code 2.  --version prints the software's version (CK_SOFTWARE_VERSION,
    the project's), which is not the protocol's "v".
*/
#ifndef CK_CONFIG_H_INCLUDED
#define CK_CONFIG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CK_OPT_STRING,                      //  --name VALUE
    CK_OPT_INT,                         //  --name N, checked against min..max
    CK_OPT_BOOL,                        //  --name, no value; "true"/"false" in ZPL
    CK_OPT_LIST                         //  --name VALUE, repeatable
} ck_opt_kind_t;

typedef struct {
    const char *name;                   //  flag without "--", and ZPL key
    ck_opt_kind_t kind;
    const char *value;                  //  default as text, or NULL
    long min, max;                      //  for CK_OPT_INT
    const char *metavar;                //  "EP", "N", "FILE" in --help
    const char *help;
} ck_option_t;

typedef struct _ck_program_t {
    const char *name;                   //  "checkout-payment"
    const char *summary;                //  one line for --help
    const char *args;                   //  positional arguments, "COMMAND [ID]", or NULL
    int max_args;                       //  most positional arguments accepted
    const ck_option_t *options;         //  ended by an entry with name NULL
    const char *examples;               //  lines for --help's Examples, or NULL
    const char *exit_codes;             //  --help's exit codes line, or NULL for 0/1/2
    const char *commands;               //  the words the first positional argument
                                        //  may be, space-separated, for completion;
                                        //  or NULL
} ck_program_t;

typedef struct _ck_config_t ck_config_t;

//  Parses argv against the program's options.  Returns a new config owned by
//  the caller, or NULL with *exit_code set: 0 when --help, --version or
//  --completion was printed, 2 after a usage or configuration error
//  (already reported on stderr).
ck_config_t *ck_config_new (const ck_program_t *program, int argc, char **argv, int *exit_code);

//  Destroys the config; safe on NULL, nulls the pointer.
void ck_config_destroy (ck_config_t **self_p);

//  Value of an option, or NULL when neither flag, file nor default set it.
//  Borrowed: valid while the config lives.
const char *ck_config_str (ck_config_t *self, const char *name);

//  Value of an integer option, or 0 when unset.
long ck_config_int (ck_config_t *self, const char *name);

//  Value of a boolean option (--verbose included).
bool ck_config_bool (ck_config_t *self, const char *name);

//  Number of values of a list option, and the index-th of them (borrowed).
//  Flags given on the command line replace the file's list, not extend it.
size_t ck_config_list_size (ck_config_t *self, const char *name);
const char *ck_config_list_at (ck_config_t *self, const char *name, size_t index);

//  Fills instance (size bytes, CK_ID_SIZE will do) with the --instance
//  option's value, or when unset with the host name and the PID made into
//  an id ("web-3-4711").  Returns false when --instance is not a valid id.
bool ck_config_instance (ck_config_t *self, char *instance, size_t size);

//  Positional arguments, in order (borrowed).
int ck_config_arg_count (ck_config_t *self);
const char *ck_config_arg (ck_config_t *self, int index);

//  Prints "program: message" on stderr, the way config errors are reported,
//  for checks a program makes after parsing (e.g. a missing --seed file).
void ck_config_usage_error (ck_config_t *self, const char *format, ...);

#ifdef __cplusplus
}
#endif

#endif
