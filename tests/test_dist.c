/*  test_dist.c - what an install puts in place, and that systemd accepts it
    cmake --install into a temp prefix; systemd-analyze verify on the units.
*/
#include <criterion/criterion.h>
#include "process_helpers.h"

#define UNITS "checkout-coordinator.service", "checkout-inventory@.service", \
              "checkout-payment@.service", "checkout-order@.service", "checkout.target"

static const char *s_programs [] = {
    "checkout-coordinator", "checkout-inventory", "checkout-payment", "checkout-order",
    "checkout", "checkout-monitor", "checkout-bench", "checkout-keys", NULL
};
static const char *s_units [] = { UNITS, NULL };

static char s_dir [64];

static void
s_init (void)
{
    cr_assert_eq (ph_mkdtemp ("ck-dist", s_dir, sizeof s_dir), 0);
}

static void
s_fini (void)
{
    ph_rmrf (s_dir);
}

TestSuite (dist, .init = s_init, .fini = s_fini, .timeout = 120);

//  Runs script with sh -c, stdout and stderr to <dir>/name; returns the
//  exit code, the output (malloc'd) in *output
static int
s_sh (const char *name, const char *script, char **output)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    unlink (path);
    int rc = ph_run_shell ("/bin/sh", script, path, 60000);
    *output = ph_slurp (path);
    return rc;
}

static bool
s_exists (const char *prefix, const char *relative)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", prefix, relative);
    return access (path, F_OK) == 0;
}

//  Installs the build into <dir>/root; fills prefix
static void
s_install (char *prefix, size_t size)
{
    char script [PATH_MAX * 2];
    snprintf (prefix, size, "%s/root", s_dir);
    snprintf (script, sizeof script, "cmake --install '%s' --prefix '%s'", CK_BUILD_DIR, prefix);
    char *output = NULL;
    cr_assert_eq (s_sh ("install.out", script, &output), 0, "%s", output? output: "");
    free (output);
}

Test (dist, an_install_has_programs_units_configs_and_docs)
{
    char prefix [128], relative [256];
    s_install (prefix, sizeof prefix);
    for (const char **program = s_programs; *program; program++) {
        snprintf (relative, sizeof relative, "bin/%s", *program);
        cr_expect (s_exists (prefix, relative), "%s", relative);
#if CK_DIST_DOCS
        snprintf (relative, sizeof relative, "share/bash-completion/completions/%s", *program);
        cr_expect (s_exists (prefix, relative), "%s", relative);
#endif
#if CK_DIST_DOCS && CK_HAVE_MAN
        snprintf (relative, sizeof relative, "share/man/man1/%s.1", *program);
        cr_expect (s_exists (prefix, relative), "%s", relative);
#endif
    }
    //  the exporter is Python: installed with its man page and completion
    cr_expect (s_exists (prefix, "bin/checkout-exporter"));
#if CK_DIST_DOCS
    cr_expect (s_exists (prefix, "share/bash-completion/completions/checkout-exporter"));
#endif
#if CK_DIST_DOCS && CK_HAVE_MAN
    cr_expect (s_exists (prefix, "share/man/man1/checkout-exporter.1"));
#endif
    for (const char **unit = s_units; *unit; unit++) {
        snprintf (relative, sizeof relative, "lib/systemd/system/%s", *unit);
        cr_expect (s_exists (prefix, relative), "%s", relative);
    }
    cr_expect (s_exists (prefix, "lib/sysusers.d/checkout.conf"));
    const char *configs [] = { "coordinator", "inventory", "payment", "order", NULL };
    for (const char **config = configs; *config; config++) {
        snprintf (relative, sizeof relative, "etc/checkout/%s.conf", *config);
        cr_expect (s_exists (prefix, relative), "%s", relative);
    }
}

//  Each default config parses and holds only flags its program knows:
//  with the file given, a bad endpoint flag is the only complaint
Test (dist, the_default_configs_are_valid)
{
    const char *programs [][2] = {
        { "coordinator", "--frontend" }, { "inventory", "--coordinator" },
        { "payment", "--coordinator" }, { "order", "--coordinator" }
    };
    char bin [PATH_MAX], conf [PATH_MAX], script [PATH_MAX * 3], expected [128];
    cr_assert_eq (ph_bin_dir (bin, sizeof bin), 0);
    for (int i = 0; i < 4; i++) {
        char relative [64];
        snprintf (relative, sizeof relative, "dist/config/%s.conf", programs [i][0]);
        cr_assert_eq (ph_source_file (relative, conf, sizeof conf), 0);
        snprintf (script, sizeof script, "'%s/checkout-%s' --config '%s' %s bad://",
                  bin, programs [i][0], conf, programs [i][1]);
        char *output = NULL;
        cr_expect_eq (s_sh ("config.out", script, &output), 2);
        snprintf (expected, sizeof expected, "checkout-%s: %s: 'bad://' is not",
                  programs [i][0], programs [i][1]);
        cr_expect (output && strstr (output, expected), "%s", output? output: "");
        free (output);
    }
}

