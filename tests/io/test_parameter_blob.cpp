// Parameter blobs: the exact bytes of the format, bit-exact round trips, two slots used
// alternately, and refusal of everything that is not this model's intact blob (another
// model, another version, a flipped bit, a torn or truncated blob, NaN), each time without
// touching the model.
#include <doctest/doctest.h>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>

#include "blob_test_models.hpp"
#include "microtl/io/crc32.hpp"
#include "microtl/io/parameter_store.hpp"
#include "microtl/io/ram_storage.hpp"
#include "power_cut_storage.hpp"

using namespace microtl;
using namespace microtl_test;

namespace {

// Writes a little-endian 16-bit field (the blob's version and header size).
void put_u16(std::byte* out, std::uint16_t value) {
  out[0] = static_cast<std::byte>(value & 0xFFU);
  out[1] = static_cast<std::byte>(value >> 8);
}

using Store = io::ParameterStore<SmallModel>;
using Flash = io::RamStorage<512>;

// Sizes, known to the compiler: 19 values, 20 + 76 + 4 = 100 bytes, one 256-byte unit per
// slot, two slots.
static_assert(Store::value_count == 19);
static_assert(Store::payload_bytes == 76);
static_assert(Store::blob_bytes == 100);
static_assert(Store::slot_bytes == 256);
static_assert(io::storage_bytes_needed<SmallModel, Flash>() == 512);
static_assert(io::storage_bytes_needed<SmallModel>(256) == 512);
static_assert(io::storage_bytes_needed<SmallModel, io::Geometry<4096, 8>>() == 8192);
static_assert(io::ParameterStore<BigModel>::blob_bytes == 308);
static_assert(io::ParameterStore<BigModel>::slot_bytes == 512);
static_assert(io::ParameterStore<SmallModel, io::Geometry<64>>::slot_bytes == 128);
static_assert(io::ParameterStore<SmallModel, io::Geometry<1>>::slot_bytes == 100);
static_assert(io::ParameterStore<SmallModel, io::RamStorage<8192, 4096, 8>>::slot_bytes == 4096);
static_assert(Store::load_staging_bytes == Store::payload_bytes);
static_assert(io::Storage<PowerCutStorage<Flash>>);

std::uint32_t le32(std::span<const std::byte> bytes, std::size_t at) {
  return io::detail::get_u32(bytes.data() + at);
}

// Reads a slot's bytes, lets `edit` change them, recomputes the CRC over the first
// `crc_covers` bytes (storing it right after them) unless crc_covers is 0, and writes the
// slot back (erase + write), as a foreign writer would.
template <class StoreT, class F>
void rewrite_slot(Flash& flash, std::size_t slot, F edit, std::size_t crc_covers) {
  std::array<std::byte, StoreT::slot_bytes> bytes{};
  REQUIRE(flash.read(StoreT::slot_offset(slot), bytes) == Status::ok);
  edit(std::span<std::byte>(bytes));
  if (crc_covers > 0) {
    io::detail::put_u32(bytes.data() + crc_covers,
                        io::crc32(std::span<const std::byte>(bytes.data(), crc_covers)));
  }
  REQUIRE(flash.erase(StoreT::slot_offset(slot), StoreT::slot_bytes) == Status::ok);
  REQUIRE(flash.write(StoreT::slot_offset(slot), bytes) == Status::ok);
}

}  // namespace

