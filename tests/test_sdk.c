/*  test_sdk.c - the installed SDK: libcheckout, its headers, checkout.pc, find_package
    cmake --install into a temp prefix, then a client and a participant built
    against that prefix alone (pkg-config, and CMake) run a real checkout.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"

#if CK_HAVE_SDK

static e2e_group_t s_group;
static char s_prefix [PATH_MAX];        //  <dir>/root
static char s_libdir [PATH_MAX];        //  where libcheckout is

static void
s_fini (void)
{
    e2e_group_fini (&s_group);
}

TestSuite (sdk, .fini = s_fini, .timeout = 240);

//  Runs script under sh with stdout and stderr in <dir>/<name>.out;
//  returns the exit code, the output (malloc'd) in *output
static int
s_sh (const char *name, const char *script, char **output)
{
    char file [64], path [PATH_MAX];
    snprintf (file, sizeof file, "%s.out", name);
    e2e_path (&s_group, file, path, sizeof path);
    int rc = ph_run_shell ("/bin/sh", script, path, 120000);
    *output = ph_slurp (path);
    return rc;
}

//  As s_sh; asserts that it exits 0 and frees the output
static void
s_sh_ok (const char *name, const char *script)
{
    char *output = NULL;
    int rc = s_sh (name, script, &output);
    cr_assert_eq (rc, 0, "%s: %s", name, output? output: "");
    free (output);
}

//  Installs the build into <dir>/root and finds its libdir
static void
s_install (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-sdk"), 0);
    snprintf (s_prefix, sizeof s_prefix, "%s/root", s_group.dir);
    char script [PATH_MAX * 3];
    snprintf (script, sizeof script, "cmake --install '%s' --prefix '%s'", CK_BUILD_DIR, s_prefix);
    s_sh_ok ("install", script);
    snprintf (script, sizeof script,
              "dirname \"$(find '%s' -name checkout.pc)\" | sed 's,/pkgconfig$,,'", s_prefix);
    char *output = NULL;
    cr_assert_eq (s_sh ("libdir", script, &output), 0);
    cr_assert (output && output [0] == '/', "no checkout.pc under %s", s_prefix);
    output [strcspn (output, "\n")] = 0;
    snprintf (s_libdir, sizeof s_libdir, "%s", output);
    free (output);
}

Test (sdk, the_library_has_a_soname_and_exports_only_ck_names)
{
    s_install ();
    char script [PATH_MAX * 3];
    char *output = NULL;
    snprintf (script, sizeof script, "readelf -d '%s/libcheckout.so' | grep SONAME", s_libdir);
    cr_assert_eq (s_sh ("soname", script, &output), 0);
    cr_expect (strstr (output, "[libcheckout.so.1]"), "%s", output);
    free (output);
    //  every defined dynamic symbol but the version node
    snprintf (script, sizeof script,
              "nm -D --defined-only '%s/libcheckout.so.1' | awk '$2 != \"A\" { print $3 }'",
              s_libdir);
    cr_assert_eq (s_sh ("exports", script, &output), 0);
    int count = 0, foreign = 0;
    for (char *name = strtok (output, "\n"); name; name = strtok (NULL, "\n")) {
        count++;
        if (strncmp (name, "ck_", 3)) {
            foreign++;
            cr_expect (false, "exported without the ck_ prefix: %s", name);
        }
    }
    free (output);
    cr_expect_gt (count, 50, "%d names exported", count);
    cr_expect_eq (foreign, 0);
    //  headers only under include/checkout/, each one compiling on its own
    snprintf (script, sizeof script,
              "cd '%s/include' && test -z \"$(find . -maxdepth 1 -type f)\" && "
              "for h in checkout/*.h; do printf '#include <%%s>\\n' $h | "
              "cc -Wall -Wextra -Werror -fsyntax-only -I. $(pkg-config --cflags libczmq) -x c - "
              "|| exit 1; done", s_prefix);
    s_sh_ok ("headers", script);
}

Test (sdk, a_client_and_a_participant_built_against_the_install_run_a_checkout)
{
    s_install ();
    char sources [PATH_MAX], script [PATH_MAX * 8];
    cr_assert_eq (ph_source_file ("tests/sdk", sources, sizeof sources), 0);
    //  pkg-config alone, from the installed checkout.pc
    snprintf (script, sizeof script,
              "set -e; export PKG_CONFIG_PATH='%s/pkgconfig'; "
              "test \"$(pkg-config --modversion checkout)\" = '" CK_SOFTWARE_VERSION "'; "
              "for p in sdk_client sdk_participant; do "
              "cc -Wall -Wextra -Werror '%s'/$p.c -o '%s'/$p $(pkg-config --cflags --libs checkout); "
              "done", s_libdir, sources, s_group.dir);
    s_sh_ok ("pkg-config", script);
    //  CMake alone, from the installed package config
    snprintf (script, sizeof script,
              "set -e; cmake -S '%s' -B '%s/cmake' -DCMAKE_PREFIX_PATH='%s'; "
              "cmake --build '%s/cmake'", sources, s_group.dir, s_prefix, s_group.dir);
    s_sh_ok ("find_package", script);
    //  both load the installed library
    cr_assert_eq (setenv ("LD_LIBRARY_PATH", s_libdir, 1), 0);
    snprintf (script, sizeof script,
              "ldd '%s/sdk_client' | grep -F 'libcheckout.so.1 => %s/' && "
              "ldd '%s/cmake/sdk_participant' | grep -F 'libcheckout.so.1 => %s/'",
              s_group.dir, s_libdir, s_group.dir, s_libdir);
    s_sh_ok ("ldd", script);

    //  the real coordinator, inventory and order; payment is the SDK's
    cr_assert_geq (e2e_start_coordinator (&s_group, NULL), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "inventory", "inventory-1", NULL), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "order", "order-1", NULL), 0);
    char program [PATH_MAX], log [PATH_MAX];
    snprintf (program, sizeof program, "%s/sdk_participant", s_group.dir);
    e2e_path (&s_group, "sdk_participant.log", log, sizeof log);
    char *argv [] = { program, s_group.backend, "payment-sdk", NULL };
    int slot = E2E_MAX_PROCS - 1;
    cr_assert_eq (s_group.pids [slot], 0);
    s_group.pids [slot] = ph_spawn (program, argv, log);
    cr_assert_gt (s_group.pids [slot], 0);
    cr_assert_eq (e2e_wait_ready (&s_group, 1, 1, 1, 20000), 0, "the group did not start");

    char *output = NULL;
    snprintf (script, sizeof script, "'%s/sdk_client' '%s' co-sdk-1",
              s_group.dir, s_group.frontend);
    int rc = s_sh ("client", script, &output);
    cr_expect_eq (rc, 0, "%s", output);
    cr_expect (strstr (output, "status=confirmed"), "%s", output);
    cr_expect (strstr (output, "sdk " CK_SOFTWARE_VERSION " (headers " CK_SOFTWARE_VERSION ")"),
               "%s", output);
    free (output);
    //  the CMake-built client, once more
    snprintf (script, sizeof script, "'%s/cmake/sdk_client' '%s' co-sdk-2",
              s_group.dir, s_group.frontend);
    rc = s_sh ("client-cmake", script, &output);
    cr_expect_eq (rc, 0, "%s", output);
    free (output);
    //  the SDK participant authorized both, and stops cleanly on SIGTERM
    cr_expect_eq (e2e_stop (&s_group, slot, SIGTERM, 10000), 0);
    char *authorized = ph_slurp (log);
    cr_assert (authorized);
    int count = 0;
    for (const char *at = authorized; (at = strstr (at, "authorized saga=")); at++)
        count++;
    cr_expect_eq (count, 2, "%s", authorized);
    free (authorized);
}

#else

//  The sanitizer builds make no shared library (CMakeLists.txt)
Test (sdk, not_in_the_sanitizer_builds)
{
    cr_assert (true);
}

#endif
