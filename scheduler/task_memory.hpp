// Memory for tasks' control blocks, apart from their stacks.
//
// Why apart. A task's control block holds what outlives the fiber: its result or exception, the
// join word and the references. Kept at the top of the fiber's stack (as ctx::fiber::emplace
// does for coroutines), every fiber that finished but is not joined yet pins a whole stack: in
// "spawn 10k, then join them all" that is 10k stacks, each touched afresh — a cache and TLB miss
// per task, at 64 KiB strides that also map to the same cache sets — and 100k finished,
// unjoined fibers would hold 6.4 GB of address space. With the block apart, a fiber's stack
// goes back to the pool the moment the fiber ends (worker.cpp, after_exit): the next spawn on
// that worker runs on the same hot stack, and an unjoined result costs a few hundred bytes.
// Go frees a finished goroutine's stack the same way; a joinable std::thread keeps its stack.
//
// How. Blocks come in 64-byte size classes up to max_pooled_bytes, each class a LIFO free list
// per thread (intrusive: the node lives in the free block), refilled from and spilled to one
// shared list per class under a mutex, so a producer/consumer pair of threads — one spawns, the
// other joins and frees — cannot grow the pool without bound. New blocks are carved from chunks
// that are never returned (the stack pool's policy: steady state costs no allocation at all).
// Larger blocks (a callable with big captures) use ::operator new.
// Rejected: malloc for every block (glibc's tcache holds 7 blocks per size and then takes the
// arena lock: +30-40 ns per spawn+join here, a quarter of its cost); one block class per task
// type (templates cannot share a pool then, and a program's many small lambdas would each hold
// a cache of their own).
#pragma once

#include <cstddef>

namespace weft::sched::task_memory {

// Blocks up to this size are pooled; larger ones come from ::operator new.
inline constexpr std::size_t max_pooled_bytes = 2048;
// Every block is aligned to this (a control block's cache-line alignment).
inline constexpr std::size_t block_alignment = 64;

// A block of at least `bytes` bytes, 64-byte aligned. Steady state: pops this thread's list, no
// lock and no system call. Throws std::bad_alloc if memory runs out.
void* allocate(std::size_t bytes);

// Returns a block. Precondition: `p` came from allocate(bytes) with the same `bytes`, and nobody
// uses it any more. Any thread may release any block. Never blocks but briefly on a spill.
void release(void* p, std::size_t bytes) noexcept;

// How many pooled blocks have been carved from fresh memory so far, all threads and classes (the
// pool's high-water mark, in blocks). Takes the pool's mutex.
std::size_t carved_blocks() noexcept;

}  // namespace weft::sched::task_memory