TEST_CASE("parameter blob: the bytes are the documented format") {
  static Flash flash;
  static SmallModel model = model_with_values<SmallModel>(make_small, 11);
  REQUIRE(io::save(model, flash) == Status::ok);
  const auto raw = std::span<const std::byte>(flash.raw());
  CHECK(raw[0] == std::byte{'M'});
  CHECK(raw[1] == std::byte{'T'});
  CHECK(raw[2] == std::byte{'L'});
  CHECK(raw[3] == std::byte{'P'});
  CHECK(io::detail::get_u16(raw.data() + 4) == 1);   // version
  CHECK(io::detail::get_u16(raw.data() + 6) == 20);  // header size
  CHECK(raw[4] == std::byte{1});                     // little-endian, byte by byte
  CHECK(raw[6] == std::byte{20});
  CHECK(le32(raw, 8) == 76);  // payload length
  CHECK(le32(raw, 12) == io::model_signature<SmallModel>());
  CHECK(le32(raw, 16) == 1);  // the first blob
  // The payload: the bias-only layer's bias, then the trainable layer's weights and bias.
  const auto values = snapshot(model);
  for (std::size_t i = 0; i < values.size(); ++i) {
    REQUIRE(le32(raw, 20 + 4 * i) == std::bit_cast<std::uint32_t>(values[i]));
  }
  CHECK(std::bit_cast<std::uint32_t>(model.state<0>().bias[0]) == le32(raw, 20));
  CHECK(std::bit_cast<std::uint32_t>(model.state<1>().weights[0]) == le32(raw, 20 + 16));
  CHECK(std::bit_cast<std::uint32_t>(model.state<1>().bias[2]) == le32(raw, 20 + 72));
  CHECK(le32(raw, 96) == io::crc32(raw.first(96)));
  for (std::size_t i = 100; i < flash.size(); ++i) {
    REQUIRE(raw[i] == std::byte{0xFF});  // the rest of slot 0, and slot 1, still erased
  }
}

TEST_CASE("parameter blob: a round trip gives bit-identical parameters") {
  static Flash flash;
  static SmallModel saved = model_with_values<SmallModel>(make_small, 1);
  static SmallModel loaded = make_small();
  REQUIRE_FALSE(same_bits<SmallModel>(snapshot(saved), snapshot(loaded)));
  REQUIRE(io::save(saved, flash) == Status::ok);
  REQUIRE(io::load(loaded, flash) == Status::ok);
  CHECK(same_bits<SmallModel>(snapshot(saved), snapshot(loaded)));
  // The loaded model computes bit for bit what the saved one computes.
  static SmallModel::InferenceArena arena;
  const std::array<float, 6> x = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 1.5f};
  const auto outputs = [&](SmallModel& m) {
    const auto out = m.forward(SmallModel::input_view(x), arena);
    std::array<float, 3> values{};
    for (std::size_t i = 0; i < 3; ++i) {
      values[i] = out.values[i];
    }
    return values;
  };
  const auto expected = outputs(saved);
  CHECK(bit_identical(outputs(loaded), expected));

  // The blob holds the trained values only. A model of the same structure (the same
  // signature) whose frozen weights differ loads it and computes with its own frozen
  // weights and the loaded biases: exactly what a model built from those weights, with the
  // trained values set by hand, computes, and not what the saved model computes.
  static constexpr auto other_w = ramp<24>(-0.4f, 0.03f);
  static constexpr LinearParams<float, 24, 4> other_p{other_w, b4};
  static SmallModel other(other_p, p4x3);
  static SmallModel reference(other_p, p4x3);
  REQUIRE(io::load(other, flash) == Status::ok);
  set_snapshot(reference, snapshot(saved));
  const auto from_other = outputs(other);
  CHECK(bit_identical(from_other, outputs(reference)));
  CHECK_FALSE(bit_identical(from_other, expected));
}

TEST_CASE("parameter blob: round trips for a model spanning two erase units and other units") {
  {
    static io::RamStorage<1024> flash;
    static BigModel saved = model_with_values<BigModel>(make_big, 2);
    static BigModel loaded = make_big();
    REQUIRE(io::save(saved, flash) == Status::ok);
    REQUIRE(io::load(loaded, flash) == Status::ok);
    CHECK(same_bits<BigModel>(snapshot(saved), snapshot(loaded)));
  }
  {
    using Store64 = io::ParameterStore<SmallModel, io::Geometry<64>>;
    static io::RamStorage<256, 64> flash;
    static SmallModel saved = model_with_values<SmallModel>(make_small, 3);
    static SmallModel loaded = make_small();
    for (int i = 0; i < 3; ++i) {
      set_values(saved, 30U + static_cast<std::uint32_t>(i));
      REQUIRE(Store64::save(saved, flash) == Status::ok);
      REQUIRE(Store64::load(loaded, flash) == Status::ok);
      CHECK(same_bits<SmallModel>(snapshot(saved), snapshot(loaded)));
    }
    // Slots 0, 1, 0: slot 0 (units 0-1) erased twice, slot 1 (units 2-3) once.
    CHECK(flash.erase_count(0) == 2);
    CHECK(flash.erase_count(1) == 2);
    CHECK(flash.erase_count(2) == 1);
    CHECK(flash.erase_count(3) == 1);
  }
}

