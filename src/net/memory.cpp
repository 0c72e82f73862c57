#include "net/memory.hpp"

#include <malloc.h>

namespace tern::net {

void limit_allocator_caches() {
#ifdef M_MMAP_THRESHOLD
  // Setting it also turns off the dynamic threshold (mallopt(3)).
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmap_threshold));
  // Free memory at the top of the main heap goes back above this (the default, 128 KB, becomes
  // dynamic too unless set).
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * mmap_threshold));
#endif
}

void release_free_memory() {
#ifdef M_MMAP_THRESHOLD
  malloc_trim(0);
#endif
}

}  // namespace tern::net
