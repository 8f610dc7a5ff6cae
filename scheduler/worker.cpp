// The scheduling loop, fiber-to-fiber switching, stealing, and the idle protocol.
//
// Design essay
// ------------
// Switching. A fiber that yields, parks or ends picks its successor itself, on its own stack,
// from this worker's local sources (find_local), and switches straight to it: one context
// switch per hand-over, not two. Only when nothing local is runnable does it switch to the
// worker's scheduler context (the OS thread's own stack), whose loop (find_runnable) steals,
// fires timers and puts the thread to sleep. Whatever must happen after the departing fiber is
// saved — re-queue it (yield), publish its waiter (park), release its stack (exit) — travels in
// the switch's `after` hook and runs on the successor's stack (ctx::transfer, park_state.hpp).
// Rejected: always bouncing through the scheduler context (Go's mcall to g0): simpler to read,
// but it doubles the switches on the hottest path (yield, message ping-pong).
//
// Placement (work_stealing). Spawn is child-first (Cilk's work-first): a fiber that spawns
// switches straight to its child and waits in the next slot itself, so the child's exit (or
// first park) resumes it. A woken fiber goes to the waker's next slot. Either way the slot's
// previous occupant moves to the local deque (run_queue.hpp). What runs next depends on why the
// current fiber stops. A fiber that parks to *join*, a child that ends while someone joins it,
// and a child started child-first hand over newest-first: the next slot, then the deque's
// newest task. Fork-join therefore runs depth-first and live fibers stay bounded by the
// recursion depth (fib(27): a few dozen; a FIFO deque kept 16k, and Boost.Fiber's FIFO keeps
// 144k). Every other switch — yield, an ordinary park, an ordinary exit — takes the oldest
// task: first come, first served, as Go and Tokio do for servers and message passing. There the
// next slot cannot starve the deque: after 8 consecutive picks from the slot the deque's oldest
// goes first. Every 61st pick looks at the global queue first (Go's fairness tick), fires due
// timers and publishes the yield queue, so a busy worker still serves all three.
//
// Why child-first. Help-first (the child waits in the next slot, the spawner runs on: Go's `go`,
// and weft's first design) costs a park and a wake on every join of a child that has not run
// yet: the joiner publishes a waiter and parks, the child's end claims and re-queues it — ten
// locked instructions per spawn+join. Child-first runs the child on the spawner's worker while
// its fresh stack is hot, and a join that finds the child done does not park at all; what
// thieves take is the spawner's continuation, the oldest and largest piece of work. Spawning in
// a loop then costs one stack at a time instead of one per pending child. The spawner learns
// nothing new: cooperative scheduling never promised it would run before its child, and its
// continuation may be stolen — so spawn, like any blocking call, is a point where a fiber may
// migrate (never hold a thread_local's address across it). A pinned spawner, and the other
// policies, keep help-first: their continuation must not wait where thieves look.
//
// Yield queue. A yielding fiber goes to a FIFO private to its worker (no atomic operation), the
// last local source: everything else runnable here runs first. The fairness tick moves it to
// the deque, where thieves see it. Being private, it needs no switch hook either: the yielder
// queues itself just before its switch, which nothing else on this thread can overtake.
//
// Stealing. An idle worker that may spin (at most about half the non-sleeping workers spin)
// probes victims in random order and takes about half of a victim's deque, oldest first (the
// largest subtrees, in fork-join). It keeps searching for up to 50 us before it sleeps, so a
// burst of spawns or wake-ups costs one futex wake-up per spin period rather than one per task.
// The other policies spin too, without stealing: global_fifo's spinners watch the global queue
// (under the same at-most-half rule and hand-overs); pinned's each watch their own inbox,
// outside the searchers' count (nspinning), since none can take another's work and nobody counts
// on them: a hand-over wakes its task's home worker itself. Before they did, every cross-worker
// hand-over under those policies woke a sleeping vCPU: pinned spawn+join 8.7-9.3 -> 1.1-1.2 us,
// ping-pong 18.9-19.9 -> 1.8-2.6 us; global_fifo 750-870 -> 430-650 ns and 1.1-1.3 us -> 450-520
// ns. The victims' next slots are taken only after 5 us of searching: the slot holds what its owner
// runs next, and taking it early just bounces a hot fiber between caches (Go waits ~3 us before
// it steals runnext; Tokio's unstealable LIFO slot went the other way and stalled all workers
// but one, tokio#4941).
//
// Idle protocol — where lost wake-ups live (brpc lost them twice: #2916, #3539). Two counters,
// `nspinning` (workers searching) and `npidle` (workers asleep), and the rule: whoever makes
// work runnable and sees nspinning == 0 and npidle > 0 wakes one sleeper as a spinner
// (wake_idle_worker_if_needed). Two hand-overs must not lose work:
//
//   (a) spinner -> not spinning. The last spinner to stop decrements nspinning (an RMW) and
//       then re-checks every queue; a producer publishes its task and then reads nspinning with
//       an RMW too (fetch_add(0)). Both RMWs sit in nspinning's one modification order: either
//       the producer's comes later and reads 0 (it takes the wake path itself), or the
//       spinner's comes later, reads from the producer's, synchronises with it, and its
//       re-check sees the task. (RMWs rather than fences: TSan does not model fences.)
//   (b) not spinning -> asleep. The worker registers in idle_workers and increments npidle
//       (an RMW) *before* its final re-check of the global queue and its inbox; a producer
//       pushes, then reads npidle with an RMW. The same argument: one sees the other.
//
// Tasks pushed to a running worker's own deque need no such care for liveness: their owner is
// running and will pop them; the wake rule there only buys parallelism, so it is a cheap
// best-effort check without a fence. A sleeping worker's futex word is changed only under
// idle_mu, together with its removal from idle_workers, so a late wake-up can never be mistaken
// for a new one. A sleeper's timeout is its timer heap's nearest deadline: only a worker arms
// timers in its own heap, so no other thread needs to wake it for a new timer.
//
// The poller — I/O readiness (Go's netpoller and findrunnable). The driver is net/poller.cpp;
// the scheduler sees it only through io_driver.hpp, installed per runtime on first use. A fiber
// that would block on a file descriptor parks on that descriptor's record in the driver, and a
// readiness event unparks it. No thread owns epoll_wait for good, and there is no I/O thread:
//   - A worker that finds nothing local polls without blocking before it searches other
//     workers (find_runnable) — unless a worker is already blocked in the driver: that one gets
//     every event (Go's `lastpoll != 0` test), and more polls would only take its events away at
//     the price of a system call each.
//   - The first worker to go to sleep while no other waits in the driver becomes the poller. It
//     enters idle_workers and npidle like every sleeper, so hand-overs (a) and (b) are unchanged,
//     but it sleeps in epoll_wait with its own nearest timer as the deadline instead of on its
//     futex; all other sleepers use their futexes. An idle runtime burns nothing: one thread in
//     epoll_wait, the rest on futexes.
//   - Waking. pop_idle_locked prefers a futex sleeper, since the poller watches the descriptors
//     while it sleeps; the poller is taken only when it is the last sleeper (else nobody could
//     run the new work), and then woken through the driver's interrupt() — an eventfd in its
//     epoll set — instead of a futex (wake_popped). wake_worker (inbox, shutdown) likewise.
//   - The poller dispatches what it collected after it has left idle_workers (under idle_mu, as
//     any sleeper does), so the fibers it wakes land on its own queues as new work and the wake
//     rule brings in a spinner to share them. It runs all of them before it polls again, since a
//     worker polls only when it has nothing local: one epoll_wait per batch of wake-ups.
//   - A worker that never runs dry would never poll, so each fairness tick checks whether any
//     worker polled in the last 10 ms (Go's sysmon) and polls if none did. The tick runs inside
//     find_local, which a parking fiber calls before it switches out — still holding its
//     primitive's lock, which its park hook releases — and dispatching takes descriptor records'
//     locks. So the tick only collects; the callers dispatch where no lock can be held: after
//     the park hook (switch_away wraps it), or at once in yield, exit and the scheduling loop.
// No wake-up is lost. The poller's sleep is governed by idle_mu like a futex sleep: the decision
// to wake it (a pop, or wake_worker, under idle_mu) precedes interrupt(), and interrupt() leaves
// the eventfd readable until the poller reads it, so an interrupt that lands before the poller
// enters epoll_wait makes that epoll_wait return at once. The eventfd is level-triggered and only
// the worker marked in_poller reads it; another worker's non-blocking poll that sees it leaves it
// alone (it may be meant for a poller about to sleep). Interrupts are coalesced by a flag the
// poller clears with an RMW after reading the eventfd: an interrupt whose RMW found the flag set
// and skipped the write precedes that clear in the flag's modification order, synchronises with
// it, and the poller takes idle_mu afterwards, so it sees why it was interrupted. A readiness edge
// that arrives between a failed read (EAGAIN) and the park is not lost either: that is the
// records' sequence numbers (net/poller.hpp).
// Rejected: a dedicated I/O thread (one more hand-off and wake-up per event, one more thread to
// keep awake); every sleeper in epoll_wait (an event would wake them all, or with EPOLLEXCLUSIVE
// an arbitrary one, and "interrupt the sleeper" becomes ambiguous); polling on every switch (a
// system call on the hottest path).
//
// Scheduling is cooperative: a fiber runs until it blocks, yields or ends. A worker's timers
// and global-queue fairness are served whenever it switches.
#include "worker.hpp"

