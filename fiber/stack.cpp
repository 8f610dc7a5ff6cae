// Stack pool implementation; the design essay is in stack.hpp.
//
// Structure: each thread keeps a small cache of free stacks per size class (intrusive lists whose
// nodes live inside the free stacks themselves, so caching allocates nothing). A miss refills a
// batch from the shared pool under its mutex; an empty shared pool maps a new slab. Releases go to
// the releasing thread's cache and spill half of it to the shared pool when it is full, so a
// producer/consumer pair of threads does not grow the pool without bound.
#include "stack.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "sanitizer.hpp"
#if WEFT_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace weft::ctx {
namespace {

constexpr std::uint64_t canary_word = 0xC0FFEE5AFEC0DE11ull;
constexpr std::size_t max_guarded_per_slab = 16;
constexpr std::size_t max_slab_bytes = std::size_t{1} << 30;
constexpr std::size_t reserved_mappings = 16384;  // left for the heap, libraries, thread stacks
constexpr std::size_t cache_classes = 4;
constexpr std::size_t cache_capacity = 64;  // per class and thread
constexpr std::size_t refill_batch = 16;
constexpr std::size_t max_registry = 8192;  // guarded slabs the overflow handler can search

std::size_t page_size() noexcept {
  static const std::size_t p = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return p;
}

std::size_t round_to_pages(std::size_t n) noexcept {
  const std::size_t p = page_size();  // a power of two
  return (n + p - 1) & ~(p - 1);
}

std::size_t read_max_map_count() noexcept {
  std::size_t value = 65530;  // the kernel's default, if /proc is unreadable
  if (std::FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
    unsigned long v = 0;
    if (std::fscanf(f, "%lu", &v) == 1) value = v;
    std::fclose(f);
  }
  return value;
}

// A free stack, threaded through a list by a node written at its top.
struct free_node {
  free_node* next;
  stack s;
};

free_node* node_of(const stack& s) noexcept {
  return reinterpret_cast<free_node*>(s.top() - sizeof(free_node));
}

struct free_list {
  std::size_t size = 0;
  free_node* head = nullptr;
  std::size_t count = 0;

  void push(const stack& s) noexcept {
    free_node* n = node_of(s);
    n->next = head;
    n->s = s;
    head = n;
    ++count;
  }
  stack pop() noexcept {
    free_node* n = head;
    head = n->next;
    --count;
    return n->s;
  }
};

struct guarded_slab {
  std::uintptr_t base;  // first guard page
  std::size_t stride;   // guard page + usable stack
  std::size_t count;    // stacks in the slab that have a guard page
};

}  // namespace

struct thread_cache;

struct stack_pool_access {
  static stack_pool::impl& impl_of(stack_pool& p) noexcept { return *p.impl_; }
};

struct stack_pool::impl {
  std::mutex mu;
  std::vector<free_list> shared;  // guarded by mu

  std::size_t guard_budget = 0;
  std::size_t guarded_mapped = 0;  // guarded by mu
  std::size_t canary_mapped = 0;   // guarded by mu
  std::size_t slabs = 0;           // guarded by mu

  // Append-only registry read by the signal handler without locking.
  std::array<guarded_slab, max_registry> registry{};
  std::atomic<std::size_t> registry_size{0};

  // Stacks in use = what live threads allocated minus released, plus what exited threads
  // left (a thread may release more than it allocated). Per-thread counts keep the hot path
  // free of shared read-modify-writes.
  std::vector<thread_cache*> caches;  // guarded by mu
  std::int64_t retired_net = 0;       // guarded by mu

  free_list& shared_class(std::size_t size) {
    for (auto& l : shared)
      if (l.size == size) return l;
    shared.push_back(free_list{size, nullptr, 0});
    return shared.back();
  }
};

// This thread's cache, registered with the pool so snapshot() can count stacks in use. The
// destructor returns everything to the shared pool at thread exit.
struct thread_cache {
  std::array<free_list, cache_classes> classes{};
  // allocations minus releases on this thread; written by this thread only (relaxed load +
  // store), read by snapshot() under the pool's mutex.
  std::atomic<std::int64_t> net{0};

