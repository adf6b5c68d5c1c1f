// ParameterStore::accept: a blob received from elsewhere (a fleet server's aggregated model)
// replaces the model's trained values only when it is whole and this model's, and only once
// the storage holds it. Every refusal leaves the model and the storage's bytes as they were;
// a power cut while it is stored leaves the previous blob the one load() finds.
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
#include "power_cut_storage.hpp"

using namespace microtl;
using namespace microtl_test;

namespace {

using Flash = io::RamStorage<512>;
using Store = io::ParameterStore<SmallModel, Flash>;
constexpr std::size_t kBlob = Store::blob_bytes;

// The blob a sender with these values writes (its first slot), as it would go on the air.
std::array<std::byte, kBlob> blob_of(const SmallModel& sender) {
  Flash flash;
  REQUIRE(io::save(sender, flash) == Status::ok);
  std::array<std::byte, kBlob> blob{};
  std::memcpy(blob.data(), flash.raw().data(), kBlob);
  return blob;
}

// A device that learned (values from seed 1) and saved twice: both slots hold blobs.
struct Device {
  Flash flash;
  SmallModel model = model_with_values<SmallModel>(make_small, 1);
  Device() {
    REQUIRE(io::save(model, flash) == Status::ok);
    REQUIRE(io::save(model, flash) == Status::ok);
  }
};

// Sets the CRC of a blob whose bytes were edited, as a writer of those bytes would have.
void reseal(std::span<std::byte> blob) {
  constexpr std::size_t covered = kBlob - io::blob_format::crc_bytes;
  io::detail::put_u32(blob.data() + covered, io::crc32(blob.first(covered)));
}

}  // namespace

TEST_CASE("accept: a whole blob of this model is stored, then loaded, and renumbered") {
  Device device;
  const SmallModel sender = model_with_values<SmallModel>(make_small, 7);
  auto blob = blob_of(sender);
  // The sequence number it travelled with means nothing to the device.
  io::detail::put_u32(blob.data() + io::blob_format::sequence_at, 0xFFFFFFF0U);
  reseal(blob);
  const auto before = io::newest_sequence<SmallModel>(device.flash);
  REQUIRE(before.ok());

  REQUIRE(io::accept(device.model, blob, device.flash) == Status::ok);
  CHECK(same_bits<SmallModel>(snapshot(device.model), snapshot(sender)));
  // Stored: a reboot loads the sender's values, numbered after the device's own newest.
  SmallModel rebooted = make_small();
  REQUIRE(io::load(rebooted, device.flash) == Status::ok);
  CHECK(same_bits<SmallModel>(snapshot(rebooted), snapshot(sender)));
  const auto after = io::newest_sequence<SmallModel>(device.flash);
  REQUIRE(after.ok());
  CHECK(after.value() == before.value() + 1);
  // Derived state follows: the model computes what the sender's computes.
  std::array<float, 6> x{0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 1.5f};
  typename SmallModel::InferenceArena a1;
  typename SmallModel::InferenceArena a2;
  const auto y1 = device.model.forward(SmallModel::input_view(x), a1);
  const auto y2 = sender.forward(SmallModel::input_view(x), a2);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(std::bit_cast<std::uint32_t>(y1.values[i]) == std::bit_cast<std::uint32_t>(y2.values[i]));
  }
}

