// A storage that states no geometry (no erase_bytes / write_bytes, no storage_geometry
// specialization) is not a Storage: saving to it must not compile.
#include <cstddef>
#include <span>

#include "microtl/io/parameter_store.hpp"
#include "microtl/microtl.hpp"

using Model =
    microtl::Sequential<microtl::Input<microtl::Shape<6>>, microtl::BiasOnly<microtl::Dense<4>>,
                        microtl::ReLU, microtl::Trainable<microtl::Dense<3>>>;

struct NoGeometry {
  std::size_t size() const { return 4096; }
  microtl::Status read(std::size_t, std::span<std::byte>) { return microtl::Status::ok; }
  microtl::Status write(std::size_t, std::span<const std::byte>) { return microtl::Status::ok; }
  microtl::Status erase(std::size_t, std::size_t) { return microtl::Status::ok; }
};
static_assert(!microtl::io::Storage<NoGeometry>);

microtl::Status save(const Model& model, NoGeometry& flash) {
  return microtl::io::save(model, flash);
}