TEST_CASE("parameter blob: empty storage is not_found and leaves the model alone") {
  static Flash flash;
  static SmallModel model = model_with_values<SmallModel>(make_small, 4);
  const auto before = snapshot(model);
  CHECK(io::load(model, flash) == Status::not_found);
  CHECK(io::newest_sequence<SmallModel>(flash).status() == Status::not_found);
  CHECK(same_bits<SmallModel>(before, snapshot(model)));
}

TEST_CASE("parameter blob: a storage smaller than storage_bytes_needed is refused") {
  // A size known only at run time (PowerCutStorage has no region_bytes): size_mismatch from
  // save, load, newest and check_slot, nothing touched. (With region_bytes the same does not
  // compile: tests/compile_fail/io_region_too_small.cpp.)
  static io::RamStorage<256> small_ram;
  static PowerCutStorage<io::RamStorage<256>> small_flash(small_ram);
  static SmallModel model = model_with_values<SmallModel>(make_small, 5);
  const auto before = snapshot(model);
  CHECK(io::save(model, small_flash) == Status::size_mismatch);
  CHECK(io::load(model, small_flash) == Status::size_mismatch);
  CHECK(same_bits<SmallModel>(before, snapshot(model)));
  CHECK(small_ram.erase_count(0) == 0);
  CHECK(small_flash.bytes_programmed() == 0);
  CHECK(Store::newest(small_flash).status() == Status::size_mismatch);
  CHECK(Store::newest(model, small_flash).status() == Status::size_mismatch);
  CHECK(Store::check_slot(small_flash, 0).status == Status::size_mismatch);
  CHECK(Store::check_slot(model, small_flash, 1).status == Status::size_mismatch);
  static Flash flash;
  CHECK(Store::check_slot(flash, 2).status == Status::invalid_argument);
  CHECK(Store::check_slot(model, flash, 2).status == Status::invalid_argument);
}

TEST_CASE("parameter blob: saves alternate slots, each newer than the last") {
  static Flash flash;
  static SmallModel model = model_with_values<SmallModel>(make_small, 6);
  static SmallModel loaded = make_small();
  for (std::uint32_t i = 1; i <= 6; ++i) {
    set_values(model, 100U + i);
    REQUIRE(io::save(model, flash) == Status::ok);
    const auto newest = Store::newest(flash);
    REQUIRE(newest.ok());
    CHECK(newest.value().sequence == i);
    CHECK(newest.value().slot == (i - 1U) % 2U);
    REQUIRE(io::load(loaded, flash) == Status::ok);
    CHECK(same_bits<SmallModel>(snapshot(model), snapshot(loaded)));
  }
  // Both slots hold whole blobs: the older one (sequence 5) is the fallback.
  CHECK(Store::check_slot(flash, 0).status == Status::ok);
  CHECK(Store::check_slot(flash, 0).sequence == 5);
  CHECK(Store::check_slot(flash, 1).sequence == 6);
}

TEST_CASE("parameter blob: 1000 saves wear both slots evenly") {
  static Flash flash;
  static SmallModel model = model_with_values<SmallModel>(make_small, 7);
  static SmallModel loaded = make_small();
  for (std::uint32_t i = 0; i < 1000; ++i) {
    model.state<1>().bias[0] = static_cast<float>(i);
    REQUIRE(io::save(model, flash) == Status::ok);
    const std::uint32_t e0 = flash.erase_count(0);
    const std::uint32_t e1 = flash.erase_count(1);
    REQUIRE((e0 > e1 ? e0 - e1 : e1 - e0) <= 1U);
  }
  CHECK(flash.erase_count(0) == 500);
  CHECK(flash.erase_count(1) == 500);
  CHECK(io::newest_sequence<SmallModel>(flash).value() == 1000);
  REQUIRE(io::load(loaded, flash) == Status::ok);
  CHECK(loaded.state<1>().bias[0] == 999.0f);
}

