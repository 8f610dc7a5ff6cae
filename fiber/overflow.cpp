// The guard-page fault handler. Everything reachable from on_fault() is async-signal-safe: no
// allocation, no locks, no stdio; only loads, write(2), sigaction(2) and abort(3).
#include "overflow.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "fiber.hpp"
#include "stack.hpp"

namespace weft::ctx {
namespace {

constexpr std::size_t alt_stack_size = 64 * 1024;

struct sigaction previous_segv;
struct sigaction previous_bus;

// Appends text to a fixed buffer (signal-safe).
struct line {
  char buf[256];
  std::size_t len = 0;
  void put(const char* s, std::size_t n) noexcept {
    n = n < sizeof buf - len ? n : sizeof buf - len;
    std::memcpy(buf + len, s, n);
    len += n;
  }
  void put(const char* s) noexcept { put(s, std::strlen(s)); }
  void put(unsigned long long v) noexcept {
    char digits[24];
    std::size_t n = 0;
    do digits[n++] = static_cast<char>('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0) put(&digits[--n], 1);
  }
};

void write_overflow(const fiber& f, const char* how) noexcept {
  line l;
  l.put("weft: fiber ");
  if (!f.name().empty()) {
    l.put("'");
    l.put(f.name().data(), f.name().size());
    l.put("'");
  } else {
    l.put("#");
    l.put(static_cast<unsigned long long>(f.id()));
  }
  l.put(" overflowed its ");
  l.put(static_cast<unsigned long long>(f.stack().size / 1024));
  l.put(" KiB stack (");
  l.put(how);
  l.put(")\n");
  [[maybe_unused]] auto r = ::write(STDERR_FILENO, l.buf, l.len);
}

void on_fault(int sig, siginfo_t* info, void* uctx) {
  stack s;
  if (stack_pool::global().find_guarded_stack(info->si_addr, &s)) {
    if (const stack_header* h = fiber::header_of(s)) report_overflow(*h->owner, "guard page hit");
    static const char unknown[] = "weft: a fiber stack overflowed its guard page\n";
    [[maybe_unused]] auto r = ::write(STDERR_FILENO, unknown, sizeof unknown - 1);
    std::abort();
  }
  // Not ours: hand the fault to the handler that was there before, or to the default action.
  const struct sigaction& prev = sig == SIGSEGV ? previous_segv : previous_bus;
  if ((prev.sa_flags & SA_SIGINFO) != 0 && prev.sa_sigaction != nullptr) {
    prev.sa_sigaction(sig, info, uctx);
    return;
  }
  if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN && prev.sa_handler != nullptr) {
    prev.sa_handler(sig);
    return;
  }
  ::sigaction(sig, &prev, nullptr);  // returning re-executes the faulting instruction
}

void install_handler() noexcept {
  struct sigaction sa {};
  sa.sa_sigaction = &on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGSEGV, &sa, &previous_segv) != 0 ||
      ::sigaction(SIGBUS, &sa, &previous_bus) != 0) {
    static const char msg[] = "weft: cannot install the fiber stack-overflow handler\n";
    [[maybe_unused]] auto r = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    std::abort();
  }
}

// This thread's alternate signal stack; the handler cannot run on the stack that overflowed.
struct alt_stack {
  void* mem = nullptr;
  alt_stack() noexcept {
    mem =
        ::mmap(nullptr, alt_stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    stack_t ss{};
    ss.ss_sp = mem;
    ss.ss_size = alt_stack_size;
    if (mem == MAP_FAILED || ::sigaltstack(&ss, nullptr) != 0) {
      static const char msg[] = "weft: cannot set up an alternate signal stack\n";
      [[maybe_unused]] auto r = ::write(STDERR_FILENO, msg, sizeof msg - 1);
      std::abort();
    }
  }
  ~alt_stack() {
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    ::sigaltstack(&ss, nullptr);
    ::munmap(mem, alt_stack_size);
  }
};

}  // namespace

void prepare_thread_for_fibers() noexcept {
  static std::once_flag once;
  thread_local bool ready = false;
  if (ready) [[likely]]
    return;
  std::call_once(once, install_handler);
  thread_local alt_stack stack;
  ready = true;
}

void report_overflow(const fiber& f, const char* how) noexcept {
  write_overflow(f, how);
  std::abort();
}

}  // namespace weft::ctx
