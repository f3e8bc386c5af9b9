/* The C API as the Zig package sees it, translated by build.zig (b.addTranslateC) from the
 * installed header, found through pkg-config, so the bindings always match the library that
 * is linked. <errno.h> is here because every call and completion speaks in -errno. */
#include <errno.h>
#include <asyncring.h>