TEST_CASE("parameter blob: the sequence number wraps from 2^32 - 1 to 0 and stays ordered") {
  static Flash flash;
  static SmallModel model = model_with_values<SmallModel>(make_small, 8);
  static SmallModel loaded = make_small();
  REQUIRE(io::save(model, flash) == Status::ok);
  rewrite_slot<Store>(
      flash, 0, [](std::span<std::byte> b) { io::detail::put_u32(b.data() + 16, 0xFFFFFFFFU); },
      96);
  CHECK(io::newest_sequence<SmallModel>(flash).value() == 0xFFFFFFFFU);
  set_values(model, 9);
  REQUIRE(io::save(model, flash) == Status::ok);  // into slot 1, numbered 0
  CHECK(Store::newest(flash).value().slot == 1);
  CHECK(io::newest_sequence<SmallModel>(flash).value() == 0);
  REQUIRE(io::load(loaded, flash) == Status::ok);
  CHECK(same_bits<SmallModel>(snapshot(model), snapshot(loaded)));
  set_values(model, 10);
  REQUIRE(io::save(model, flash) == Status::ok);  // back into slot 0, numbered 1
  CHECK(Store::newest(flash).value().slot == 0);
  CHECK(io::newest_sequence<SmallModel>(flash).value() == 1);
}

TEST_CASE("parameter blob: a blob of another model type is refused, the model untouched") {
  static Flash flash;
  flash = Flash{};  // doctest runs the case once per subcase: start each from erased
  static SmallModel target = model_with_values<SmallModel>(make_small, 12);
  const auto before = snapshot(target);
  SUBCASE("same payload size, other activation") {
    static Relu6Model other = model_with_values<Relu6Model>(make_relu6, 13);
    static_assert(io::ParameterStore<Relu6Model>::blob_bytes == Store::blob_bytes);
    REQUIRE(io::save(other, flash) == Status::ok);
    CHECK(io::load(target, flash) == Status::model_mismatch);
  }
  SUBCASE("another structure and size") {
    static OtherModel other = model_with_values<OtherModel>(make_other, 14);
    REQUIRE(io::save(other, flash) == Status::ok);
    REQUIRE(io::save(other, flash) == Status::ok);  // both slots
    CHECK(io::load(target, flash) == Status::model_mismatch);
  }
  SUBCASE("a larger model's blob running past this model's slot") {
    static io::RamStorage<1024> big_flash;
    static BigModel other = model_with_values<BigModel>(make_big, 15);
    REQUIRE(io::save(other, big_flash) == Status::ok);
    CHECK(io::load(target, big_flash) == Status::model_mismatch);
  }
  CHECK(same_bits<SmallModel>(before, snapshot(target)));
}

TEST_CASE("parameter blob: saving keeps this model's newest blob, not another model's") {
  static Flash flash;
  static SmallModel ours = model_with_values<SmallModel>(make_small, 16);
  static SmallModel loaded = make_small();
  static OtherModel theirs = model_with_values<OtherModel>(make_other, 17);
  static_assert(io::ParameterStore<OtherModel>::slot_bytes == Store::slot_bytes);
  REQUIRE(io::save(ours, flash) == Status::ok);    // slot 0, sequence 1
  REQUIRE(io::save(theirs, flash) == Status::ok);  // slot 1, sequence 2
  CHECK(io::newest_sequence<SmallModel>(flash).value() == 1);
  set_values(ours, 18);
  REQUIRE(io::save(ours, flash) == Status::ok);  // overwrites the other model, not our blob
  CHECK(Store::newest(flash).value().slot == 1);
  CHECK(io::newest_sequence<SmallModel>(flash).value() == 2);  // numbered after the blob it keeps
  CHECK(Store::check_slot(flash, 0).status == Status::ok);     // the previous one, kept
  REQUIRE(io::load(loaded, flash) == Status::ok);
  CHECK(same_bits<SmallModel>(snapshot(ours), snapshot(loaded)));
  static OtherModel other_loaded = make_other();
  CHECK(io::load(other_loaded, flash) == Status::model_mismatch);
}

