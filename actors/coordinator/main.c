/*  main.c - checkout-coordinator, placeholder
    Stands in until the coordinator actor exists, so its modules build.
*/
#include <stdio.h>

int
main (void)
{
    fprintf (stderr, "checkout-coordinator: not built yet\n");
    return 1;
}
