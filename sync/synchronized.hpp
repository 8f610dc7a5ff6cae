// synchronized<T, Mutex>: data that lives inside its lock, as Rust's Mutex<T>. The only ways to
// reach the T are a guard (lock(), try_lock()) or with(fn); each holds the lock for as long as
// the access lasts. Const access takes a shared lock when Mutex is a shared mutex (many readers
// at once), the exclusive lock otherwise.
//
//   auto counter = std::make_shared<weft::fiber::synchronized<int>>(0);   // Rust: Arc<Mutex<i32>>
//   spawn([counter] { *counter->lock() += 1; });
//   counter->with([](int& n) { n *= 2; });
//
// Works with any Lockable Mutex (std::mutex too). What C++ cannot prevent is a reference taken
// from a guard outliving it (`int& r = *s.lock();` dangles once the statement ends, and is then
// an unlocked access): keep the guard, not the reference. with() refuses callables that return a
// reference for the same reason.
#pragma once

#include <concepts>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace weft::sync {

// Mutex types with lock_shared(): const access to a synchronized over one is shared.
template <class M>
concept shared_lockable = requires(M& m) {
  m.lock_shared();
  m.unlock_shared();
  { m.try_lock_shared() } -> std::convertible_to<bool>;
};

template <class T, class Mutex>
class synchronized {
 public:
  // What const access holds: a shared lock if Mutex is shared, else the exclusive lock.
  using read_lock =
      std::conditional_t<shared_lockable<Mutex>, std::shared_lock<Mutex>, std::unique_lock<Mutex>>;

  // Access to the data while `Lock` is held; moving a guard moves the hold.
  template <class U, class Lock>
  class basic_guard {
   public:
    basic_guard(basic_guard&& o) noexcept
        : lock_(std::move(o.lock_)), data_(std::exchange(o.data_, nullptr)) {}
    basic_guard& operator=(basic_guard&& o) noexcept {
      lock_ = std::move(o.lock_);
      data_ = std::exchange(o.data_, nullptr);
      return *this;
    }

    // The data. Throws std::logic_error on a moved-from guard (it holds no lock).
    U& operator*() const { return *get(); }
    U* operator->() const { return get(); }

   private:
    friend class synchronized;
    basic_guard(Lock lock, U* data) noexcept : lock_(std::move(lock)), data_(data) {}
    U* get() const {
      if (data_ == nullptr)
        throw std::logic_error("weft: synchronized: access through a moved-from guard");
      return data_;
    }

    Lock lock_;
    U* data_;
  };

  using guard = basic_guard<T, std::unique_lock<Mutex>>;
  using const_guard = basic_guard<const T, read_lock>;

  // Constructs the data from args.
  template <class... Args>
  requires std::constructible_from<T, Args...>
  explicit synchronized(Args&&... args) : data_(std::forward<Args>(args)...) {}
  synchronized(const synchronized&) = delete;
  synchronized& operator=(const synchronized&) = delete;

  // Blocks until the lock is held (a fiber parks) and returns a guard giving access to the data;
  // the lock is released when the guard dies. Throws what Mutex::lock throws (the fiber model's
  // cancellation exception at shutdown; std::system_error in debug builds on self-deadlock).
  [[nodiscard]] guard lock() { return guard(std::unique_lock<Mutex>(mutex_), &data_); }
  // Read access: a shared lock if Mutex is shared, else the exclusive one.
  [[nodiscard]] const_guard lock() const { return const_guard(read_lock(mutex_), &data_); }

  // A guard if the lock is free right now, else std::nullopt. Never blocks.
  [[nodiscard]] std::optional<guard> try_lock() {
    std::unique_lock<Mutex> lk(mutex_, std::try_to_lock);
    if (!lk.owns_lock()) return std::nullopt;
    return guard(std::move(lk), &data_);
  }
  [[nodiscard]] std::optional<const_guard> try_lock() const {
    read_lock lk(mutex_, std::try_to_lock);
    if (!lk.owns_lock()) return std::nullopt;
    return const_guard(std::move(lk), &data_);
  }

  // Runs fn(data) under the lock and returns its result, which must not be a reference (it would
  // outlive the lock). Throws what lock() and fn throw; the lock is released either way.
  template <class F>
  std::invoke_result_t<F, T&> with(F&& fn) {
    static_assert(!std::is_reference_v<std::invoke_result_t<F, T&>>,
                  "synchronized::with: fn returns a reference, which would escape the lock");
    std::unique_lock<Mutex> lk(mutex_);
    return std::invoke(std::forward<F>(fn), data_);
  }
  template <class F>
  std::invoke_result_t<F, const T&> with(F&& fn) const {
    static_assert(!std::is_reference_v<std::invoke_result_t<F, const T&>>,
                  "synchronized::with: fn returns a reference, which would escape the lock");
    read_lock lk(mutex_);
    return std::invoke(std::forward<F>(fn), data_);
  }

 private:
  mutable Mutex mutex_;
  T data_;
};

}  // namespace weft::sync
