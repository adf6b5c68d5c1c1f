// A storage whose size is a constant (RamStorage: region_bytes) too small for two slots of
// the model must not compile: 19 values, 100-byte blob, two 256-byte slots > 256 bytes.
#include "microtl/io/parameter_store.hpp"
#include "microtl/io/ram_storage.hpp"
#include "microtl/microtl.hpp"

using Model =
    microtl::Sequential<microtl::Input<microtl::Shape<6>>, microtl::BiasOnly<microtl::Dense<4>>,
                        microtl::ReLU, microtl::Trainable<microtl::Dense<3>>>;

microtl::Status save(const Model& model, microtl::io::RamStorage<256>& flash) {
  return microtl::io::save(model, flash);
}
