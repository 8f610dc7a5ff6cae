// The channel part of the weft::model concept (include/weft/model.hpp): what a model tag must
// name for channels and select. Standard library and channel/ only.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <ranges>
#include <utility>

#include "endpoints.hpp"
#include "result.hpp"
#include "select.hpp"

namespace weft::chan {

template <class M>
concept channel_vocabulary = requires(const typename M::template sender<int>& tx,
                                      const typename M::template receiver<int>& rx, std::size_t n,
                                      std::chrono::nanoseconds d) {
  {
    M::template channel<int>()
    } -> std::same_as<
        std::pair<typename M::template sender<int>, typename M::template receiver<int>>>;
  {
    M::template sync_channel<int>(n)
    } -> std::same_as<
        std::pair<typename M::template sender<int>, typename M::template receiver<int>>>;
  { tx.send(1) } -> std::same_as<send_result<int>>;
  { tx.try_send(1) } -> std::same_as<send_result<int>>;
  { tx.send_for(1, d) } -> std::same_as<send_result<int>>;
  { tx.close() } -> std::same_as<void>;
  { rx.recv() } -> std::same_as<recv_result<int>>;
  { rx.try_recv() } -> std::same_as<recv_result<int>>;
  { rx.recv_for(d) } -> std::same_as<recv_result<int>>;
  { M::select(on_recv(rx), on_send(tx, 1), on_timeout(d)) } -> std::same_as<std::size_t>;
  { M::select(on_recv(rx), on_default()) } -> std::same_as<std::size_t>;
  requires std::copyable<typename M::template sender<int>>;
  requires std::copyable<typename M::template receiver<int>>;
  requires std::ranges::input_range<typename M::template receiver<int>>;
};

}  // namespace weft::chan
