#ifndef COHORT_MALLOC_COUNTER_H
#define COHORT_MALLOC_COUNTER_H
// Counts heap allocations made by one thread, for allocation tests and
// benchmarks. Linking this target replaces malloc, calloc, realloc,
// posix_memalign and aligned_alloc in the whole executable (ELF symbol
// interposition: libswiftCore, libsrtp2 and NSS all call these). Each
// forwards to glibc's allocator and counts only on the thread being
// measured, so other threads cost one relaxed atomic load per call.

/// Starts counting the calling thread's allocations from zero.
void cohort_malloc_counter_start(void);
/// Stops counting and returns the number of allocations since start.
long cohort_malloc_counter_stop(void);

#endif
