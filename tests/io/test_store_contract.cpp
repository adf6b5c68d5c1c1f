// The parameter store's contract: every status save, load and newest document, each one
// produced; the storage's geometry (slots in separate erase sectors, writes in whole
// program units, padded with 0xFF); a blob that exactly fills its slot; values beyond the
// guard's bound (train/guard.hpp) refused on save and on load.
#include <doctest/doctest.h>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>

#include "blob_test_models.hpp"
#include "microtl/io/parameter_store.hpp"
#include "microtl/io/ram_storage.hpp"
#include "microtl/layers/quantize_linear.hpp"
#include "power_cut_storage.hpp"

using namespace microtl;
using namespace microtl_test;

namespace {

using Flash = io::RamStorage<512>;
using Store = io::ParameterStore<SmallModel, Flash>;

// Records every write and erase, and forwards it (a driver's view of what save asks).
template <class Ram>
class RecordingStorage {
 public:
  static constexpr std::size_t erase_bytes = Ram::erase_bytes;
  static constexpr std::size_t write_bytes = Ram::write_bytes;
  static constexpr std::size_t region_bytes = Ram::region_bytes;

  explicit RecordingStorage(Ram& ram) noexcept : ram_(ram) {}
  [[nodiscard]] std::size_t size() const noexcept { return ram_.size(); }
  [[nodiscard]] Status read(std::size_t offset, std::span<std::byte> out) noexcept {
    return ram_.read(offset, out);
  }
  [[nodiscard]] Status write(std::size_t offset, std::span<const std::byte> bytes) noexcept {
    misaligned_writes += offset % write_bytes != 0 || bytes.size() % write_bytes != 0 ? 1U : 0U;
    ++writes;
    written += bytes.size();
    return ram_.write(offset, bytes);
  }
  // A driver that erases whole sectors: the range rounded out to sector boundaries (what a
  // driver for a 4 KB-sector chip does with a 256-byte request).
  [[nodiscard]] Status erase(std::size_t offset, std::size_t length) noexcept {
    misaligned_erases += offset % erase_bytes != 0 || length % erase_bytes != 0 ? 1U : 0U;
    const std::size_t first = offset / erase_bytes * erase_bytes;
    const std::size_t last = (offset + length + erase_bytes - 1) / erase_bytes * erase_bytes;
    return ram_.erase(first, last - first);
  }

  std::size_t writes = 0;
  std::size_t written = 0;
  std::size_t misaligned_writes = 0;
  std::size_t misaligned_erases = 0;

