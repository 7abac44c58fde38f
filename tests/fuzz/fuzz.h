/* The libFuzzer entry point every harness in tests/fuzz defines. */
#ifndef TESTS_FUZZ_H
#define TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/*
 * Run one input; returns 0.  A bug shows as a crash or a sanitizer report
 * (or abort() when a harness's own check fails), never as a return value.
 */
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