  thread_cache();
  ~thread_cache();
  void count(std::int64_t d) noexcept {
    // relaxed: a statistic with a single writer.
    net.store(net.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
  }
};

namespace {

// The fast path reads a trivially destructible pointer (initial-exec TLS, no init guard); the
// object itself is created on a thread's first allocation or release.
[[gnu::tls_model("initial-exec")]] thread_local thread_cache* tl_cache = nullptr;
[[gnu::tls_model("initial-exec")]] thread_local bool tl_cache_closed = false;

[[gnu::noinline]] thread_cache* make_cache() noexcept {
  if (tl_cache_closed) return nullptr;  // the thread is exiting: bypass the cache
  thread_local thread_cache cache;
  return &cache;
}

inline thread_cache* my_cache() noexcept {
  thread_cache* c = tl_cache;
  return c != nullptr ? c : make_cache();
}

free_list* cache_class(thread_cache* c, std::size_t size, bool create) noexcept {
  if (c == nullptr) return nullptr;
  for (auto& l : c->classes)
    if (l.size == size && (l.count > 0 || create)) return &l;
  if (!create) return nullptr;
  for (auto& l : c->classes)
    if (l.count == 0) {
      l.size = size;
      return &l;
    }
  return nullptr;  // all classes busy with other sizes: caller uses the shared pool
}

}  // namespace

thread_cache::thread_cache() {
  tl_cache = this;
  stack_pool::impl& p = stack_pool_access::impl_of(stack_pool::global());
  std::lock_guard lk(p.mu);
  p.caches.push_back(this);
}

thread_cache::~thread_cache() {
  tl_cache = nullptr;
  tl_cache_closed = true;
  stack_pool::impl& p = stack_pool_access::impl_of(stack_pool::global());
  std::lock_guard lk(p.mu);
  for (auto& l : classes)
    while (l.count > 0) p.shared_class(l.size).push(l.pop());
  p.retired_net += net.load(std::memory_order_relaxed);  // relaxed: our own counter
  std::erase(p.caches, this);
}

const char* to_string(stack_protection p) noexcept {
  return p == stack_protection::guard_page ? "guard page" : "canary";
}

namespace {
std::byte* canary_of(const stack& s) noexcept {
  return s.limit - sizeof(canary_word);
}
void arm_canary(const stack& s) noexcept {
  std::memcpy(canary_of(s), &canary_word, sizeof canary_word);
}
}  // namespace

bool canary_intact(const stack& s) noexcept {
  if (s.protection != stack_protection::canary) return true;
  std::uint64_t w;
  std::memcpy(&w, canary_of(s), sizeof w);
  return w == canary_word;
}

stack_pool& stack_pool::global() noexcept {
  // Leaked on purpose: threads may release stacks during static destruction.
  static stack_pool* pool = new stack_pool();
  return *pool;
}

stack_pool::stack_pool() noexcept : impl_(new impl) {
  const std::size_t maps = read_max_map_count();
  impl_->guard_budget = maps > reserved_mappings ? (maps - reserved_mappings) / 2 : 0;
  // WEFT_STACK_GUARDS=<n> lowers the budget: n guarded stacks, canaries after (0: canaries only).
  if (const char* env = std::getenv("WEFT_STACK_GUARDS")) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0')
      impl_->guard_budget = std::min<std::size_t>(impl_->guard_budget, n);
  }
}

stack stack_pool::allocate(std::size_t size) {
  // Fast path: a cached stack of exactly this (already page-rounded) size. No lock, no
  // rounding, no system call; a request that is 0, unrounded or uncached takes the slow path.
  if (thread_cache* c = tl_cache) [[likely]] {
    for (free_list& l : c->classes)
      if (l.size == size && l.count > 0) {
        c->count(+1);
        return l.pop();
      }
  }
  return allocate_slow(size);
}

stack stack_pool::allocate_slow(std::size_t size) {
  if (size == 0) size = default_stack_size;
  if (size < min_stack_size)
    throw std::invalid_argument("weft: stack size " + std::to_string(size) +
                                " bytes is below the minimum of " + std::to_string(min_stack_size) +
                                " bytes");
  size = round_stack_size(size);
  thread_cache* c = my_cache();
  stack s;
  if (free_list* l = cache_class(c, size, false)) {
    s = l->pop();
  } else {
    s = take_shared(size);
  }
  if (c != nullptr) {
    c->count(+1);
  } else {
    std::lock_guard lk(impl_->mu);
    ++impl_->retired_net;
  }
  return s;
}

std::size_t stack_pool::round_stack_size(std::size_t size) noexcept {
  return round_to_pages(size);
}

stack stack_pool::take_shared(std::size_t size) {
  std::lock_guard lk(impl_->mu);
  free_list* shared = &impl_->shared_class(size);
  if (shared->count == 0) {
    map_slab(size);
    shared = &impl_->shared_class(size);  // map_slab may have grown the vector
  }
  stack first = shared->pop();
  // Move a batch into this thread's cache so the next allocations take no lock.
  if (free_list* mine = cache_class(my_cache(), size, true)) {
    for (std::size_t i = 0; i < refill_batch && shared->count > 0; ++i) mine->push(shared->pop());
  }
  return first;
}