TEST_CASE("accept: every damaged or foreign blob is refused, and nothing changes") {
  const SmallModel sender = model_with_values<SmallModel>(make_small, 7);
  const auto good = blob_of(sender);
  constexpr std::size_t header = io::blob_format::header_bytes;
  constexpr std::size_t payload = Store::payload_bytes;

  struct Case {
    const char* what;
    Status expected;
    std::size_t size;  // bytes handed to accept
    void (*edit)(std::span<std::byte>);
  };
  const Case cases[] = {
      {"a flipped payload bit", Status::checksum_mismatch, kBlob,
       [](std::span<std::byte> b) { b[header + 5] ^= std::byte{0x10}; }},
      {"a flipped CRC bit", Status::checksum_mismatch, kBlob,
       [](std::span<std::byte> b) { b[kBlob - 1] ^= std::byte{0x01}; }},
      {"a NaN (CRC made to match)", Status::not_finite, kBlob,
       [](std::span<std::byte> b) { set_stored_value(b, 0, payload, 3, 0x7FC00000U); }},
      {"an infinity", Status::not_finite, kBlob,
       [](std::span<std::byte> b) { set_stored_value(b, 0, payload, 10, 0xFF800000U); }},
      {"a huge finite value (beyond the guard's bound)", Status::out_of_range, kBlob,
       [](std::span<std::byte> b) {
         set_stored_value(b, 0, payload, 8, std::bit_cast<std::uint32_t>(3.0e30f));
       }},
      {"another model's signature", Status::model_mismatch, kBlob,
       [](std::span<std::byte> b) {
         io::detail::put_u32(b.data() + io::blob_format::signature_at, Store::signature ^ 1U);
         reseal(b);
       }},
      {"another format version", Status::version_mismatch, kBlob,
       [](std::span<std::byte> b) {
         b[io::blob_format::version_at] = std::byte{2};
         reseal(b);
       }},
      {"not a blob", Status::bad_format, kBlob,
       [](std::span<std::byte> b) { b[0] = std::byte{'X'}; }},
      {"cut short on the air", Status::truncated, kBlob - 3, [](std::span<std::byte>) {}},
      {"shorter than a header", Status::truncated, 11, [](std::span<std::byte>) {}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    Device device;
    const auto values_before = snapshot(device.model);
    std::array<std::byte, 512> flash_before{};
    std::memcpy(flash_before.data(), device.flash.raw().data(), flash_before.size());
    auto blob = good;
    c.edit(blob);
    CHECK(io::accept(device.model, std::span<const std::byte>(blob.data(), c.size), device.flash) ==
          c.expected);
    CHECK(same_bits<SmallModel>(snapshot(device.model), values_before));
    CHECK(std::memcmp(flash_before.data(), device.flash.raw().data(), flash_before.size()) == 0);
  }
}

TEST_CASE("accept: another model's whole blob of the same size is refused") {
  // Relu6Model has SmallModel's payload length; only the signature tells them apart.
  const Relu6Model other = model_with_values<Relu6Model>(make_relu6, 3);
  io::RamStorage<512> other_flash;
  REQUIRE(io::save(other, other_flash) == Status::ok);
  std::array<std::byte, kBlob> blob{};
  std::memcpy(blob.data(), other_flash.raw().data(), kBlob);
  Device device;
  const auto values_before = snapshot(device.model);
  CHECK(io::accept(device.model, blob, device.flash) == Status::model_mismatch);
  CHECK(same_bits<SmallModel>(snapshot(device.model), values_before));
}

TEST_CASE("accept: a power cut while the blob is stored keeps the previous parameters") {
  const SmallModel sender = model_with_values<SmallModel>(make_small, 7);
  const auto blob = blob_of(sender);
  // Every cut point of the write (erase, then the blob's program units), clean and messy.
  std::size_t gave_new = 0;
  std::size_t gave_old = 0;
  for (std::size_t cut = 0; cut < kBlob + 8; ++cut) {
    for (const std::size_t page : {std::size_t{1}, std::size_t{16}}) {
      CAPTURE(cut);
      CAPTURE(page);
      io::RamStorage<512> ram;
      SmallModel model = model_with_values<SmallModel>(make_small, 1);
      REQUIRE(io::save(model, ram) == Status::ok);
      const auto previous = snapshot(model);
      PowerCutStorage<io::RamStorage<512>> flash(ram);
      flash.cut_write({cut, page, page > 1 ? 2u : 0u, static_cast<std::uint32_t>(cut + 1)});
      const Status status = io::accept(model, blob, flash);
      if (status == Status::ok) {
        // The whole blob was programmed before the cut point: the new values, stored.
        CHECK(same_bits<SmallModel>(snapshot(model), snapshot(sender)));
      } else {
        CHECK(status == Status::io_error);
        CHECK(same_bits<SmallModel>(snapshot(model), previous));  // RAM untouched
      }
      // Reboot: the store gives the previous values or the new ones, never anything else.
      flash.restore_power();
      SmallModel rebooted = make_small();
      REQUIRE(io::load(rebooted, flash) == Status::ok);
      const auto got = snapshot(rebooted);
      const bool is_new = same_bits<SmallModel>(got, snapshot(sender));
      const bool is_old = same_bits<SmallModel>(got, previous);
      CHECK((is_new || is_old));
      CHECK((status != Status::ok || is_new));
      gave_new += is_new ? 1u : 0u;
      gave_old += is_old ? 1u : 0u;
    }
  }
  // Both outcomes were reached: cuts before the CRC keep the old, later ones the new.
  CHECK(gave_new > 0);
  CHECK(gave_old > 0);
}
