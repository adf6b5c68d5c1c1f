// load() commits only what it validated: a storage whose reads of the same bytes differ from
// one read to the next (a marginal cell, a bus glitch, a concurrent writer) never makes load
// return ok with values other than the blob's.
#include <doctest/doctest.h>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

#include "blob_test_models.hpp"
#include "microtl/io/parameter_store.hpp"
#include "microtl/io/ram_storage.hpp"

using namespace microtl;
using namespace microtl_test;

namespace {

// Forwards to a RamStorage, except that the `bad_read`-th read (counting from 0) touching
// the 4 bytes at `watched` returns them as a quiet NaN.
template <class Ram>
class FlakyValueStorage {
 public:
  static constexpr std::size_t erase_bytes = Ram::erase_unit;
  static constexpr std::size_t write_bytes = 1;

  FlakyValueStorage(Ram& ram, std::size_t watched, std::size_t bad_read) noexcept
      : ram_(ram), watched_(watched), bad_read_(bad_read) {}

  [[nodiscard]] std::size_t size() const noexcept { return ram_.size(); }
  [[nodiscard]] Status read(std::size_t offset, std::span<std::byte> out) noexcept {
    MICROTL_TRY(ram_.read(offset, out));
    if (offset < watched_ + 4 && watched_ < offset + out.size()) {
      if (touches_++ == bad_read_) {
        constexpr std::uint32_t nan = 0x7FC00000U;
        for (std::size_t k = 0; k < 4; ++k) {
          const std::size_t at = watched_ + k;
          if (at >= offset && at < offset + out.size()) {
            out[at - offset] = static_cast<std::byte>((nan >> (8 * k)) & 0xFFU);
          }
        }
      }
    }
    return Status::ok;
  }
  [[nodiscard]] Status write(std::size_t offset, std::span<const std::byte> bytes) noexcept {
    return ram_.write(offset, bytes);
  }
  [[nodiscard]] Status erase(std::size_t offset, std::size_t length) noexcept {
    return ram_.erase(offset, length);
  }
  [[nodiscard]] std::size_t touches() const noexcept { return touches_; }

 private:
  Ram& ram_;
  std::size_t watched_;
  std::size_t bad_read_;
  std::size_t touches_ = 0;
};

}  // namespace

TEST_CASE("load: a value that reads differently on a later read is never loaded (B3)") {
  using Flash = io::RamStorage<512>;
  static Flash flash;
  static SmallModel a = model_with_values<SmallModel>(make_small, 80);
  static SmallModel target = model_with_values<SmallModel>(make_small, 81);
  REQUIRE(io::save(a, flash) == Status::ok);  // slot 0 only
  const auto before = snapshot(target);
  // Every value of the payload watched in turn, and every read of it made the bad one.
  int wrong = 0;
  int loaded = 0;
  for (std::size_t value = 0; value < 19; ++value) {
    for (std::size_t bad_read = 0; bad_read < 3; ++bad_read) {
      static SmallModel got = model_with_values<SmallModel>(make_small, 81);
      got = target;
      FlakyValueStorage<Flash> flaky(flash, io::blob_format::header_bytes + 4 * value, bad_read);
      const Status status = io::load(got, flaky);
      if (status == Status::ok) {
        ++loaded;
        wrong += same_bits<SmallModel>(snapshot(got), snapshot(a)) ? 0 : 1;
      } else {
        wrong += same_bits<SmallModel>(snapshot(got), before) ? 0 : 1;
      }
    }
  }
  CHECK(wrong == 0);
  CHECK(loaded > 0);  // the reads after the one the value is loaded from do not matter
}