 private:
  Ram& ram_;
};

// Saves, loads and checks the bytes for one geometry: every write whole program units, the
// blob as documented, the padding after it 0xFF, the other slot untouched.
template <std::size_t Erase, std::size_t Write>
void round_trip_with_geometry() {
  using Ram = io::RamStorage<io::storage_bytes_needed<BigModel>(Erase), Erase, Write>;
  using S = io::ParameterStore<BigModel, Ram>;
  static_assert(S::slot_bytes % Erase == 0 && S::slot_bytes >= S::blob_bytes);
  static Ram ram;
  ram = Ram{};
  RecordingStorage<Ram> flash(ram);
  static BigModel a = model_with_values<BigModel>(make_big, 501);
  static BigModel b = model_with_values<BigModel>(make_big, 502);
  static BigModel loaded = make_big();
  INFO("erase " << Erase << ", write " << Write);
  REQUIRE(io::save(a, flash) == Status::ok);
  REQUIRE(io::save(b, flash) == Status::ok);
  CHECK(flash.misaligned_writes == 0);
  CHECK(flash.misaligned_erases == 0);
  // Each save writes the blob padded to whole program units, nothing more.
  constexpr std::size_t padded = (S::blob_bytes + Write - 1) / Write * Write;
  CHECK(flash.written == 2 * padded);
  const auto raw = std::span<const std::byte>(ram.raw());
  for (std::size_t slot = 0; slot < 2; ++slot) {
    const std::size_t base = S::slot_offset(slot);
    CHECK(io::detail::get_u32(raw.data() + base + S::blob_bytes - 4) ==
          io::crc32(raw.subspan(base, S::blob_bytes - 4)));
    std::size_t not_erased = 0;
    for (std::size_t i = S::blob_bytes; i < S::slot_bytes; ++i) {
      not_erased += raw[base + i] == std::byte{0xFF} ? 0U : 1U;
    }
    CHECK(not_erased == 0);
  }
  REQUIRE(io::load(loaded, flash) == Status::ok);
  CHECK(same_bits<BigModel>(snapshot(loaded), snapshot(b)));
  // The older blob is still whole: the erase of slot 1 did not reach slot 0.
  CHECK(S::check_slot(loaded, flash, 0).status == Status::ok);
}

// An int8 bias-only layer (fan-in 4) and a float layer: the bias bound (B) depends on the
// layer's scales, so only a model object can say which values it admits.
using Int8Model =
    Sequential<Input<Shape<4>, QInt8>, BiasOnly<Dense<3>>, Dequantize, Trainable<Dense<2>>>;
struct Int8Fixture {
  quant::QuantParams q_in{1.0f / 127.0f, 0};
  quant::QuantParams q_out{0.05f, 0};
  std::array<float, 12> w = {0.5f, -1.0f, 0.25f, 0.75f, -0.5f, 1.0f,
                             0.1f, 0.2f,  -0.3f, 0.4f,  0.6f,  -0.8f};
  std::array<float, 3> b = {0.1f, -0.2f, 0.05f};
  QuantizedLinear<12, 3> dense8 = quantize_linear<ChannelAxis::leading>(
      std::span<const float, 12>(w), std::span<const float, 3>(b), q_in, q_out);
  std::array<float, 6> head_w = {0.1f, 0.2f, 0.3f, -0.1f, -0.2f, -0.3f};
  std::array<float, 2> head_b = {0.0f, 0.1f};
  decltype(dense8.params()) params8 = dense8.params();
  layers::QuantizedBiasOnlyParams<12, 3> bias_only{params8, dense8.weight_scales, q_in.scale};
  LinearParams<float, 6, 2> head{head_w, head_b};
};

}  // namespace

TEST_CASE("store: a blob that exactly fills its slot, at the very end of the storage, loads") {
  // 100-byte blob, 100-byte sectors and 4-byte program units: slot 1's CRC ends at the last
  // byte of the region (header + payload + CRC == slot bytes == region - slot 1's offset).
  using Exact = io::RamStorage<200, 100, 4>;
  using S = io::ParameterStore<SmallModel, Exact>;
  static_assert(S::blob_bytes == S::slot_bytes && S::storage_bytes == 200);
  static Exact flash;
  static SmallModel a = model_with_values<SmallModel>(make_small, 510);
  static SmallModel b = model_with_values<SmallModel>(make_small, 511);
  static SmallModel loaded = make_small();
  REQUIRE(io::save(a, flash) == Status::ok);
  REQUIRE(io::save(b, flash) == Status::ok);  // slot 1: ends at byte 200 of 200
  CHECK(S::check_slot(flash, 1).status == Status::ok);
  CHECK(S::newest(loaded, flash).value().slot == 1);
  REQUIRE(io::load(loaded, flash) == Status::ok);
  CHECK(same_bits<SmallModel>(snapshot(loaded), snapshot(b)));
  // One byte longer than the region is truncated (the bound is exact on both sides).
  io::detail::put_u32(flash.raw().data() + S::slot_offset(1) + io::blob_format::length_at,
                      static_cast<std::uint32_t>(S::payload_bytes + 1));
  CHECK(S::check_slot(flash, 1).status == Status::truncated);
}

