// Fiber stacks: carved from large mmap'd slabs, protected by a guard page while the kernel's
// mapping budget allows and by a canary beyond it, and recycled through a per-thread cache in
// front of one shared pool, so that creating a fiber costs no system call in steady state.
//
// Design notes
// ------------
// * Why slabs. Linux limits a process to vm.max_map_count mappings (65,530 by default). A
//   PROT_NONE guard page splits a mapping, so every guarded stack costs two mappings wherever it
//   lives; one mmap per stack would cost the same and add a system call per stack. Slabs amortise
//   the system calls and let unguarded stacks cost no mapping at all beyond their slab's one.
//   Unguarded slabs grow geometrically, so 1M stacks need only a few dozen mappings.
// * Guard pages first, canaries after. Guarded slabs are handed out until the guard budget
//   (about half of max_map_count minus a reserve for the rest of the process) is spent; after
//   that slabs have no guard pages and each stack has a canary word just below its lowest address,
//   which the runtime checks whenever a fiber switches out. `stack::protection` says which one a
//   stack has, so diagnostics can name it.
// * WEFT_STACK_GUARDS=<n> caps the guard budget (tests use 0 to exercise canaries).
// * Never unmapped. Stacks live until the process exits: a stack freed by one fiber is the next
//   fiber's, and its pages are already faulted in (a first-touch fault costs ~2 µs here, more than
//   a whole fiber's life). The pool's footprint is therefore its high-water mark.
// * Rejected: one mmap per stack with munmap on free (a syscall pair per fiber, and the map limit
//   near 32k fibers); malloc'd stacks (no guard page, and glibc would hand back memory that the
//   overflow handler cannot recognise); growable segmented stacks (need compiler support).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace weft::ctx {

// The smallest usable stack we accept. Below it even the fiber's own entry frame, an exception
// unwind and a printf do not fit reliably.
inline constexpr std::size_t min_stack_size = 16 * 1024;

// The default usable size. Sanitizer builds get more: ASan's redzones and TSan's shadow calls
// make frames several times larger.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr std::size_t default_stack_size = 256 * 1024;
#else
inline constexpr std::size_t default_stack_size = 64 * 1024;
#endif

enum class stack_protection : std::uint8_t {
  guard_page,  // a PROT_NONE page below the stack: overflow faults at once
  canary,      // a magic word just below the lowest address, checked at every switch-out
};

const char* to_string(stack_protection p) noexcept;

// Canary stacks lie back to back in their slab, and each one's canary is the word just below
// its limit — the top of its lower neighbour, whose last bytes are reserved for it. That page
// is already resident (the neighbour's control block lives there), so a canary costs no page
// of its own: a 4 KiB page per fiber at 1M fibers, had it sat at the stack's own lowest word.
inline constexpr std::size_t canary_reserve = 64;  // at the top of a canary stack's region

// One stack region [limit, limit + size), usable up to top(). Plain value; owned by whoever
// allocated it.
struct stack {
  // limit and protection first: the check at every switch-out reads them (fiber.hpp), and a
  // control block keeps them in its first cache line (scheduler/task.hpp).
  std::byte* limit = nullptr;  // lowest usable address (the guard page, if any, is just below)
  stack_protection protection = stack_protection::guard_page;
  std::size_t size = 0;  // the region's bytes, a multiple of the page size

  // One past the highest usable byte: a canary stack leaves its last bytes to its upper
  // neighbour's canary.
  std::byte* top() const noexcept {
    return limit + size - (protection == stack_protection::canary ? canary_reserve : 0);
  }
  explicit operator bool() const noexcept { return limit != nullptr; }
};

// True while the canary just below the stack's lowest address is intact. Only canary stacks carry
// one; for guard-page stacks this is always true.
bool canary_intact(const stack& s) noexcept;

class stack_pool {
 public:
  struct stats {
    std::size_t stacks_mapped;  // stacks carved from slabs so far (the high-water mark)
    std::size_t stacks_in_use;  // allocated and not yet released
    std::size_t guarded;        // of stacks_mapped: protected by a guard page
    std::size_t canary_only;    // of stacks_mapped: protected by a canary only
    std::size_t slabs;          // mappings made for stacks
    std::size_t guard_budget;   // how many guarded stacks the mapping limit allows
  };

  // The process-wide pool. Never destroyed (stacks may be released during static destruction).
  static stack_pool& global() noexcept;

  // Returns a stack of at least `size` usable bytes (0 means default_stack_size), rounded up to
  // whole pages. Steady state: pops this thread's cache, no system call, no lock.
  // Throws std::invalid_argument if size is below min_stack_size, std::bad_alloc if the kernel
  // refuses a new slab.
  stack allocate(std::size_t size = 0);

  // `size` rounded up to whole pages: what allocate() hands out, and the size its lock-free fast
  // path matches exactly (a caller that allocates one size often should pass it rounded).
  static std::size_t round_stack_size(std::size_t size) noexcept;

  // Gives `s` back for reuse. Precondition: `s` came from allocate() on this pool and no context
  // is running on it. Any thread may release any stack.
  void release(stack s) noexcept;

  stats snapshot() const noexcept;

  // Signal-safe lookup for the overflow handler: if `addr` lies in the guard page of a stack
  // carved by this pool, stores that stack in *out and returns true.
  bool find_guarded_stack(const void* addr, stack* out) const noexcept;

  stack_pool(const stack_pool&) = delete;
  stack_pool& operator=(const stack_pool&) = delete;

 private:
  stack_pool() noexcept;
  ~stack_pool() = default;
  friend struct stack_pool_access;
  friend struct thread_cache;

  stack allocate_slow(std::size_t size);
  void release_slow(stack s) noexcept;
  stack take_shared(std::size_t size);
  void map_slab(std::size_t size);

  struct impl;
  impl* impl_;
};

}  // namespace weft::ctx