TEST_CASE("parameter blob: every single-bit flip of the stored blob is refused") {
  static Flash flash;
  static SmallModel a = model_with_values<SmallModel>(make_small, 20);
  static SmallModel b = model_with_values<SmallModel>(make_small, 21);
  static SmallModel target = model_with_values<SmallModel>(make_small, 22);
  const auto before = snapshot(target);
  auto raw = flash.raw();

  // Only one blob stored: every flip must fail, and leave the model as it was.
  REQUIRE(io::save(a, flash) == Status::ok);
  int loaded_anyway = 0;
  int changed_model = 0;
  for (std::size_t bit = 0; bit < Store::blob_bytes * 8; ++bit) {
    const auto mask = static_cast<std::byte>(1U << (bit % 8));
    raw[bit / 8] ^= mask;
    const Status status = io::load(target, flash);
    loaded_anyway += status == Status::ok ? 1 : 0;
    changed_model += same_bits<SmallModel>(before, snapshot(target)) ? 0 : 1;
    raw[bit / 8] ^= mask;
  }
  CHECK(loaded_anyway == 0);
  CHECK(changed_model == 0);
  REQUIRE(io::load(target, flash) == Status::ok);  // restored: loads again
  CHECK(same_bits<SmallModel>(snapshot(a), snapshot(target)));

  // A (older, slot 0) and B (newer, slot 1): a flip in B falls back to exactly A; a flip in
  // A leaves B the newest.
  REQUIRE(io::save(b, flash) == Status::ok);
  int not_a = 0;
  int not_b = 0;
  for (std::size_t bit = 0; bit < Store::blob_bytes * 8; ++bit) {
    const auto mask = static_cast<std::byte>(1U << (bit % 8));
    const std::size_t in_b = Store::slot_bytes + bit / 8;
    raw[in_b] ^= mask;
    not_a += (io::load(target, flash) == Status::ok &&
              same_bits<SmallModel>(snapshot(a), snapshot(target)))
                 ? 0
                 : 1;
    raw[in_b] ^= mask;
    raw[bit / 8] ^= mask;
    not_b += (io::load(target, flash) == Status::ok &&
              same_bits<SmallModel>(snapshot(b), snapshot(target)))
                 ? 0
                 : 1;
    raw[bit / 8] ^= mask;
  }
  CHECK(not_a == 0);
  CHECK(not_b == 0);
}

TEST_CASE("parameter blob: malformed blobs are refused with the status that says why") {
  static Flash flash;
  static SmallModel model = model_with_values<SmallModel>(make_small, 30);
  static SmallModel target = model_with_values<SmallModel>(make_small, 31);
  const auto before = snapshot(target);
  flash = Flash{};  // doctest runs the case once per subcase: start each from erased
  REQUIRE(io::save(model, flash) == Status::ok);
  REQUIRE(Store::check_slot(flash, 0).status == Status::ok);

  SUBCASE("another format version, whole (CRC valid)") {
    rewrite_slot<Store>(
        flash, 0, [](std::span<std::byte> b) { put_u16(b.data() + 4, 2); }, 96);
    CHECK(io::load(target, flash) == Status::version_mismatch);
  }
  SUBCASE("a version-2 blob with a longer header") {
    // Header of 24 bytes: the frame still tells where the CRC is.
    rewrite_slot<Store>(
        flash, 0,
        [](std::span<std::byte> b) {
          std::memmove(b.data() + 24, b.data() + 20, 76);
          put_u16(b.data() + 4, 2);
          put_u16(b.data() + 6, 24);
        },
        100);
    CHECK(io::load(target, flash) == Status::version_mismatch);
  }
  SUBCASE("version 1 with a header size other than 20") {
    rewrite_slot<Store>(
        flash, 0,
        [](std::span<std::byte> b) {
          std::memmove(b.data() + 24, b.data() + 20, 76);
          put_u16(b.data() + 6, 24);
        },
        100);
    CHECK(io::load(target, flash) == Status::bad_format);
  }
  SUBCASE("a header size smaller than the frame") {
    rewrite_slot<Store>(
        flash, 0, [](std::span<std::byte> b) { put_u16(b.data() + 6, 8); }, 96);
    CHECK(io::load(target, flash) == Status::bad_format);
  }
  SUBCASE("wrong magic") {
    rewrite_slot<Store>(
        flash, 0, [](std::span<std::byte> b) { b[3] = std::byte{'Q'}; }, 96);
    CHECK(io::load(target, flash) == Status::bad_format);
  }
  SUBCASE("a length running past the end of the storage") {
    rewrite_slot<Store>(
        flash, 0, [](std::span<std::byte> b) { io::detail::put_u32(b.data() + 8, 0xFFFFFFF0U); },
        0);
    CHECK(io::load(target, flash) == Status::truncated);
    rewrite_slot<Store>(
        flash, 0, [](std::span<std::byte> b) { io::detail::put_u32(b.data() + 8, 489); }, 0);
    CHECK(io::load(target, flash) == Status::truncated);  // 20 + 489 + 4 = 513 > 512
  }
  SUBCASE("a shorter payload of this model's signature, whole") {
    rewrite_slot<Store>(
        flash, 0, [](std::span<std::byte> b) { io::detail::put_u32(b.data() + 8, 72); }, 92);
    CHECK(io::load(target, flash) == Status::size_mismatch);
  }
  SUBCASE("a torn write: the blob's end never programmed") {
    rewrite_slot<Store>(
        flash, 0,
        [](std::span<std::byte> b) {
          for (std::size_t i = 60; i < b.size(); ++i) {
            b[i] = std::byte{0xFF};
          }
        },
        0);
    CHECK(io::load(target, flash) == Status::checksum_mismatch);
  }
  SUBCASE("NaN or infinity with a valid CRC") {
    const std::uint32_t patterns[] = {0x7FC00000U, 0xFF800000U, 0x7F800000U, 0x7F800001U};
    for (const std::uint32_t pattern : patterns) {
      rewrite_slot<Store>(
          flash, 0, [&](std::span<std::byte> b) { io::detail::put_u32(b.data() + 56, pattern); },
          96);
      CHECK(io::load(target, flash) == Status::not_finite);
    }
  }
  CHECK(same_bits<SmallModel>(before, snapshot(target)));
}