TEST_CASE("store: slots lie in separate erase sectors, writes are whole program units") {
  round_trip_with_geometry<256, 1>();
  round_trip_with_geometry<256, 8>();
  round_trip_with_geometry<64, 16>();     // the big blob spans 5 sectors per slot
  round_trip_with_geometry<2048, 32>();   // one chunk of the writer is 64 bytes = 2 units
  round_trip_with_geometry<4096, 128>();  // a program unit larger than the 64-byte chunk
  round_trip_with_geometry<4, 4>();       // EEPROM-like: the slot is the blob rounded to 4
}

TEST_CASE("store: a 4 KB-sector driver that rounds erases up never wipes the other slot") {
  // The store takes the sector from the storage's type: slots of 4096 bytes, so each
  // erase is exactly one slot. (A store laid out for 256-byte units does not compile with
  // this storage: tests/compile_fail/io_sector_mismatch.cpp.)
  using Chip = io::RamStorage<8192, 4096, 8>;
  static_assert(io::ParameterStore<SmallModel, Chip>::slot_bytes == 4096);
  static Chip ram;
  RecordingStorage<Chip> flash(ram);
  static SmallModel loaded = make_small();
  for (std::uint32_t i = 0; i < 6; ++i) {
    static SmallModel model = make_small();
    set_values(model, 520U + i);
    REQUIRE(io::save(model, flash) == Status::ok);
    REQUIRE(io::load(loaded, flash) == Status::ok);
    CHECK(same_bits<SmallModel>(snapshot(loaded), snapshot(model)));
    if (i > 0) {
      // The previous blob survived this save's erase.
      using S = io::ParameterStore<SmallModel, Chip>;
      CHECK(S::check_slot(loaded, flash, (i + 1) % 2).status == Status::ok);
    }
  }
  CHECK(flash.misaligned_erases == 0);
  CHECK(ram.erase_count(0) == 3);
  CHECK(ram.erase_count(1) == 3);
}

TEST_CASE("store: save returns each documented status") {
  static Flash flash;
  flash = Flash{};
  static SmallModel model = model_with_values<SmallModel>(make_small, 530);
  REQUIRE(io::save(model, flash) == Status::ok);  // ok
  std::array<std::byte, 512> before{};
  std::memcpy(before.data(), flash.raw().data(), before.size());
  const auto untouched = [&] {
    return std::memcmp(before.data(), flash.raw().data(), before.size()) == 0 &&
           flash.erase_count(1) == 0;
  };
  // size_mismatch: a region of run-time size too small for two slots.
  static io::RamStorage<256> small_ram;
  PowerCutStorage<io::RamStorage<256>> small(small_ram);
  CHECK(io::save(model, small) == Status::size_mismatch);
  // not_finite: NaN or infinity anywhere.
  static SmallModel bad = model_with_values<SmallModel>(make_small, 531);
  bad.state<1>().weights[4] = std::numeric_limits<float>::quiet_NaN();
  CHECK(io::save(bad, flash) == Status::not_finite);
  CHECK(untouched());
  // not_finite wins over out_of_range when both are present.
  bad.state<0>().bias[0] = 3e38f;
  CHECK(io::save(bad, flash) == Status::not_finite);
  // out_of_range: finite, beyond the guard's bound |v| <= 2^24 (B2: never persist a model
  // a single huge update left behind).
  bad.state<1>().weights[4] = 0.5f;
  CHECK(io::save(bad, flash) == Status::out_of_range);
  bad.state<0>().bias[0] = 16777216.0f;   // exactly 2^24: admitted
  bad.state<1>().bias[2] = -16777218.0f;  // the next float beyond -2^24: not
  CHECK(io::save(bad, flash) == Status::out_of_range);
  CHECK(untouched());
  bad.state<1>().bias[2] = -16777216.0f;
  CHECK(io::save(bad, flash) == Status::ok);
  // io_error: the storage failed (here: the power, during the write).
  PowerCutStorage<Flash> cut(flash);
  cut.cut_write_after(10);
  CHECK(io::save(model, cut) == Status::io_error);
}

