// One saved execution context and the switch between two of them.
//
// Design essay
// ------------
// A context is the saved machine state of something that is not running: a fiber's stack, or an
// OS thread's own stack while that thread runs a fiber. Switching is Boost.Context at the
// fcontext level (jump_fcontext: save callee-saved registers and the stack pointer, load the
// other's). bench/context_bench.cpp measures it against boost::context::fiber: on this
// machine both round trips cost the same as a bare jump_fcontext pair (11 ns), and weft's own
// switch below costs 12 ns. weft stays at the fcontext level not for speed but for control: the
// transfer record and its arrival hook (below) are the scheduler's seam, the sanitizer
// annotations are ours to place (Boost's fiber only supports the sanitizers through ucontext),
// and nothing is allocated or reference-counted per switch.
//
// Every switch carries a `transfer` record that lives on the switching side's stack. The side
// that arrives stores the departed context's saved state (the `from` pointer) and then runs the
// transfer's `after` hook. That hook is the scheduler's seam: code that must run only once the
// departed fiber is completely saved — publish it as parked, release the lock of a wait list,
// hand its dead stack back to the pool — runs there, on the other stack. This is Go's
// "unlock after the switch" (gopark's unlockf), and it is what makes "a fiber is resumed by at
// most one worker, and only after its context was saved" hold without a PARKING state.
//
// Exception state is per context, not per thread. The C++ runtime keeps the stack of caught
// exceptions (what std::current_exception() and `throw;` read) and the uncaught count in
// thread-local storage. A fiber that blocks inside a catch handler and resumes on another
// thread, or after another fiber threw on this one, would find the wrong exception there and
// end the handler on someone else's record. So every switch saves the thread's record — two
// words — in the departing side's switch frame, on its own stack, and the arriving side puts
// its own saved record back before anything else runs there (folly's fibers keep it in the
// fiber object instead). On the stack, not in the context: a wake-up then touches no line of
// the context besides its saved stack pointer's, and the switch frame is touched anyway.
//
// Rejected: ucontext (a system call per switch for the signal mask, ~60x slower); Boost's own
// sanitizer support (it needs the ucontext back-end). Instead every switch is annotated here, by
// hand, for ASan (start/finish_switch_fiber, so it tracks which stack is live) and TSan
// (create/switch_to/destroy_fiber, so each fiber has its own vector clock).
#pragma once

#include <boost/context/detail/fcontext.hpp>

#include "sanitizer.hpp"

namespace weft::ctx {

class context;

// The C++ runtime's per-thread exception record (libstdc++/libsupc++ __cxa_eh_globals on
// x86-64 and AArch64): the caught-exception stack and the uncaught count.
struct eh_state {
  void* caught_exceptions = nullptr;
  unsigned int uncaught_exceptions = 0;
};

// The record handed across one switch. Lives on the departing side's stack until the arriving
// side has run `after`.
struct transfer {
  context* from = nullptr;             // the departing context (saved on arrival)
  context* to = nullptr;               // the arriving context
  void (*after)(transfer&) = nullptr;  // runs on `to`'s stack once `from` is saved
  void* arg = nullptr;                 // for `after`, or a value passed along
};

class context {
 public:
  // A context for the calling OS thread's own stack. It becomes meaningful once the thread
  // switches away from it; switching to it resumes the thread where it left.
  context() noexcept;
  ~context();

  context(const context&) = delete;
  context& operator=(const context&) = delete;

  // Switches from the running context t.from to t.to. Returns, on t.from's stack, when some
  // later switch comes back: a copy of that later switch's transfer (its `after` has run).
  // Preconditions: t.from is the context running on this thread; t.to is suspended and not
  // being resumed by any other thread.
  static inline transfer switch_to(transfer& t) noexcept;

  // The final switch of a context that will never run again (its stack may be recycled by
  // t.after). Tells the sanitizers to drop the departing stack's state.
  [[noreturn]] static void exit_to(transfer& t) noexcept;

  // The saved stack pointer: only meaningful while the context is suspended.
  const void* saved_sp() const noexcept { return fctx_; }

 protected:
  // A context that will start on [stack_limit, stack_top) by calling `entry` with (a copy of)
  // the transfer of the first switch into it, its `after` already run. `entry` must end in
  // exit_to().
  using entry_fn = void (*)(transfer* first);
  context(void* stack_top, void* stack_limit, entry_fn entry) noexcept;

 private:
  static void trampoline(boost::context::detail::transfer_t t) noexcept;
  // `mine`: the arriving side's exception record, saved when it left.
  static inline transfer arrive(boost::context::detail::transfer_t t,
                                const eh_state& mine) noexcept;
  static void before_switch(context& from, context& to, bool from_exits) noexcept;
  static void after_switch(transfer& t) noexcept;

  // The running thread's exception record, and its replacement. Not inline: a compiler may reuse
  // a thread-local's address across a switch, and the two calls of one switch run on different
  // threads when the fiber migrates.
  static eh_state take_eh() noexcept;
  static void put_eh(const eh_state& e) noexcept;

  // A switch into this context reads fctx_; it comes first, so a derived control block can keep
  // it in one cache line with its own wake-up fields (scheduler/task.hpp).
  boost::context::detail::fcontext_t fctx_ = nullptr;
  entry_fn entry_ = nullptr;
#if WEFT_ASAN
  const void* asan_bottom_ = nullptr;  // lowest address of this context's stack
  std::size_t asan_size_ = 0;
  void* asan_fake_stack_ = nullptr;
#endif
#if WEFT_TSAN
  void* tsan_fiber_ = nullptr;
  bool tsan_owned_ = false;  // created by us (a fiber), as opposed to a thread's own
#endif
};

// Inline: the switch is the hot path of every yield, park and resume.
inline transfer context::arrive(boost::context::detail::transfer_t t,
                                const eh_state& mine) noexcept {
  auto* tr = static_cast<transfer*>(t.data);
  tr->from->fctx_ = t.fctx;  // from here on the departed context may be resumed
#if WEFT_ASAN || WEFT_TSAN
  after_switch(*tr);
#endif
  put_eh(mine);
  // The record lives on the departed stack, which `after` may recycle (a finished fiber's
  // stack goes back to the pool there): copy it first, and never read *tr again. Field by field,
  // through the empty asm: the departing side wrote the record as four 8-byte stores a moment
  // ago, and a vectorised 16-byte copy could not be forwarded from them (a store-forwarding
  // stall on every switch).
  context* const from = tr->from;
  asm("" ::: "memory");
  context* const to = tr->to;
  void (*const after)(transfer&) = tr->after;
  asm("" ::: "memory");
  transfer copy{from, to, after, tr->arg};
  if (after != nullptr) after(copy);
  return copy;
}

inline transfer context::switch_to(transfer& t) noexcept {
  const eh_state mine = take_eh();  // back in place when this context is resumed (arrive)
#if WEFT_ASAN || WEFT_TSAN
  before_switch(*t.from, *t.to, false);
#endif
  return arrive(boost::context::detail::jump_fcontext(t.to->fctx_, &t), mine);
}

}  // namespace weft::ctx