TEST_CASE("parameter blob: a non-finite newest blob falls back to the older valid one") {
  static Flash flash;
  static SmallModel a = model_with_values<SmallModel>(make_small, 40);
  static SmallModel b = model_with_values<SmallModel>(make_small, 41);
  static SmallModel target = make_small();
  REQUIRE(io::save(a, flash) == Status::ok);
  REQUIRE(io::save(b, flash) == Status::ok);
  rewrite_slot<Store>(
      flash, 1,
      [](std::span<std::byte> bytes) { io::detail::put_u32(bytes.data() + 20, 0x7FC00000U); }, 96);
  REQUIRE(io::load(target, flash) == Status::ok);
  CHECK(same_bits<SmallModel>(snapshot(a), snapshot(target)));
}

TEST_CASE("parameter blob: when no slot is loadable, the most informative reason is given") {
  static Flash flash;
  static SmallModel model = model_with_values<SmallModel>(make_small, 50);
  static OtherModel other = model_with_values<OtherModel>(make_other, 51);
  static SmallModel target = make_small();
  // Slot 0: another model's blob; slot 1: a damaged blob of ours.
  REQUIRE(io::save(other, flash) == Status::ok);
  REQUIRE(io::save(model, flash) == Status::ok);
  REQUIRE(Store::newest(flash).value().slot == 1);
  flash.raw()[Store::slot_bytes + 40] ^= std::byte{0x10};
  CHECK(Store::check_slot(flash, 1).status == Status::checksum_mismatch);
  CHECK(io::load(target, flash) == Status::model_mismatch);
  // Slot 0 erased instead: the damage is the news.
  REQUIRE(flash.erase(0, Store::slot_bytes) == Status::ok);
  CHECK(io::load(target, flash) == Status::checksum_mismatch);
}

