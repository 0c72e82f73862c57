// net/memory: keeps memory that sessions freed from staying with the process.
//
// glibc's malloc keeps what is freed in its arenas (one per thread that allocates, up to 8 per core:
// the worker pool alone has 32 threads), and returns an arena's pages only from its top. Worse, its
// mmap threshold is dynamic: once a block of 5 MB that was mapped is freed, the threshold rises to 5 MB
// and later blocks of that size come from the arenas, where they stay after they are freed (a server
// that had sent large messages kept 1.6 GB). So: a fixed threshold (large buffers are always mapped,
// and unmapped when freed), fewer arenas, and a trim of the free pages of every arena after work that
// moved much data.
//
// Thread-safe (both calls are glibc's own, which lock the arenas).
#pragma once
#include <cstddef>

namespace tern::net {

// Buffers of at least this size are mapped and unmapped on their own.
// Below it, the batches of small responses (a FETCH chunk, the output buffer: up to about 512 KB,
// allocated and freed for every batch) stay in the arenas, where mapping each would cost page faults.
inline constexpr std::size_t mmap_threshold = 1024 * 1024;
inline constexpr unsigned arenas_per_core = 2;

// Call once, early in main (before the threads start).
void limit_allocator_caches();
// Gives the free pages of every arena back to the system (malloc_trim). Costs a walk of the free
// lists: call it after a session that moved much data ends, not after every small one.
void release_free_memory();

}  // namespace tern::net
