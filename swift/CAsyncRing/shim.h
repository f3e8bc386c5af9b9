/* The C API of libasyncring for Swift. asyncring.h comes from the include directory that
 * asyncring.pc names (pkg-config --cflags asyncring).
 *
 * <linux/stat.h> supplies `struct statx` and the STATX_* masks for ar_op_statx: glibc
 * declares them only under _GNU_SOURCE, which Swift's Glibc module is not built with, and
 * the kernel's UAPI header needs no feature macro. */
#ifndef CASYNCRING_SHIM_H
#define CASYNCRING_SHIM_H

#include <linux/stat.h>
#include <asyncring.h>

#endif