#include <pthread.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <string>

#include <weft/fiber/overflow.hpp>
#include <weft/sync/cpu_relax.hpp>

#include <weft/sync/futex.hpp>
#include "runtime_core.hpp"

namespace weft::sched {
namespace {

// initial-exec: a static library's TLS is in the executable; no __tls_get_addr call.
[[gnu::tls_model("initial-exec")]] thread_local worker* tl_worker = nullptr;

constexpr std::uint32_t fairness_tick = 61;
constexpr std::uint32_t next_slot_streak_limit = 8;
// A spinning worker searches for this long before it sleeps: a burst of spawns or wake-ups then
// costs one futex wake-up per spin period, not one per task (a wake-up with a sleeper costs the
// waker a system call and the sleeper a reschedule, several microseconds here).
constexpr std::int64_t spin_period_ns = 50'000;
// Victims' next slots are taken only after this long: the slot holds what its owner runs next
// (a child-first spawner, a woken fiber), and taking it early migrates a hot fiber for nothing
// (Go waits ~3 us before stealing runnext).
constexpr std::int64_t next_slot_patience_ns = 5'000;
// A busy worker polls the I/O driver from its fairness tick if nobody polled for this long (Go's
// sysmon uses the same 10 ms): fibers that became ready on I/O are not starved by fibers that
// keep every worker busy, and no system call is added while idle workers poll anyway.
constexpr std::int64_t io_starvation_ns = 10'000'000;

std::uint64_t xorshift(std::uint64_t& s) noexcept {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

// Hooks run on the successor's stack once the departing fiber is saved.
// A fiber that yields under global_fifo goes to the shared queue (the other policies queue it
// without a hook: worker::yield_fiber).
void after_yield(ctx::transfer& tr) {
  auto* t = static_cast<task*>(tr.from);
  t->check_stack_after_switch_out();
  static_cast<worker*>(tr.arg)->runtime().make_runnable_from(static_cast<worker*>(tr.arg), t,
                                                             /*as_next=*/false);
}

// A spawner that ran its child first waits in the next slot: stealable, and what the child's exit
// takes. Others may now run it, so the wake rule applies as for any newly runnable task.
void after_spawn(ctx::transfer& tr) {
  auto* t = static_cast<task*>(tr.from);
  t->check_stack_after_switch_out();
  auto* w = static_cast<worker*>(tr.arg);
  w->push_local(t, /*as_next=*/true);
  w->runtime().wake_idle_worker_if_needed();
}

// The fiber is gone: its stack is at once the next spawn's here (hot in cache), while its block
// keeps the result for the joiner (task_memory.hpp).
void after_exit(ctx::transfer& tr) {
  auto* t = static_cast<task*>(tr.from);
  t->check_stack_after_switch_out();
  ctx::stack_pool::global().release(t->stack());
  release_task(t);
}

}  // namespace

[[gnu::noipa]] worker* current_worker() noexcept {
  return tl_worker;
}

[[gnu::noipa]] task* current_task() noexcept {
  worker* w = tl_worker;
  return w != nullptr ? w->current() : nullptr;
}

worker::worker(runtime_core& rt, std::uint32_t index)
    : rt_(rt),
      index_(index),
      policy_(rt.policy()),
      slot_stealable_(rt.policy() == scheduling_policy::work_stealing && rt.config().workers > 1),
      rng_(0x9E3779B97F4A7C15ull * (index + 1)) {}

void worker::start() {
  thread_ = std::thread([this] { run_thread(); });
}

void worker::join_thread() {
  if (thread_.joinable()) thread_.join();
}

worker_stats worker::stats() const noexcept {
  return worker_stats{count.spawns.get(),         count.switches.get(),  count.steals.get(),
                      count.steal_attempts.get(), count.parks.get(),     count.unparks.get(),
                      count.timers_fired.get(),   count.idle_parks.get()};
}

void worker::run_thread() {
  tl_worker = this;
  ctx::prepare_thread_for_fibers();
  const std::string name = (rt_.config().name + "-" + std::to_string(index_)).substr(0, 15);
  ::pthread_setname_np(::pthread_self(), name.c_str());
  ctx::context native;  // constructed here: it is this thread's own context
  sched_ctx_ = &native;
  while (task* t = find_runnable()) resume(t);
  sched_ctx_ = nullptr;
  tl_worker = nullptr;
}

void worker::resume(task* t) noexcept {
  current_ = t;
  count.switches.add();
  ctx::transfer tr{sched_ctx_, t, nullptr, nullptr};
  ctx::context::switch_to(tr);
  // A fiber on this thread found nothing local and came back here; its hook has run.
  current_ = nullptr;
}

ctx::context* worker::successor(pick order) noexcept {
  task* next = find_local(order);
  current_ = next;
  if (next == nullptr) return sched_ctx_;
  count.switches.add();
  return next;
}

void worker::switch_away(task* self, void (*after)(ctx::transfer&), void* arg,
                         pick order) noexcept {
  ctx::context* next = successor(order);
  if (io_pending_) [[unlikely]] {
    // A parking fiber holds its primitive's lock until its hook has run (the park protocol), and
    // dispatching takes descriptor records' locks: dispatch once the hook is done.
    hooked_after_ = after;
    hooked_arg_ = arg;
    after = &after_hook_then_dispatch;
    arg = this;
  }
  ctx::transfer tr{self, next, after, arg};
  ctx::context::switch_to(tr);
}

void worker::after_hook_then_dispatch(ctx::transfer& tr) {
  auto* w = static_cast<worker*>(tr.arg);
  tr.arg = w->hooked_arg_;
  w->hooked_after_(tr);
  w->dispatch_io();
}

[[gnu::always_inline]] inline task* worker::find_yield_successor() noexcept {
  // find_local's order with the common case of a yield — only the yield queue holds work — in
  // one pass of plain loads (hints, as in find_local); anything else takes the general path.
  if (fairness_countdown_ > 1 && policy_ == scheduling_policy::work_stealing && inbox_.empty() &&
      next_slot_.load(std::memory_order_relaxed) == nullptr &&  // relaxed: a hint, as above
      local_.empty() && rt_.global().empty()) {
    --fairness_countdown_;
    next_streak_ = 0;
    return yielded_.pop();
  }
  return find_local_out_of_line();
}

void worker::yield_fiber(task* self) noexcept {
  task* next = find_yield_successor();
  if (io_pending_) [[unlikely]] {
    dispatch_io();  // a yielding fiber holds no lock
    if (next == nullptr) next = find_local();
  }
  if (next == nullptr) return;
  count.switches.add();
  current_ = next;
  if (policy_ == scheduling_policy::global_fifo) [[unlikely]] {
    // The yielder goes to the shared queue, where another worker could take it at once: only
    // once it is saved, in the hook.
    ctx::transfer tr{self, next, &after_yield, this};
    ctx::context::switch_to(tr);
    return;
  }
  // No hook: the yield queue is private to this thread, and nothing runs here between this push
  // and the switch (the successor is already chosen, so no fairness tick can publish the queue
  // to the deque first). So nobody can resume `self` before the switch has saved it — the
  // invariant the hooks exist for — and the switch skips the hook's indirect call.
  yielded_.push(self);
  ctx::transfer tr{self, next, nullptr, nullptr};
  ctx::context::switch_to(tr);
  // Resumed: the stack check that the hook would have made at the switch-out (the saved stack
  // pointer is still the one that switch stored).
  self->check_stack_after_switch_out();
}

void worker::run_child_first(task* self, task* child) noexcept {
  child->spawner_waits = true;
  count.switches.add();
  current_ = child;
  ctx::transfer tr{self, child, &after_spawn, this};
  ctx::context::switch_to(tr);
}

void worker::exit_fiber(task* self, pick order) noexcept {
  ctx::context* next = successor(order);
  if (io_pending_) [[unlikely]] {
    dispatch_io();  // an ending fiber holds no lock
    if (next == sched_ctx_) next = successor(order);
  }
  ctx::transfer tr{self, next, &after_exit, nullptr};
  ctx::context::exit_to(tr);
}

void worker::push_local(task* t, bool as_next) noexcept {
  if (as_next) {
    // Only the owner puts tasks in the slot; thieves only take them out. So an empty slot stays
    // empty until our store, and a plain release store suffices (pairs with the acquire of a
    // thief's CAS or our own take). An occupied slot may be emptied by a thief meanwhile: swap.
    // Without thieves (slot_stealable_ false) nobody else touches the slot: load and store.
    task* old = next_slot_.load(std::memory_order_relaxed);  // relaxed: see above
    if (old == nullptr || !slot_stealable_) {
      next_slot_.store(t, std::memory_order_release);
    } else {
      // acq_rel: release publishes t; acquire takes over the old occupant's state.
      old = next_slot_.exchange(t, std::memory_order_acq_rel);
    }
    if (old == nullptr) return;
    t = old;
  }
  if (!local_.push(t)) overflow(t);
}

void worker::publish_yielded() noexcept {
  task_fifo keep;
  bool published = false;
  while (task* t = yielded_.pop()) {
    if (t->pinned && policy_ == scheduling_policy::work_stealing) {
      keep.push(t);  // a pinned fiber must not reach a stealable queue: it stays private
      continue;
    }
    push_local(t, /*as_next=*/false);
    published = true;
  }
  yielded_ = keep;
  // Now visible to thieves; a sleeping worker may take a share (best effort, as in
  // make_runnable_from for the local queue).
  if (published) rt_.wake_idle_worker_if_needed();
}

void worker::overflow(task* t) noexcept {
  task* batch[run_queue::capacity / 2 + 1];
  std::int64_t n = local_.pop_half(batch);
  batch[n++] = t;
  // Under the pinned policy every task belongs to this worker: its inbox, not the global queue
  // (from which any worker pops).
  task_list& to = policy_ == scheduling_policy::pinned ? inbox_ : rt_.global();
  to.push_batch(batch, static_cast<std::size_t>(n));
}

task* worker::take_global_batch() noexcept {
  task_list& g = rt_.global();
  if (g.empty()) return nullptr;
  task* batch[run_queue::capacity / 2];
  const std::size_t want =
      std::min<std::size_t>(g.size() / rt_.worker_count() + 1, run_queue::capacity / 2);
  const std::size_t n = g.pop_batch(batch, want);
  if (n == 0) return nullptr;
  for (std::size_t i = 1; i < n; ++i) push_local(batch[i], false);
  return batch[0];
}

bool worker::fire_timers() noexcept {
  const std::size_t fired = timers_.fire_due(steady_now_ns(), [this](task* t) {
    if (t->park.claim_timeout()) {
      count.timers_fired.add();
      rt_.make_runnable_from(this, t, /*as_next=*/false);
    }
  });
  return fired > 0;
}

task* worker::find_local(pick order) noexcept {
  // The checks below are one plain load each (atomics read as hints, relaxed or acquire); the
  // sources behind them are taken out of line, so a yield or a hand-over that finds its
  // successor in the common place costs a few dozen instructions and no locked operation.
  task* t = nullptr;
  if (--fairness_countdown_ == 0) [[unlikely]] {
    if ((t = fairness_pick()) != nullptr) return t;
  }
  if (!inbox_.empty()) [[unlikely]] {
    if ((t = inbox_.pop()) != nullptr) return t;
  }
  if (policy_ != scheduling_policy::work_stealing) [[unlikely]]
    return find_local_unstealable(order);
  // The streak limit keeps a message ping-pong through the slot from starving the deque; a
  // depth-first hand-over (newest) wants the slot's task: it is the newest.
  if ((next_streak_ < next_slot_streak_limit || order == pick::newest) &&
      (t = take_next_slot()) != nullptr) {
    ++next_streak_;
    return t;
  }
  next_streak_ = 0;
  if (!local_.empty() && (t = pop_local(order)) != nullptr) return t;
  if ((t = take_next_slot()) != nullptr) return t;
  if (!rt_.global().empty()) [[unlikely]] {
    if ((t = take_global_batch()) != nullptr) return t;
  }
  return yielded_.pop();
}

task* worker::fairness_pick() noexcept {
  fairness_countdown_ = fairness_tick;
  if (timers_.next_deadline() != timer_heap::never) fire_timers();
  if (!yielded_.empty()) publish_yielded();
  if (io_driver* io = rt_.io(); io != nullptr && !io_pending_ && io->has_registrations() &&
                                !rt_.poller_blocked.load(std::memory_order_relaxed)) {  // hints
    const std::int64_t now = steady_now_ns();
    // relaxed: a heuristic; a stale value costs one early or late poll. Only collected here: the
    // caller of find_local dispatches when it is safe (switch_away, yield_fiber, exit_fiber,
    // find_runnable).
    if (now - rt_.last_io_poll_ns.load(std::memory_order_relaxed) >= io_starvation_ns)
      io_pending_ = collect_io(*io, now);
  }
  return rt_.global().pop();
}

bool worker::collect_io(io_driver& io, std::int64_t now_ns) noexcept {
  // relaxed: both are hints. A registration or a blocked poller we do not see yet costs one
  // useless or one missing non-blocking poll; the blocking poller (idle_sleep) is what
  // guarantees that readiness is collected.
  if (!io.has_registrations() || rt_.poller_blocked.load(std::memory_order_relaxed)) return false;
  rt_.last_io_poll_ns.store(now_ns, std::memory_order_relaxed);  // relaxed: a heuristic
  return io.poll_now(index_);
}

void worker::dispatch_io() noexcept {
  io_pending_ = false;
  rt_.io()->dispatch(index_);
}

bool worker::poll_io(io_driver& io, std::int64_t now_ns) noexcept {
  return collect_io(io, now_ns) && io.dispatch(index_) > 0;
}

task* worker::find_local_unstealable(pick order) noexcept {
  task* t = nullptr;
  switch (policy_) {
    case scheduling_policy::pinned:
      if ((t = pop_local(order)) != nullptr) return t;
      return yielded_.pop();
    case scheduling_policy::global_fifo:
      return rt_.global().pop();
    case scheduling_policy::work_stealing:
      break;
  }
  return nullptr;
}

task* worker::pop_local(pick order) noexcept {
  if (order == pick::newest) return local_.pop_newest();
  // pop_oldest can lose a race with a thief while tasks remain: try again.
  while (!local_.empty())
    if (task* t = local_.pop_oldest()) return t;
  return nullptr;
}

task* worker::take_next_slot() noexcept {
  // relaxed: a hint that skips the locked exchange when the slot is empty (most picks).
  task* t = next_slot_.load(std::memory_order_relaxed);
  if (t == nullptr) return nullptr;
  if (!slot_stealable_) {
    // relaxed: without thieves only this thread reads or writes the slot (one worker, or a
    // policy that does not steal), so the locked exchange below buys nothing. A one-worker
    // message ping-pong saves one locked instruction (~7 ns here) per hand-over.
    next_slot_.store(nullptr, std::memory_order_relaxed);
    return t;
  }
  // acquire: pairs with push_local's exchange; the task's state is visible.
  return next_slot_.exchange(nullptr, std::memory_order_acquire);
}

bool worker::has_visible_work() const noexcept {
  return !local_.empty() || !inbox_.empty() ||
         next_slot_.load(std::memory_order_relaxed) != nullptr;  // relaxed: a hint
}

task* worker::steal_next_slot() noexcept {
  task* t = next_slot_.load(std::memory_order_acquire);  // acquire: pairs with push_local
  // acquire on success: we now own t and must see what its waker wrote.
  if (t != nullptr && next_slot_.compare_exchange_strong(t, nullptr, std::memory_order_acquire,
                                                         std::memory_order_relaxed))
    return t;
  return nullptr;
}

task* worker::steal_from_others(bool take_next_slots) noexcept {
  const std::size_t n = rt_.worker_count();
  const std::size_t start = static_cast<std::size_t>(xorshift(rng_) % n);
  for (std::size_t i = 0; i < n; ++i) {
    worker& victim = rt_.worker_at((start + i) % n);
    if (&victim == this) continue;
    count.steal_attempts.add();
    task* t = victim.local_.steal_into(local_);
    if (t == nullptr && take_next_slots) t = victim.steal_next_slot();
    if (t != nullptr) {
      count.steals.add();
      return t;
    }
  }
  return nullptr;
}

void worker::start_spinning() noexcept {
  spinning_ = true;
  rt_.nspinning.fetch_add(1, std::memory_order_seq_cst);  // seq_cst: the idle protocol's (a)
}

void worker::stop_spinning() noexcept {
  spinning_ = false;
  // seq_cst: the idle protocol's (a). The last spinner to find work hands the search on, since
  // more work may have arrived while everyone counted on it (Go's resetspinning).
  if (rt_.nspinning.fetch_sub(1, std::memory_order_seq_cst) == 1) rt_.wake_idle_worker_if_needed();
}

task* worker::find_runnable() {
  for (;;) {
    task* t = find_local();
    if (io_pending_) [[unlikely]] {
      dispatch_io();  // the scheduler's own stack holds no lock
      if (t == nullptr) continue;
    }
    if (t != nullptr) {
      if (spinning_) stop_spinning();
      return t;
    }
    const std::int64_t now = steady_now_ns();
    if (timers_.next_deadline() <= now && fire_timers()) continue;
    // acquire: pairs with shutdown()'s store of `terminating`.
    if (rt_.terminating.load(std::memory_order_acquire)) return nullptr;
    // Fibers ready on I/O are local work once dispatched: before stealing (Go's findrunnable).
    if (io_driver* io = rt_.io(); io != nullptr && poll_io(*io, now)) continue;
    // Every policy spins before it sleeps (only work_stealing steals while it does): a hand-over
    // to a sleeping worker costs a futex wake-up and a reschedule of its vCPU, microseconds here.
    if (rt_.worker_count() > 1 && policy_ == scheduling_policy::pinned) {
      // Outside the searchers' count: a pinned worker's work arrives only in its inbox, and its
      // producer wakes it directly, so nobody counts on it searching.
      spin_for_work();
      if (!inbox_.empty()) continue;
    } else if (rt_.worker_count() > 1) {
      if (!spinning_) {
        const std::uint32_t busy =
            static_cast<std::uint32_t>(rt_.worker_count()) -
            rt_.npidle.load(std::memory_order_relaxed);  // relaxed: a heuristic bound
        if (2 * rt_.nspinning.load(std::memory_order_relaxed) < busy) start_spinning();
      }
      if (spinning_) {
        if (task* t = spin_for_work()) {
          stop_spinning();
          return t;
        }
      }
    }
    if (!idle_sleep()) continue;
  }
}

task* worker::spin_for_work() noexcept {
  const std::int64_t start = steady_now_ns();  // clock reads only here, on the idle path
  for (unsigned round = 0;; ++round) {
    const std::int64_t waited = steady_now_ns() - start;
    if (policy_ == scheduling_policy::work_stealing)
      if (task* t = steal_from_others(waited >= next_slot_patience_ns)) return t;
    // Work that is not stolen (the only kind under global_fifo and pinned, which watch the global
    // queue and the inbox): the caller's find_local takes it.
    if (!rt_.global().empty() || !inbox_.empty() || timers_.next_deadline() <= start + waited)
      return nullptr;
    if (waited >= spin_period_ns) return nullptr;
    if (round % 16 == 15) {
      std::this_thread::yield();  // a preempted owner may need this CPU
    } else {
      for (int i = 0; i < 32; ++i) sync::spin_pause();
    }
  }
}

// Returns false if it found a reason not to sleep (the caller searches again), true after a
// sleep (woken, timed out for a timer, or spuriously).
bool worker::idle_sleep() {
  if (spinning_) {
    spinning_ = false;
    // seq_cst: hand-over (a). The last spinner re-checks every queue after its decrement.
    if (rt_.nspinning.fetch_sub(1, std::memory_order_seq_cst) == 1) {
      // What this worker could run: without stealing, the global queue and its own inbox.
      bool work = !rt_.global().empty() || !inbox_.empty();
      if (policy_ == scheduling_policy::work_stealing)
        for (std::size_t i = 0; i < rt_.worker_count() && !work; ++i)
          work = rt_.worker_at(i).has_visible_work();
      if (work) {
        start_spinning();
        return false;
      }
    }
  }
  io_driver* const io = rt_.io();
  bool poller = false;
  {
    std::lock_guard lk(rt_.idle_mu);
    rt_.idle_workers.push_back(this);
    in_idle_list = true;
    sleep_word.store(asleep, std::memory_order_relaxed);  // relaxed: only changed under idle_mu
    // The first sleeper while nobody waits in the I/O driver waits there ("The poller").
    if (io != nullptr && !rt_.poller_blocked.load(std::memory_order_relaxed)) {
      rt_.poller_blocked.store(true, std::memory_order_relaxed);  // relaxed: under idle_mu
      in_poller = poller = true;
    }
    rt_.npidle.fetch_add(1, std::memory_order_seq_cst);  // seq_cst: hand-over (b)
  }
  // Hand-over (b): re-check what a producer may have pushed before it could see npidle.
  const bool work =
      !rt_.global().empty() || !inbox_.empty() || rt_.terminating.load(std::memory_order_seq_cst);
  if (!work) {
    count.idle_parks.add();
    const std::int64_t deadline = timers_.next_deadline();
    if (poller) {
      io->wait(index_, deadline);  // until an event, the deadline, or interrupt()
    } else {
      sync::futex_wait_until(sleep_word, asleep, deadline == timer_heap::never ? -1 : deadline,
                             deadline == timer_heap::never ? 0 : steady_now_ns());
    }
  }
  {
    std::lock_guard lk(rt_.idle_mu);
    if (in_idle_list) {  // timed out, re-checked, or woke spuriously: leave the list ourselves
      std::erase(rt_.idle_workers, this);
      in_idle_list = false;
      rt_.npidle.fetch_sub(1, std::memory_order_seq_cst);  // seq_cst: as the increment
    } else if (sleep_word.load(std::memory_order_relaxed) == woken_to_spin) {
      spinning_ = true;  // the waker counted us in nspinning
    }
    if (poller) {
      in_poller = false;
      rt_.poller_blocked.store(false, std::memory_order_relaxed);  // relaxed: under idle_mu
    }
  }
  if (poller) {
    // Awake and off the idle list: the fibers found ready are new work on this worker.
    rt_.last_io_poll_ns.store(steady_now_ns(), std::memory_order_relaxed);  // relaxed: a hint
    io->dispatch(index_);
  }
  return true;
}

}  // namespace weft::sched
