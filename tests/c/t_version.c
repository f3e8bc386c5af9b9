/* The library reports the version of the header it was built with. */
#include "harness.h"

int main(void) {
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", AR_VERSION_MAJOR, AR_VERSION_MINOR, AR_VERSION_PATCH);
    CHECK(strcmp(ar_version(), expect) == 0);
    ar_ring_config c;
    memset(&c, 0xff, sizeof c);
    ar_ring_config_default(&c);
    CHECK_EQ(c.sq_entries, 256);
    CHECK_EQ(c.cq_entries, 1024);
    CHECK_EQ(c.flags, 0);
    CHECK_EQ(c.reserved[0] | c.reserved[1] | c.reserved[2] | c.reserved[3], 0);
    ar_ring_config_default(NULL); /* a no-op */
    return 0;
}