TEST_CASE("store: load, newest(model) and newest() return each documented status, and agree") {
  static Flash flash;
  static SmallModel model = model_with_values<SmallModel>(make_small, 540);
  static SmallModel target = model_with_values<SmallModel>(make_small, 541);
  const auto before = snapshot(target);
  constexpr std::size_t payload = Store::payload_bytes;
  const auto expect = [&](Status status) {
    CHECK(io::load(target, flash) == status);
    CHECK(Store::newest(target, flash).status() == status);
    CHECK(Store::newest(flash).status() == status);  // no int8 layer: the same rule
    if (status != Status::ok) {
      CHECK(same_bits<SmallModel>(before, snapshot(target)));
    }
  };
  // A fresh region, then one blob in slot 0 edited in place (slot 1 stays erased).
  const auto fresh = [&] {
    flash = Flash{};
    REQUIRE(io::save(model, flash) == Status::ok);
  };
  const auto raw = flash.raw();
  SUBCASE("not_found") {
    flash = Flash{};
    expect(Status::not_found);
  }
  SUBCASE("bad_format") {
    fresh();
    raw[1] = std::byte{'X'};
    expect(Status::bad_format);
  }
  SUBCASE("truncated") {
    fresh();
    io::detail::put_u32(raw.data() + io::blob_format::length_at, 0x00010000U);
    expect(Status::truncated);
  }
  SUBCASE("checksum_mismatch") {
    fresh();
    raw[40] ^= std::byte{0x01};
    expect(Status::checksum_mismatch);
  }
  SUBCASE("version_mismatch") {
    fresh();
    raw[io::blob_format::version_at] = std::byte{2};
    set_stored_value(raw, 0, payload, 0, 0);  // the CRC made whole again
    expect(Status::version_mismatch);
  }
  SUBCASE("model_mismatch") {
    flash = Flash{};
    static OtherModel other = model_with_values<OtherModel>(make_other, 542);
    REQUIRE(io::save(other, flash) == Status::ok);
    expect(Status::model_mismatch);
  }
  SUBCASE("size_mismatch (a blob of this signature, another length)") {
    fresh();
    io::detail::put_u32(raw.data() + io::blob_format::length_at, payload - 4);
    set_stored_value(raw, 0, payload - 4, 0, 0);
    expect(Status::size_mismatch);
  }
  SUBCASE("size_mismatch (a storage smaller than storage_bytes)") {
    static io::RamStorage<256> small_ram;
    PowerCutStorage<io::RamStorage<256>> small(small_ram);
    CHECK(io::load(target, small) == Status::size_mismatch);
    CHECK(Store::newest(target, small).status() == Status::size_mismatch);
  }
  SUBCASE("not_finite") {
    fresh();
    set_stored_value(raw, 0, payload, 7, 0x7F800000U);
    expect(Status::not_finite);
  }
  SUBCASE("out_of_range: 3e38 in an otherwise valid blob") {
    fresh();
    set_stored_value(raw, 0, payload, 7, std::bit_cast<std::uint32_t>(3e38f));
    expect(Status::out_of_range);
  }
  SUBCASE("io_error") {
    fresh();
    PowerCutStorage<Flash> faulty(flash);
    faulty.fail_reads_after(1);
    CHECK(io::load(target, faulty) == Status::io_error);
    faulty.restore_power();
    faulty.fail_reads_after(1);
    CHECK(Store::newest(target, faulty).status() == Status::io_error);
    CHECK(same_bits<SmallModel>(before, snapshot(target)));
  }
  SUBCASE("ok") {
    fresh();
    expect(Status::ok);
    CHECK(same_bits<SmallModel>(snapshot(model), snapshot(target)));
    set_snapshot(target, before);
  }
}

