// A store laid out for 256-byte erase units used on a chip with 4 KB sectors must not
// compile: erasing one 256-byte slot would make the driver erase the sector holding both.
#include "microtl/io/parameter_store.hpp"
#include "microtl/io/ram_storage.hpp"
#include "microtl/microtl.hpp"

using Model =
    microtl::Sequential<microtl::Input<microtl::Shape<6>>, microtl::BiasOnly<microtl::Dense<4>>,
                        microtl::ReLU, microtl::Trainable<microtl::Dense<3>>>;

microtl::Status save(const Model& model, microtl::io::RamStorage<8192, 4096>& flash) {
  return microtl::io::ParameterStore<Model>::save(model, flash);
}
