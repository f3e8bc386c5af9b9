/* The installed header must compile with nothing before it, as C11 and as C++17. */
#include <asyncring.h>

#if !defined(AR_VERSION_MAJOR) || !defined(AR_VERSION_MINOR) || !defined(AR_VERSION_PATCH)
#error "version macros missing"
#endif

int main(void) {
    ar_ring *ring = 0;
    ar_ring_config config;
    ar_ring_config_default(&config);
    (void)ring;
    return 0;
}
