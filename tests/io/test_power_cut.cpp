// Power cuts during save(): whatever byte the power fails at, in the write or in the erase,
// load() afterwards returns ok with exactly the previous blob or exactly the new one (bit
// for bit, never a mix, never an error), and the next save works.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>

#include "blob_test_models.hpp"
#include "microtl/io/parameter_store.hpp"
#include "microtl/io/ram_storage.hpp"
#include "power_cut_storage.hpp"

using namespace microtl;
using namespace microtl_test;

namespace {

enum class Start {
  one_blob,   // A in slot 0; B goes to the erased slot 1
  two_blobs,  // C in slot 0, A in slot 1; B goes over C
};

struct CutReport {
  std::size_t points = 0;         // cut points tried
  std::size_t gave_old = 0;       // load gave A
  std::size_t gave_new = 0;       // load gave B
  std::size_t wrong = 0;          // load failed, or gave anything else
  std::size_t resave_failed = 0;  // the next save (or its load) failed
};

template <class Model, std::size_t Bytes, class Make>
void prepare(io::RamStorage<Bytes>& flash, Start start, Make make, const Model& a) {
  flash = io::RamStorage<Bytes>{};
  if (start == Start::two_blobs) {
    const Model c = model_with_values<Model>(make, 903);
    REQUIRE(io::save(c, flash) == Status::ok);
  }
  REQUIRE(io::save(a, flash) == Status::ok);
}

// After a cut: A or B exactly; then a full save of D must work and load as D.
template <class Model, std::size_t Bytes, class Make>
void check_after_cut(io::RamStorage<Bytes>& flash, Make make, const Model& a, const Model& b,
                     CutReport& report) {
  Model loaded = make();
  const Status status = io::load(loaded, flash);
  const auto got = snapshot(loaded);
  if (status == Status::ok && same_bits<Model>(got, snapshot(a))) {
    ++report.gave_old;
  } else if (status == Status::ok && same_bits<Model>(got, snapshot(b))) {
    ++report.gave_new;
  } else {
    ++report.wrong;
  }
  const Model d = model_with_values<Model>(make, 904);
  Model reloaded = make();
  if (io::save(d, flash) != Status::ok || io::load(reloaded, flash) != Status::ok ||
      !same_bits<Model>(snapshot(reloaded), snapshot(d))) {
    ++report.resave_failed;
  }
}

// The write is cut after n bytes, for every n from 0 (nothing programmed) to the blob size
// (everything programmed: the save completes).
template <class Model, std::size_t Bytes, class Make>
CutReport cut_every_written_byte(Start start, Make make) {
  static io::RamStorage<Bytes> flash;
  const Model a = model_with_values<Model>(make, 901);
  const Model b = model_with_values<Model>(make, 902);
  CutReport report;
  constexpr std::size_t blob = io::ParameterStore<Model>::blob_bytes;
  for (std::size_t n = 0; n <= blob; ++n) {
    prepare(flash, start, make, a);
    PowerCutStorage<io::RamStorage<Bytes>> cut(flash);
    cut.cut_write_after(n);
    const Status saved = io::save(b, cut);
    // Cut before the last byte: the save reports the failure. At the blob size: done.
    CHECK((n < blob ? saved == Status::io_error : saved == Status::ok));
    CHECK(cut.bytes_programmed() == n);
    ++report.points;
    const std::size_t new_before = report.gave_new;
    check_after_cut(flash, make, a, b, report);
    if (n == 0) {
      CHECK(report.gave_new == new_before);  // nothing written: still A
    }
    if (n == blob) {
      CHECK(report.gave_new == new_before + 1);  // all written: B
    }
  }
  return report;
}

// The erase is cut after m bytes of the slot, for every m from 0 to the slot size - 1; the
// rest of the slot is left half-erased (random bits set).
template <class Model, std::size_t Bytes, class Make>
CutReport cut_every_erased_byte(Start start, Make make) {
  static io::RamStorage<Bytes> flash;
  const Model a = model_with_values<Model>(make, 905);
  const Model b = model_with_values<Model>(make, 906);
  CutReport report;
  for (std::size_t m = 0; m < io::ParameterStore<Model>::slot_bytes; ++m) {
    prepare(flash, start, make, a);
    PowerCutStorage<io::RamStorage<Bytes>> cut(flash);
    cut.cut_erase_after(m, 7000U + static_cast<std::uint32_t>(m));
    CHECK(io::save(b, cut) == Status::io_error);
    CHECK(cut.bytes_programmed() == 0);
    ++report.points;
    check_after_cut(flash, make, a, b, report);
  }
  CHECK(report.gave_new == 0);  // the new blob was never written
  return report;
}

void print(const char* what, const CutReport& r) {
  MESSAGE(doctest::String(what) << ": " << r.points << " cut points, load gave the old blob "
                                << r.gave_old << " times, the new one " << r.gave_new
                                << " times, anything else " << r.wrong << " times; failed re-saves "
                                << r.resave_failed);
}

}  // namespace

TEST_CASE("power cut: during the write, at every byte of a 100-byte blob") {
  for (const Start start : {Start::one_blob, Start::two_blobs}) {
    const auto r = cut_every_written_byte<SmallModel, 512>(start, make_small);
    print(start == Start::one_blob ? "small model, write cut, one blob before"
                                   : "small model, write cut, two blobs before",
          r);
    CHECK(r.points == 101);
    CHECK(r.wrong == 0);
    CHECK(r.resave_failed == 0);
    CHECK(r.gave_old + r.gave_new == r.points);
  }
}

TEST_CASE("power cut: during the write, at every byte of a 308-byte blob over two units") {
  for (const Start start : {Start::one_blob, Start::two_blobs}) {
    const auto r = cut_every_written_byte<BigModel, 1024>(start, make_big);
    print(start == Start::one_blob ? "big model, write cut, one blob before"
                                   : "big model, write cut, two blobs before",
          r);
    CHECK(r.points == 309);
    CHECK(r.wrong == 0);
    CHECK(r.resave_failed == 0);
  }
}

TEST_CASE("power cut: during the erase, at every byte of the slot") {
  for (const Start start : {Start::one_blob, Start::two_blobs}) {
    const bool one = start == Start::one_blob;
    const auto small = cut_every_erased_byte<SmallModel, 512>(start, make_small);
    print(one ? "small model, erase cut, one blob before"
              : "small model, erase cut, two blobs before",
          small);
    CHECK(small.points == 256);
    CHECK(small.wrong == 0);
    CHECK(small.resave_failed == 0);
    const auto big = cut_every_erased_byte<BigModel, 1024>(start, make_big);
    print(one ? "big model, erase cut, one blob before" : "big model, erase cut, two blobs before",
          big);
    CHECK(big.points == 512);
    CHECK(big.wrong == 0);
    CHECK(big.resave_failed == 0);
  }
}