#if CK_HAVE_SYSTEMD_ANALYZE
//  The installed units, with ExecStart pointed at the temp prefix's
//  programs (verify checks that they exist) and, where the man pages were
//  made, Documentation= checked against them.  Any warning fails: verify
//  exits 0 on an unknown key, a typo in a directive.
Test (dist, systemd_accepts_the_units)
{
    char prefix [128], units [256], script [PATH_MAX * 2];
    s_install (prefix, sizeof prefix);
    snprintf (units, sizeof units, "%s/lib/systemd/system", prefix);
    snprintf (script, sizeof script,
              "set -e; cd '%s'; sed -i 's#%s/#%s/bin/#' *.service; "
              "grep -q 'ExecStart=%s/bin/checkout-payment ' checkout-payment@.service; "
              "MANPATH='%s/share/man' systemd-analyze verify --man=%s "
              "checkout-coordinator.service checkout-inventory@inventory-1.service "
              "checkout-payment@payment-1.service checkout-order@order-1.service checkout.target",
              units, CK_INSTALL_BINDIR, prefix, prefix, prefix,
              CK_DIST_DOCS && CK_HAVE_MAN? "yes": "no");
    char *output = NULL;
    int rc = s_sh ("verify.out", script, &output);
    cr_expect_eq (rc, 0, "%s", output? output: "");
    cr_expect (output && *output == 0, "systemd-analyze verify: %s", output? output: "");
    free (output);

    //  and it does object to a mistake
    snprintf (script, sizeof script, "cd '%s' && echo 'Tpye=notify' >> checkout-payment@.service"
              " && systemd-analyze verify --man=no checkout-payment@payment-1.service", units);
    s_sh ("typo.out", script, &output);
    cr_expect (output && strstr (output, "Unknown key 'Tpye'"), "%s", output? output: "");
    free (output);
}

//  What the units promise operators: readiness, the instance's id, the
//  stop order, the user, restart limits, a read-only system
Test (dist, the_units_carry_readiness_order_and_hardening)
{
    char prefix [128], path [512];
    s_install (prefix, sizeof prefix);
    const char *services [] = { "inventory", "payment", "order", NULL };
    for (const char **service = services; *service; service++) {
        snprintf (path, sizeof path, "%s/lib/systemd/system/checkout-%s@.service", prefix,
                  *service);
        char *unit = ph_slurp (path);
        cr_assert_not_null (unit, "%s", path);
        cr_expect (ph_has_line (unit, "^After=.*checkout-coordinator\\.service"), "%s", path);
        cr_expect (ph_has_line (unit, "^ExecStart=.* --config [^ ]*/etc/checkout/[a-z]+\\.conf"
                                      " --instance %i$"), "%s", path);
        free (unit);
    }
    for (const char **unit_name = s_units; *unit_name; unit_name++) {
        if (!strstr (*unit_name, ".service"))
            continue;
        snprintf (path, sizeof path, "%s/lib/systemd/system/%s", prefix, *unit_name);
        char *unit = ph_slurp (path);
        cr_assert_not_null (unit, "%s", path);
        const char *lines [] = {
            "^Type=notify$", "^User=checkout$", "^StateDirectory=checkout$",
            "^StartLimitBurst=6$", "^StartLimitIntervalSec=60$", "^Restart=always$",
            "^NoNewPrivileges=yes$", "^ProtectSystem=strict$", "^ProtectHome=yes$",
            "^PrivateTmp=yes$", "^TimeoutStopSec=10$", NULL
        };
        for (const char **line = lines; *line; line++)
            cr_expect (ph_has_line (unit, *line), "%s: no %s", *unit_name, *line);
        free (unit);
    }
}
#endif

#if CK_HAVE_DOCKER_COMPOSE
//  The container recipe is not run here (no base image can be pulled);
//  its compose file is checked against the schema, and it names the
//  image the Dockerfile builds
Test (dist, the_compose_file_is_valid)
{
    char compose [PATH_MAX], dockerfile [PATH_MAX], script [PATH_MAX * 2];
    cr_assert_eq (ph_source_file ("dist/docker/compose.yaml", compose, sizeof compose), 0);
    cr_assert_eq (ph_source_file ("dist/docker/Dockerfile", dockerfile, sizeof dockerfile), 0);
    snprintf (script, sizeof script, "docker-compose -f '%s' config", compose);
    char *output = NULL;
    cr_expect_eq (s_sh ("compose.out", script, &output), 0, "%s", output? output: "");
    cr_expect (output && strstr (output, "dockerfile: dist/docker/Dockerfile"), "%s",
               output? output: "");
    cr_expect (output && strstr (output, "condition: service_healthy"), "%s",
               output? output: "");
    free (output);
}
#endif