TEST_CASE("store: a newest blob beyond the bound falls back to the older valid one") {
  static Flash flash;
  static SmallModel a = model_with_values<SmallModel>(make_small, 550);
  static SmallModel b = model_with_values<SmallModel>(make_small, 551);
  static SmallModel target = make_small();
  REQUIRE(io::save(a, flash) == Status::ok);
  REQUIRE(io::save(b, flash) == Status::ok);
  set_stored_value(flash.raw(), Store::slot_offset(1), Store::payload_bytes, 18,
                   std::bit_cast<std::uint32_t>(-3e38f));
  CHECK(Store::check_slot(target, flash, 1).status == Status::out_of_range);
  CHECK(Store::check_slot(target, flash, 1).intact);
  CHECK(Store::newest(target, flash).value().slot == 0);
  REQUIRE(io::load(target, flash) == Status::ok);
  CHECK(same_bits<SmallModel>(snapshot(a), snapshot(target)));
  // The next save keeps the loadable blob (slot 0) and replaces the refused one, numbered
  // after the blob it keeps.
  REQUIRE(io::save(b, flash) == Status::ok);
  CHECK(Store::newest(target, flash).value().slot == 1);
  CHECK(Store::check_slot(target, flash, 0).status == Status::ok);
}

TEST_CASE("store: an int8 bias beyond its accumulator bound is refused on save and on load") {
  static Int8Fixture f;
  using S = io::ParameterStore<Int8Model, Flash>;
  static_assert(S::value_count == 3 + 6 + 2);
  static Int8Model model(f.q_in, f.bias_only, f.head);
  static Int8Model target(f.q_in, f.bias_only, f.head);
  static Flash flash;
  REQUIRE(io::save(model, flash) == Status::ok);
  const auto before = snapshot(target);
  // A real bias of 1e6 is within (P) (|v| <= 2^24) but is about 1.6e10 int32 steps of
  // input_scale * weight_scale: beyond (B), the next forward would overflow the int32
  // accumulator (B1). As the int8 layer's bias (payload values 0-2): refused.
  const float huge = 1e6f;
  REQUIRE(model.state<0>().admits(linear_tensor::bias, 1, 1.0f));
  REQUIRE_FALSE(model.state<0>().admits(linear_tensor::bias, 1, huge));
  set_stored_value(flash.raw(), 0, S::payload_bytes, 1, std::bit_cast<std::uint32_t>(huge));
  CHECK(io::load(target, flash) == Status::out_of_range);
  CHECK(S::newest(target, flash).status() == Status::out_of_range);
  CHECK(S::check_slot(target, flash, 0).status == Status::out_of_range);
  // Without the model only (P) can be checked: documented, newest(storage) says ok.
  CHECK(S::check_slot(flash, 0).status == Status::ok);
  CHECK(same_bits<Int8Model>(before, snapshot(target)));
  // The same value as a weight of the float layer (payload value 3 on): admitted. (So the
  // payload index reaches the right layer's admits.)
  set_stored_value(flash.raw(), 0, S::payload_bytes, 1, std::bit_cast<std::uint32_t>(0.25f));
  set_stored_value(flash.raw(), 0, S::payload_bytes, 3, std::bit_cast<std::uint32_t>(huge));
  REQUIRE(io::load(target, flash) == Status::ok);
  CHECK(target.state<0>().bias[1] == 0.25f);
  CHECK(target.state<2>().weights[0] == huge);
  // The int32 bias was refreshed from the loaded real bias.
  CHECK(target.state<0>().bias_q[1] != model.state<0>().bias_q[1]);
  // save refuses a model whose int8 bias breaks (B), touching nothing.
  std::array<std::byte, 512> stored{};
  std::memcpy(stored.data(), flash.raw().data(), stored.size());
  static Int8Model bad(f.q_in, f.bias_only, f.head);
  bad.state<0>().bias[2] = -huge;
  CHECK(io::save(bad, flash) == Status::out_of_range);
  CHECK(std::memcmp(stored.data(), flash.raw().data(), stored.size()) == 0);
}
