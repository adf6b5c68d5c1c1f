// PowerCutStorage: a Storage that wraps a RamStorage and injects the failures flash shows in
// the field, for the parameter-blob tests.
//
// A power cut during a write (cut_write), the fault model:
//  - each write call is programmed page by page in address order (pages of `page_bytes`,
//    aligned in the region), and within a page in an order drawn from a seeded RNG (a
//    random permutation: flash controllers and their drivers program a page's words in no
//    promised order), so a cut leaves any subset of the page programmed, not a prefix;
//  - after `after` bytes are fully programmed (counted in that order across every write
//    since the cut was armed) the power fails: the next `in_flight` bytes in program order
//    (within the same page) are partially programmed, each bit that was going from 1 to 0
//    reading 0 or 1 as the RNG decides (a cell with too little charge reads either way);
//    every later byte keeps its old contents; the write and every later operation return
//    io_error until restore_power().
//   page_bytes = 1 and in_flight = 0 is the clean model: a prefix, then nothing.
// A power cut during an erase (cut_erase_after): the erase stops after N bytes of its range
// (those read 0xFF); the rest of the range is half-erased (random bits already set to 1, as
// cells erase gradually); the power is gone.
// Other faults: reads that fail (io_error) after N successful ones, or only the N-th read
// from now (a transient fault); erases that report success and change nothing (a worn
// sector).
//
// Unarmed, it forwards every call to the RamStorage unchanged. It has the RamStorage's
// geometry, and a size known only at run time (no region_bytes: a too-small region is
// answered by size_mismatch, not refused by the compiler).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "../support/random.hpp"
#include "microtl/core/status.hpp"
#include "microtl/io/storage.hpp"

namespace microtl_test {

// The parameters of a power cut during a write (see the top of this file).
struct WriteCut {
  std::size_t after = 0;       // bytes fully programmed before the cut
  std::size_t page_bytes = 1;  // bytes programmed in a permuted order; 1: address order
  std::size_t in_flight = 0;   // bytes partially programmed at the cut
  std::uint32_t seed = 1;      // the permutations and the partial bits
};

template <class Ram>
class PowerCutStorage {
  static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_page_bytes = 256;

 public:
  static constexpr std::size_t erase_bytes = Ram::erase_bytes;
  static constexpr std::size_t write_bytes = Ram::write_bytes;

  explicit PowerCutStorage(Ram& ram) noexcept : ram_(ram) {}

  void cut_write(const WriteCut& cut) noexcept {
    write_cut_ = cut;
    write_cut_.page_bytes = cut.page_bytes < 1                ? 1
                            : cut.page_bytes > max_page_bytes ? max_page_bytes
                                                              : cut.page_bytes;
    write_budget_ = cut.after;
    rng_ = Xorshift32(cut.seed);
  }
  // The clean model: the first n bytes, in address order, then nothing.
  void cut_write_after(std::size_t bytes) noexcept { cut_write({bytes, 1, 0, 1}); }
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
    if (write_budget_ == unlimited) {
      const microtl::Status status = ram_.write(offset, bytes);
      bytes_programmed_ += status == microtl::Status::ok ? bytes.size() : 0;
      return status;
    }
    // The same refusals as the RamStorage (range, alignment), before anything is programmed.
    if (!microtl::io::range_fits(offset, bytes.size(), ram_.size()) || offset % write_bytes != 0 ||
        bytes.size() % write_bytes != 0) {
      return microtl::Status::invalid_argument;
    }
    const std::size_t page = write_cut_.page_bytes;
    for (std::size_t done = 0; done < bytes.size();) {
      // This page's part of the write: [offset + done, page end) within the write.
      const std::size_t at = offset + done;
      const std::size_t page_end = (at / page + 1) * page;
      const std::size_t n =
          page_end - at < bytes.size() - done ? page_end - at : bytes.size() - done;
      if (!program_page(at, bytes.subspan(done, n))) {
        return microtl::Status::io_error;  // the cut
      }
      done += n;
    }
    return microtl::Status::ok;
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
  // Programs `bytes` (all in one page) at `at` in a random order; false when the power
  // failed on the way.
  bool program_page(std::size_t at, std::span<const std::byte> bytes) noexcept {
    std::array<std::size_t, max_page_bytes> order{};
    const std::size_t n = bytes.size() < max_page_bytes ? bytes.size() : max_page_bytes;
    for (std::size_t i = 0; i < n; ++i) {
      order[i] = i;
    }
    for (std::size_t i = n; i > 1; --i) {  // Fisher-Yates
      const std::size_t j = rng_.next() % i;
      const std::size_t t = order[i - 1];
      order[i - 1] = order[j];
      order[j] = t;
    }
    auto memory = ram_.raw();
    for (std::size_t k = 0; k < n; ++k) {
      if (write_budget_ == 0) {
        // The cut: the next in_flight bytes of the page get some of their bits.
        for (std::size_t f = k; f < n && f < k + write_cut_.in_flight; ++f) {
          std::byte& cell = memory[at + order[f]];
          const std::byte falling = cell & ~bytes[order[f]];  // bits going from 1 to 0
          const auto stuck = static_cast<std::byte>(rng_.next() & 0xFFU);
          cell &= ~(falling & stuck);
        }
        power_lost_ = true;
        return false;
      }
      memory[at + order[k]] &= bytes[order[k]];
      --write_budget_;
      ++bytes_programmed_;
    }
    return true;
  }

  Ram& ram_;
  WriteCut write_cut_{};
  Xorshift32 rng_{1};
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
