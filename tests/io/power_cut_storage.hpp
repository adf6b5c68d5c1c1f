// PowerCutStorage: a Storage that wraps a RamStorage and injects the failures flash shows in
// the field, for the parameter-blob tests:
//  - a power cut during a write: after N more bytes are programmed the power is gone; the
//    write that crosses the budget programs its first bytes only, and it and every later
//    operation return io_error until restore_power();
//  - a power cut during an erase: the erase stops after N bytes of its range (those read
//    0xFF); the rest of the range is half-erased (random bits already set to 1, as cells
//    erase gradually); the power is gone;
//  - reads that fail (io_error) after N successful ones, or only the N-th read from now (a
//    transient fault);
//  - erases that report success and change nothing (a worn sector).
// Unarmed, it forwards every call to the RamStorage unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "../support/random.hpp"
#include "microtl/core/status.hpp"
#include "microtl/io/storage.hpp"

namespace microtl_test {

template <class Ram>
class PowerCutStorage {
  static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

 public:
  explicit PowerCutStorage(Ram& ram) noexcept : ram_(ram) {}

  void cut_write_after(std::size_t bytes) noexcept { write_budget_ = bytes; }
  void cut_erase_after(std::size_t bytes, std::uint32_t seed) noexcept {
    erase_budget_ = bytes;
    garbage_seed_ = seed;
  }
  void fail_reads_after(std::size_t count) noexcept { read_budget_ = count; }
  void fail_only_read(std::size_t index) noexcept { failing_read_ = reads_ + index; }
  void ignore_erases(bool ignore) noexcept { ignore_erases_ = ignore; }
  void restore_power() noexcept {
    power_lost_ = false;
    write_budget_ = unlimited;
    erase_budget_ = unlimited;
    read_budget_ = unlimited;
    failing_read_ = unlimited;
    ignore_erases_ = false;
  }

  [[nodiscard]] bool power_lost() const noexcept { return power_lost_; }
  [[nodiscard]] std::size_t bytes_programmed() const noexcept { return bytes_programmed_; }
  [[nodiscard]] std::size_t reads() const noexcept { return reads_; }

  [[nodiscard]] std::size_t size() const noexcept { return ram_.size(); }

  [[nodiscard]] microtl::Status read(std::size_t offset, std::span<std::byte> out) noexcept {
    if (power_lost_ || read_budget_ == 0) {
      return microtl::Status::io_error;
    }
    if (reads_ == failing_read_) {
      ++reads_;
      failing_read_ = unlimited;
      return microtl::Status::io_error;
    }
    if (read_budget_ != unlimited) {
      --read_budget_;
    }
    ++reads_;
    return ram_.read(offset, out);
  }

  [[nodiscard]] microtl::Status write(std::size_t offset,
                                      std::span<const std::byte> bytes) noexcept {
    if (power_lost_) {
      return microtl::Status::io_error;
    }
    if (bytes.size() <= write_budget_) {
      if (write_budget_ != unlimited) {
        write_budget_ -= bytes.size();
      }
      bytes_programmed_ += bytes.size();
      return ram_.write(offset, bytes);
    }
    // The cut: the first write_budget_ bytes reach the flash, then nothing.
    const microtl::Status partial = ram_.write(offset, bytes.first(write_budget_));
    bytes_programmed_ += write_budget_;
    write_budget_ = 0;
    power_lost_ = true;
    return partial == microtl::Status::ok ? microtl::Status::io_error : partial;
  }

  [[nodiscard]] microtl::Status erase(std::size_t offset, std::size_t length) noexcept {
    if (power_lost_) {
      return microtl::Status::io_error;
    }
    if (ignore_erases_) {
      return microtl::Status::ok;
    }
    if (erase_budget_ >= length) {
      return ram_.erase(offset, length);
    }
    if (!microtl::io::range_fits(offset, length, ram_.size())) {
      return microtl::Status::invalid_argument;
    }
    auto memory = ram_.raw();
    Xorshift32 rng(garbage_seed_);
    for (std::size_t i = 0; i < length; ++i) {
      std::byte& cell = memory[offset + i];
      cell =
          i < erase_budget_ ? std::byte{0xFF} : cell | static_cast<std::byte>(rng.next() & 0xFFU);
    }
    power_lost_ = true;
    return microtl::Status::io_error;
  }

 private:
  Ram& ram_;
  std::size_t write_budget_ = unlimited;
  std::size_t erase_budget_ = unlimited;
  std::size_t read_budget_ = unlimited;
  std::size_t failing_read_ = unlimited;
  std::uint32_t garbage_seed_ = 1;
  std::size_t bytes_programmed_ = 0;
  std::size_t reads_ = 0;
  bool power_lost_ = false;
  bool ignore_erases_ = false;
};

}  // namespace microtl_test
