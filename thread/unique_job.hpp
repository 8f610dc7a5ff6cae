// Internal: a move-only `void()` callable (std::function needs copyable targets; C++20 has no
// std::move_only_function). thread_pool queues these, so jobs may own unique_ptrs and the like.
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace weft::os::detail {

// What a thread_pool accepts as a job: decay-copyable and invocable once, as an rvalue, with no
// arguments.
template <class F>
concept job_callable =
    std::constructible_from<std::decay_t<F>, F> && std::is_invocable_v<std::decay_t<F>>;

class unique_job {
 public:
  unique_job() noexcept = default;

  // Decay-copies f (moves it when f is an rvalue). Throws std::bad_alloc or what copying throws.
  template <job_callable F>
  explicit unique_job(F&& f)
      : impl_(std::make_unique<model<std::decay_t<F>>>(std::forward<F>(f))) {}

  unique_job(unique_job&&) noexcept = default;
  unique_job& operator=(unique_job&&) noexcept = default;

  explicit operator bool() const noexcept { return impl_ != nullptr; }

  // Invokes the callable as an rvalue; call at most once. Precondition: non-empty.
  void operator()() { impl_->run(); }

 private:
  struct concept_base {
    virtual ~concept_base() = default;
    virtual void run() = 0;
  };
  template <class F>
  struct model final : concept_base {
    template <class G>
    explicit model(G&& g) : f(std::forward<G>(g)) {}
    void run() override { std::invoke(std::move(f)); }
    F f;
  };

  std::unique_ptr<concept_base> impl_;
};

}  // namespace weft::os::detail