TEST_CASE("parameter blob: a model with NaN or infinity is never saved") {
  static Flash flash;
  static SmallModel good = model_with_values<SmallModel>(make_small, 60);
  static SmallModel bad = model_with_values<SmallModel>(make_small, 61);
  REQUIRE(io::save(good, flash) == Status::ok);
  std::array<std::byte, 512> before{};
  std::memcpy(before.data(), flash.raw().data(), before.size());
  bad.state<1>().weights[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK(io::save(bad, flash) == Status::not_finite);
  bad.state<1>().weights[5] = 0.0f;
  bad.state<0>().bias[3] = -std::numeric_limits<float>::infinity();
  CHECK(io::save(bad, flash) == Status::not_finite);
  CHECK(std::memcmp(before.data(), flash.raw().data(), before.size()) == 0);
  CHECK(flash.erase_count(1) == 0);
}

TEST_CASE("parameter blob: storage failures are io_error, and change nothing they should not") {
  static Flash flash;
  flash = Flash{};
  static PowerCutStorage<Flash> faulty(flash);
  static SmallModel a = model_with_values<SmallModel>(make_small, 70);
  static SmallModel b = model_with_values<SmallModel>(make_small, 71);
  static SmallModel target = model_with_values<SmallModel>(make_small, 72);
  const auto before = snapshot(target);
  REQUIRE(io::save(a, flash) == Status::ok);

  // Reads failing from any point of a load on: io_error and the model untouched (load
  // copies into the model only after its last read).
  const auto reads_of = [&](auto&& operation) {
    faulty.restore_power();
    const std::size_t start = faulty.reads();
    REQUIRE(operation() == Status::ok);
    return faulty.reads() - start;
  };
  static SmallModel scratch = make_small();
  const std::size_t load_reads = reads_of([&] { return io::load(scratch, faulty); });
  CHECK(load_reads == 4);  // two headers, the payload, the CRC
  for (std::size_t reads = 0; reads < load_reads; ++reads) {
    faulty.restore_power();
    faulty.fail_reads_after(reads);
    CHECK(io::load(target, faulty) == Status::io_error);
    CHECK(same_bits<SmallModel>(before, snapshot(target)));
  }
  // The same for newest(), which reads both slots whole.
  const std::size_t newest_reads =
      reads_of([&] { return io::ParameterStore<SmallModel>::newest(faulty).status(); });
  CHECK(newest_reads >= 4);
  for (std::size_t reads = 0; reads < newest_reads; ++reads) {
    faulty.restore_power();
    faulty.fail_reads_after(reads);
    CHECK(io::ParameterStore<SmallModel>::newest(target, faulty).status() == Status::io_error);
  }
  // One read failing alone (a transient fault), with both slots valid: if the newer slot
  // cannot be read, the older one must not be loaded in its place.
  REQUIRE(io::save(b, flash) == Status::ok);  // A in slot 0, B (newest) in slot 1
  const std::size_t two_slot_reads = reads_of([&] { return io::load(scratch, faulty); });
  CHECK(two_slot_reads == 4);  // the older slot's payload is never read
  for (std::size_t k = 0; k < two_slot_reads; ++k) {
    faulty.restore_power();
    faulty.fail_only_read(k);
    CHECK(io::load(target, faulty) == Status::io_error);
    CHECK(same_bits<SmallModel>(before, snapshot(target)));
  }
  // save() cannot tell which slot to keep: io_error, nothing erased or written.
  faulty.restore_power();
  faulty.fail_reads_after(0);
  CHECK(io::save(b, faulty) == Status::io_error);
  faulty.restore_power();
  faulty.fail_reads_after(3);
  CHECK(io::save(b, faulty) == Status::io_error);
  CHECK(flash.erase_count(0) == 1);
  CHECK(flash.erase_count(1) == 1);

  // An erase that silently does nothing over an old blob: the write lands on old bits, the
  // read-back catches it, and the blob that was newest is still the one that loads.
  faulty.restore_power();
  REQUIRE(io::save(a, flash) == Status::ok);  // slot 0: A again, the newest
  faulty.ignore_erases(true);
  CHECK(io::save(b, faulty) == Status::io_error);
  faulty.restore_power();
  REQUIRE(io::load(target, flash) == Status::ok);
  CHECK(same_bits<SmallModel>(snapshot(a), snapshot(target)));

  // An erase or a write the storage refuses (any status but ok): io_error.
  faulty.cut_erase_after(0, 1);
  CHECK(io::save(b, faulty) == Status::io_error);
  faulty.restore_power();
  faulty.cut_write_after(8);
  CHECK(io::save(b, faulty) == Status::io_error);
  faulty.restore_power();
  REQUIRE(io::load(target, flash) == Status::ok);
  CHECK(same_bits<SmallModel>(snapshot(a), snapshot(target)));
}