void stack_pool::map_slab(std::size_t size) {
  const std::size_t page = page_size();
  const bool guarded = impl_->guarded_mapped < impl_->guard_budget &&
                       impl_->registry_size.load(std::memory_order_relaxed) < max_registry;
  // Guarded: a guard page below each stack. Canary-only: back to back, each canary in its
  // lower neighbour's reserved top bytes; one spare page below the first holds its canary.
  const std::size_t stride = guarded ? size + page : size;
  std::size_t n;
  if (guarded) {
    n = std::min({max_guarded_per_slab, impl_->guard_budget - impl_->guarded_mapped,
                  std::max<std::size_t>(1, (64u << 20) / stride)});
  } else {
    // Geometric growth keeps the number of unguarded slabs logarithmic in the fiber count.
    n = std::clamp<std::size_t>(impl_->canary_mapped / 2, 16,
                                std::max<std::size_t>(1, max_slab_bytes / stride));
  }
  void* mem = ::mmap(nullptr, n * stride + (guarded ? 0 : page), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (mem == MAP_FAILED) throw std::bad_alloc();
  auto* base = static_cast<std::byte*>(mem);
  ++impl_->slabs;

  std::size_t guards = 0;
  if (guarded) {
    for (; guards < n; ++guards)
      if (::mprotect(base + guards * stride, page, PROT_NONE) != 0) break;  // mapping limit hit
    if (guards < n) impl_->guard_budget = impl_->guarded_mapped + guards;   // stop guarding
    if (guards > 0) {
      const std::size_t i = impl_->registry_size.load(std::memory_order_relaxed);
      impl_->registry[i] = guarded_slab{reinterpret_cast<std::uintptr_t>(base), stride, guards};
      // release: publishes the entry to find_guarded_stack's acquire load (a signal handler).
      impl_->registry_size.store(i + 1, std::memory_order_release);
    }
  }
  impl_->guarded_mapped += guards;
  impl_->canary_mapped += n - guards;

  free_list& l = impl_->shared_class(size);
  for (std::size_t i = n; i-- > 0;) {
    // A partly guarded slab (the mapping limit hit mid-way) keeps its stride: its unguarded
    // stacks' canaries sit in their own spare pages.
    stack s{.limit = base + i * stride + page,
            .protection = i < guards ? stack_protection::guard_page : stack_protection::canary,
            .size = size};
    if (s.protection == stack_protection::canary) arm_canary(s);
    l.push(s);
  }
}

void stack_pool::release(stack s) noexcept {
#if WEFT_ASAN
  // Dead frames leave redzones poisoned; the next fiber on this stack must start clean.
  __asan_unpoison_memory_region(s.limit, s.size);
#endif
  if (s.protection == stack_protection::canary) arm_canary(s);
  // Fast path: this thread's cache has a class of this size with room.
  if (thread_cache* c = tl_cache) [[likely]] {
    for (free_list& l : c->classes)
      if (l.size == s.size && l.count < cache_capacity) {
        l.push(s);
        c->count(-1);
        return;
      }
  }
  release_slow(s);
}

void stack_pool::release_slow(stack s) noexcept {
  thread_cache* c = my_cache();
  free_list* l = cache_class(c, s.size, true);
  if (c != nullptr) c->count(-1);
  if (l != nullptr && l->count < cache_capacity) {
    l->push(s);
    return;
  }
  std::lock_guard lk(impl_->mu);
  if (c == nullptr) --impl_->retired_net;
  free_list& shared = impl_->shared_class(s.size);
  shared.push(s);
  if (l != nullptr)  // spill half of the full cache so the next releases stay lock-free
    while (l->count > cache_capacity / 2) shared.push(l->pop());
}

stack_pool::stats stack_pool::snapshot() const noexcept {
  std::lock_guard lk(impl_->mu);
  std::int64_t in_use = impl_->retired_net;
  for (const thread_cache* c : impl_->caches)
    in_use += c->net.load(std::memory_order_relaxed);  // relaxed: a statistic
  return stats{impl_->guarded_mapped + impl_->canary_mapped,
               static_cast<std::size_t>(in_use < 0 ? 0 : in_use),
               impl_->guarded_mapped,
               impl_->canary_mapped,
               impl_->slabs,
               impl_->guard_budget};
}

bool stack_pool::find_guarded_stack(const void* addr, stack* out) const noexcept {
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  const std::size_t page = page_size();
  // acquire: pairs with map_slab's release store, so the entries below are complete.
  const std::size_t n = impl_->registry_size.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < n; ++i) {
    const guarded_slab& g = impl_->registry[i];
    if (a < g.base || a >= g.base + g.count * g.stride) continue;
    const std::size_t index = (a - g.base) / g.stride;
    const std::uintptr_t guard = g.base + index * g.stride;
    if (a >= guard + page) return false;  // inside the usable stack, not its guard page
    *out = stack{.limit = reinterpret_cast<std::byte*>(guard + page),
                 .protection = stack_protection::guard_page,
                 .size = g.stride - page};
    return true;
  }
  return false;
}

}  // namespace weft::ctx
