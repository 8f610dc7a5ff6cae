// One spin-wait step: the CPU's pause hint (x86 PAUSE, ARM YIELD), which tells the core it is in
// a spin loop (saves power, yields the pipeline to a sibling hyper-thread, and avoids the memory-
// order mis-speculation penalty when the awaited line finally changes). About 17 ns on the 2-vCPU
// Xeon this project measures on, so spin budgets are counted in these steps, not in loop turns.
#pragma once

namespace weft::sync {

// Not named cpu_relax: Boost.Fiber defines a function-like macro of that name, which would break
// any translation unit that includes Boost.Fiber before weft (as the benchmarks do).
inline void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace weft::sync
