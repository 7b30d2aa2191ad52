/*  saga_def_load.c - a step table read from a ZPL file
    The file format of docs/saga-steps.md, the vocabulary it adds, and the
    process's active table.

    A loaded table lives in static storage for the life of the process:
    the engine, the ledger and the codec read it from any thread once the
    process has started, and it never changes after that.
*/
#include <czmq.h>
#include "checkout/config.h"
#include "saga_def.h"

//  Storage of the loaded table; row strings point into keys
static saga_step_t s_rows [CK_MAX_STEPS];
static char s_keys [CK_MAX_STEPS][CK_NAME_SIZE];
static char s_name [CK_NAME_SIZE];
static saga_def_t s_loaded = { s_name, s_rows, 0 };
static const saga_def_t *s_active = NULL;

static const struct {
    const char *name;
    unsigned bit;
} s_field_names [] = {
    { "items", SAGA_FIELD_ITEMS }, { "prices", SAGA_FIELD_PRICES },
    { "cart", SAGA_FIELD_CART }, { "customer", SAGA_FIELD_CUSTOMER },
    { "amount", SAGA_FIELD_AMOUNT }, { "payment", SAGA_FIELD_PAYMENT },
    { "ship_to", SAGA_FIELD_SHIP_TO }, { "results", SAGA_FIELD_RESULTS }
};


const saga_def_t *
saga_def_active (void)
{
    return s_active? s_active: saga_def_checkout ();
}


//  Fails the load with "path: step N: message"; returns -1
static int
s_fail (char *error, size_t size, const char *path, int step, const char *format, ...)
{
    char message [256];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    if (step > 0)
        snprintf (error, size, "%s: step %d: %s", path, step, message);
    else
        snprintf (error, size, "%s: %s", path, message);
    return -1;
}

//  The step kind called name, or NONE
static saga_step_kind_t
s_kind (const char *name)
{
    for (int kind = SAGA_STEP_COMPENSATABLE; kind <= SAGA_STEP_RETRIABLE; kind++)
        if (streq (name, saga_step_kind_name ((saga_step_kind_t) kind)))
            return (saga_step_kind_t) kind;
    return SAGA_STEP_NONE;
}

//  The SAGA_FIELD_* bits of a list like "items ship_to" (spaces or
//  commas); -1 when a name is unknown, with it in bad
static int
s_fields (const char *list, char *bad, size_t bad_size)
{
    int bits = 0;
    char copy [256];
    snprintf (copy, sizeof copy, "%s", list);
    for (char *rest = copy, *word; (word = strtok_r (rest, " ,", &rest)); ) {
        size_t index = 0;
        while (index < sizeof s_field_names / sizeof s_field_names [0]
           &&  !streq (word, s_field_names [index].name))
            index++;
        if (index == sizeof s_field_names / sizeof s_field_names [0]) {
            snprintf (bad, bad_size, "%s", word);
            return -1;
        }
        bits |= (int) s_field_names [index].bit;
    }
    return bits;
}

//  Reads one step into row, adding its service and types to the
//  vocabulary; 0 or -1 with error
static int
s_read_step (zconfig_t *step, int number, saga_step_t *row, char *key,
             const char *path, char *error, size_t size)
{
    const char *service = zconfig_get (step, "service", "");
    const char *action = zconfig_get (step, "action", "");
    const char *compensation = zconfig_get (step, "compensation", "");
    const char *result = zconfig_get (step, "result", "");
    char bad [64];
    int fields = s_fields (zconfig_get (step, "fields", ""), bad, sizeof bad);
    row->kind = s_kind (zconfig_get (step, "kind", ""));
    if (row->kind == SAGA_STEP_NONE)
        return s_fail (error, size, path, number, "kind must be compensatable, pivot or retriable");
    if (fields < 0)
        return s_fail (error, size, path, number, "unknown field '%s'", bad);
    row->fields = (unsigned) fields;
    if (!(row->service = ck_service_add (service)))
        return s_fail (error, size, path, number, "bad service '%s'", service);
    snprintf (key, CK_NAME_SIZE, "%s", result);
    row->result = *key? key: NULL;
    row->action = ck_type_add (action, row->service, false, row->result);
    if (!row->action)
        return s_fail (error, size, path, number, "action '%s' is not a name, or is"
                       " known with another service or result", action);
    row->compensation = CK_TYPE_NONE;
    if ((row->kind == SAGA_STEP_COMPENSATABLE) != (*compensation != 0))
        return s_fail (error, size, path, number, "a compensation is needed exactly"
                       " when the step is compensatable");
    if (*compensation
    &&  !(row->compensation = ck_type_add (compensation, row->service, true, NULL)))
        return s_fail (error, size, path, number, "compensation '%s' is not a name, or"
                       " is known as another service's or as an action", compensation);
    return 0;
}


int
saga_def_load (const char *path, char *error, size_t error_size)
{
    assert (path && error);
    zconfig_t *root = zconfig_load (path);
    if (!root)
        return s_fail (error, error_size, path, 0, "cannot read it as a ZPL file");
    zconfig_t *saga = zconfig_locate (root, "saga");
    int rc = saga? 0: s_fail (error, error_size, path, 0, "no 'saga' section");
    uint32_t count = 0;
    if (saga)
        snprintf (s_name, sizeof s_name, "%s", zconfig_get (saga, "name", "saga"));
    for (zconfig_t *child = saga? zconfig_child (saga): NULL; child && rc == 0;
         child = zconfig_next (child)) {
        if (!streq (zconfig_name (child), "step"))
            continue;
        if (count == CK_MAX_STEPS)
            rc = s_fail (error, error_size, path, 0, "more than %d steps", CK_MAX_STEPS);
        else {
            rc = s_read_step (child, (int) count + 1, &s_rows [count], s_keys [count],
                              path, error, error_size);
            count++;
        }
    }
    s_loaded.step_count = count;
    if (rc == 0 && saga_def_check (&s_loaded))
        rc = s_fail (error, error_size, path, 0, "not a valid saga: compensatable steps"
                     " first, at most one pivot, then retriable ones, each type once");
    zconfig_destroy (&root);
    if (rc == 0)
        s_active = &s_loaded;
    return rc;
}


int
saga_def_load_flag (ck_config_t *config)
{
    const char *path = ck_config_str (config, "steps");
    char error [512];
    if (path && saga_def_load (path, error, sizeof error)) {
        ck_config_usage_error (config, "--steps: %s", error);
        return 2;
    }
    return 0;
}
