// Losses: values and gradients by hand, stability, validation.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <limits>
#include <span>

#include "microtl/train/loss.hpp"

using namespace microtl;

TEST_CASE("softmax cross-entropy: value and gradient by hand") {
  // logits (0, ln 2, ln 3): softmax = (1, 2, 3) / 6; label 2: loss = -ln(3/6) = ln 2.
  const std::array<float, 3> z{0.0f, std::log(2.0f), std::log(3.0f)};
  std::array<float, 3> grad{};
  const auto loss = SoftmaxCrossEntropy::loss_and_grad<3>(z, 2, grad);
  REQUIRE(loss.ok());
  CHECK(static_cast<double>(loss.value()) == doctest::Approx(std::log(2.0)).epsilon(1e-6));
  CHECK(static_cast<double>(grad[0]) == doctest::Approx(1.0 / 6).epsilon(1e-6));
  CHECK(static_cast<double>(grad[1]) == doctest::Approx(2.0 / 6).epsilon(1e-6));
  CHECK(static_cast<double>(grad[2]) == doctest::Approx(3.0 / 6 - 1).epsilon(1e-6));
}

TEST_CASE("softmax cross-entropy: stable for huge logits") {
  // Naive exp(1000) overflows; shifted, the loss of (1000, 0) with label 1 is 1000 + log(1 +
  // e^-1000) = 1000.
  const std::array<float, 2> z{1000.0f, 0.0f};
  std::array<float, 2> grad{};
  const auto loss = SoftmaxCrossEntropy::loss_and_grad<2>(z, 1, grad);
  REQUIRE(loss.ok());
  CHECK(static_cast<double>(loss.value()) == doctest::Approx(1000.0));
  CHECK(static_cast<double>(grad[0]) == doctest::Approx(1.0));
  CHECK(static_cast<double>(grad[1]) == doctest::Approx(-1.0));
}

TEST_CASE(
    "softmax cross-entropy: bad labels and non-finite logits are refused, gradient untouched") {
  const std::array<float, 3> z{0.1f, 0.2f, 0.3f};
  std::array<float, 3> grad{7.0f, 7.0f, 7.0f};
  CHECK(SoftmaxCrossEntropy::loss_and_grad<3>(z, 3, grad).status() == Status::label_out_of_range);
  CHECK(grad[0] == 7.0f);
  const std::array<float, 3> nan_logits{0.1f, std::numeric_limits<float>::quiet_NaN(), 0.3f};
  CHECK(SoftmaxCrossEntropy::loss_and_grad<3>(nan_logits, 0, grad).status() == Status::not_finite);
  const std::array<float, 3> inf_logits{std::numeric_limits<float>::infinity(), 0.0f, 0.0f};
  CHECK(SoftmaxCrossEntropy::loss_and_grad<3>(inf_logits, 0, grad).status() == Status::not_finite);
}

TEST_CASE("mean squared error: value and gradient by hand") {
  // outputs (1, 2), target (0, 4): loss = (1 + 4) / 2 = 2.5; grad = 2/2 (1, -2) = (1, -2)
  const std::array<float, 2> y{1.0f, 2.0f};
  const std::array<float, 2> t{0.0f, 4.0f};
  std::array<float, 2> grad{};
  const auto loss = MeanSquaredError::loss_and_grad<2>(y, std::span<const float, 2>(t), grad);
  REQUIRE(loss.ok());
  CHECK(loss.value() == 2.5f);
  CHECK(grad[0] == 1.0f);
  CHECK(grad[1] == -2.0f);
  const std::array<float, 2> bad{0.0f, std::numeric_limits<float>::infinity()};
  CHECK(MeanSquaredError::loss_and_grad<2>(y, std::span<const float, 2>(bad), grad).status() ==
        Status::not_finite);
}
