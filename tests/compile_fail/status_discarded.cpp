// Ignoring a Status is an error in microtl's build (-Werror=unused-result via [[nodiscard]]).
#include "microtl/core/status.hpp"

microtl::Status validate(int label) {
  return label < 10 ? microtl::Status::ok : microtl::Status::label_out_of_range;
}
void train(int label) {
  validate(label);
}
