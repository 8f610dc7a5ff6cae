// Stack-overflow detection for fibers: a SIGSEGV/SIGBUS handler, running on an alternate signal
// stack, that recognises a fault inside a fiber's guard page and reports it by the fiber's name:
//
//   weft: fiber 'parser' overflowed its 64 KiB stack (guard page hit)
//
// then aborts. Faults that are not guard-page hits go to whatever handler was installed before
// (or the default action), so weft never hides a real crash. Canary-protected stacks (see
// stack.hpp) are checked at switch-out and reported the same way by report_overflow().
#pragma once

namespace weft::ctx {

class fiber;

// Installs the process-wide handler (once) and this thread's alternate signal stack (once per
// thread; released at thread exit). Every thread that runs fibers calls it before the first
// switch; it is a thread-local flag test afterwards. Aborts with a message if the kernel refuses.
void prepare_thread_for_fibers() noexcept;

// Writes "weft: fiber <name|#id> overflowed its N KiB stack (<how>)" to stderr and aborts.
// Async-signal-safe.
[[noreturn]] void report_overflow(const fiber& f, const char* how) noexcept;

}  // namespace weft::ctx
