// A blob that exactly fills the end of its storage: the length check of check_blob must
// accept header + payload + CRC == the bytes left from the slot's start (a check off by one
// would call the newest blob truncated and load the older one, or nothing).
//
// With an erase unit of 4 bytes the slots are exactly blob_bytes long (header 20 + payload
// 4 * values + CRC 4, all multiples of 4), and a storage of exactly storage_bytes ends where
// slot 1's blob ends. The first save goes to slot 0, the second to slot 1.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>

#include "microtl/io/parameter_store.hpp"
#include "microtl/io/ram_storage.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

using Model = Sequential<Input<Shape<3>>, Trainable<Dense<2>>>;
using Store = io::ParameterStore<Model, 4>;
static_assert(Store::slot_bytes == Store::blob_bytes);  // 20 + 4 * 8 + 4 = 56
static_assert(Store::blob_bytes == 56);

}  // namespace

TEST_CASE("parameter store: a blob that ends exactly at the end of the storage loads") {
  static const std::array<float, 6> w{1, 2, 3, 4, 5, 6};
  static const std::array<float, 2> b{7, 8};
  static const LinearParams<float, 6, 2> init{w, b};
  static Model model(init);
  static io::RamStorage<Store::storage_bytes, 4> storage;
  REQUIRE(storage.size() == 2 * Store::blob_bytes);

  REQUIRE(Store::save(model, storage) == Status::ok);  // slot 0: 1..8
  model.state<0>().weights[0] = -1.0f;
  model.state<0>().bias[1] = -8.0f;
  REQUIRE(Store::save(model, storage) == Status::ok);  // slot 1, up to the last byte

  static Model loaded(init);
  loaded.state<0>().weights[0] = 0.0f;
  REQUIRE(Store::load(loaded, storage) == Status::ok);
  CHECK(loaded.state<0>().weights == std::array<float, 6>{-1, 2, 3, 4, 5, 6});
  CHECK(loaded.state<0>().bias == std::array<float, 2>{7, -8});

  // The next save goes back to slot 0 and is found newer than the one that fills slot 1.
  model.state<0>().weights[5] = 60.0f;
  REQUIRE(Store::save(model, storage) == Status::ok);
  REQUIRE(Store::load(loaded, storage) == Status::ok);
  CHECK(loaded.state<0>().weights == std::array<float, 6>{-1, 2, 3, 4, 5, 60});
}
