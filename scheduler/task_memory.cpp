// The task block pool; the design notes are in task_memory.hpp.
#include "task_memory.hpp"

#include <array>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

#include <weft/fiber/sanitizer.hpp>

#if WEFT_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace weft::sched::task_memory {
namespace {

constexpr std::size_t granule = block_alignment;
constexpr std::size_t class_count = max_pooled_bytes / granule;
constexpr std::size_t cache_capacity = 128;  // blocks per class and thread
constexpr std::size_t batch = 32;            // blocks moved per refill or spill
constexpr std::size_t chunk_bytes = 256 * 1024;

constexpr std::size_t class_of(std::size_t bytes) noexcept {
  return bytes == 0 ? 0 : (bytes - 1) / granule;
}
constexpr std::size_t class_bytes(std::size_t c) noexcept {
  return (c + 1) * granule;
}

// A free block; its first word links the list it is in.
struct node {
  node* next;
};

// A free block's bytes past its link are off limits (ASan reports a use of a released task).
void mark_free([[maybe_unused]] node* n, [[maybe_unused]] std::size_t bytes) noexcept {
#if WEFT_ASAN
  __asan_poison_memory_region(reinterpret_cast<std::byte*>(n) + sizeof(node), bytes - sizeof(node));
#endif
}
void mark_used([[maybe_unused]] void* p, [[maybe_unused]] std::size_t bytes) noexcept {
#if WEFT_ASAN
  __asan_unpoison_memory_region(p, bytes);
#endif
}

struct free_list {
  node* head = nullptr;
  std::size_t count = 0;

  void push(node* n, std::size_t bytes) noexcept {
    n->next = head;
    mark_free(n, bytes);
    head = n;
    ++count;
  }
  node* pop() noexcept {
    node* n = head;
    head = n->next;
    --count;
    return n;
  }
};

struct shared_pool {
  std::mutex mu;
  std::array<free_list, class_count> classes;  // guarded by mu
  std::byte* cursor = nullptr;                 // the chunk being carved; guarded by mu
  std::byte* end = nullptr;
  std::vector<void*> chunks;  // guarded by mu; every chunk stays reachable (no LSan report)
  std::size_t carved = 0;     // guarded by mu

  // Moves up to `n` (at least one) blocks of class c into `to`: freed ones if there are any,
  // else freshly carved ones. Precondition: mu held. Throws std::bad_alloc if a new chunk cannot
  // be had.
  void refill(std::size_t c, free_list& to, std::size_t n) {
    const std::size_t bytes = class_bytes(c);
    free_list& from = classes[c];
    if (from.count > 0) {
      for (; n > 0 && from.count > 0; --n) to.push(from.pop(), bytes);
      return;
    }
    for (; n > 0; --n) {
      if (cursor == nullptr || static_cast<std::size_t>(end - cursor) < bytes) {
        chunks.reserve(chunks.size() + 1);
        cursor = static_cast<std::byte*>(
            ::operator new (chunk_bytes, std::align_val_t{block_alignment}));
        end = cursor + chunk_bytes;
        chunks.push_back(cursor);
      }
      to.push(reinterpret_cast<node*>(cursor), bytes);
      cursor += bytes;
      ++carved;
    }
  }
};

shared_pool& shared() noexcept {
  // Leaked on purpose: threads may release blocks during static destruction.
  static shared_pool* const p = new shared_pool;
  return *p;
}

// One thread's lists. Its destructor hands every cached block to the shared pool at thread exit.
struct thread_cache {
  std::array<free_list, class_count> classes{};

  thread_cache() noexcept;
  ~thread_cache();
};

// The fast path reads a trivially destructible pointer (initial-exec TLS, no init guard); the
// cache itself is created on the thread's first allocation or release.
[[gnu::tls_model("initial-exec")]] thread_local thread_cache* tl_cache = nullptr;
[[gnu::tls_model("initial-exec")]] thread_local bool tl_cache_closed = false;

thread_cache::thread_cache() noexcept {
  tl_cache = this;
}

thread_cache::~thread_cache() {
  tl_cache = nullptr;
  tl_cache_closed = true;
  shared_pool& s = shared();
  std::lock_guard lk(s.mu);
  for (std::size_t c = 0; c < class_count; ++c)
    while (classes[c].count > 0) s.classes[c].push(classes[c].pop(), class_bytes(c));
}

[[gnu::noinline]] thread_cache* make_cache() noexcept {
  if (tl_cache_closed) return nullptr;  // the thread is exiting: go to the shared pool
  thread_local thread_cache cache;
  return &cache;
}

inline thread_cache* my_cache() noexcept {
  thread_cache* c = tl_cache;
  return c != nullptr ? c : make_cache();
}

[[gnu::noinline]] void* allocate_slow(std::size_t c) {
  const std::size_t bytes = class_bytes(c);
  shared_pool& s = shared();
  thread_cache* cache = my_cache();
  std::lock_guard lk(s.mu);
  if (cache == nullptr) {  // an exiting thread: one block straight from the shared pool
    free_list one;
    s.refill(c, one, 1);
    void* p = one.pop();
    mark_used(p, bytes);
    return p;
  }
  s.refill(c, cache->classes[c], batch);
  void* p = cache->classes[c].pop();
  mark_used(p, bytes);
  return p;
}

[[gnu::noinline]] void release_slow(node* n, std::size_t c) noexcept {
  const std::size_t bytes = class_bytes(c);
  thread_cache* cache = my_cache();
  if (cache != nullptr && cache->classes[c].count < cache_capacity) {  // the thread's first use
    cache->classes[c].push(n, bytes);
    return;
  }
  shared_pool& s = shared();
  std::lock_guard lk(s.mu);
  s.classes[c].push(n, bytes);
  if (cache == nullptr) return;
  // The cache is full: half of it goes to the shared pool, where other threads refill from.
  free_list& mine = cache->classes[c];
  for (std::size_t i = 0; i < cache_capacity / 2 && mine.count > 0; ++i)
    s.classes[c].push(mine.pop(), bytes);
}

}  // namespace

void* allocate(std::size_t bytes) {
  if (bytes > max_pooled_bytes) return ::operator new (bytes, std::align_val_t{block_alignment});
  const std::size_t c = class_of(bytes);
  if (thread_cache* cache = tl_cache; cache != nullptr && cache->classes[c].count > 0) {
    void* p = cache->classes[c].pop();
    mark_used(p, class_bytes(c));
    return p;
  }
  return allocate_slow(c);
}

void release(void* p, std::size_t bytes) noexcept {
  if (bytes > max_pooled_bytes) {
    ::operator delete (p, std::align_val_t{block_alignment});
    return;
  }
  const std::size_t c = class_of(bytes);
  auto* n = static_cast<node*>(p);
  if (thread_cache* cache = tl_cache;
      cache != nullptr && cache->classes[c].count < cache_capacity) {
    cache->classes[c].push(n, class_bytes(c));
    return;
  }
  release_slow(n, c);
}

std::size_t carved_blocks() noexcept {
  shared_pool& s = shared();
  std::lock_guard lk(s.mu);
  return s.carved;
}

}  // namespace weft::sched::task_memory
