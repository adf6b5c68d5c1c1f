"""TFLite's QuantizeMultiplier, as include/microtl/quant/multiplier.hpp implements it:

  real == 0            -> (0, 0)
  fraction, e = frexp(real)              real = fraction * 2^e, fraction in [0.5, 1)
  q = round(fraction * 2^31)             ties away from zero
  q == 2^31            -> q = 2^30, e += 1
  e < -31              -> (0, 0)
The real factor of a convolution / fully connected channel is computed in double, as TFLite's
PopulateConvolutionQuantizationParams does: double(s_in) * double(s_w[c]) / double(s_out)
(Python floats are IEEE doubles; the scales are float32 values, exact in double).
"""
import math
import struct


def f32(x):
    """x rounded to float32 (as a Python float)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def round_half_away(x):
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(real):
    if real == 0.0:
        return 0, 0
    fraction, e = math.frexp(real)
    q = round_half_away(fraction * 2147483648.0)
    if q == 1 << 31:
        q //= 2
        e += 1
    if e < -31:
        return 0, 0
    return q, e


def channel_multiplier(input_scale, weight_scale, output_scale):
    return quantize_multiplier(input_scale * weight_scale / output_scale)


def mean_multiplier(input_scale, output_scale, count):
    """TFLite's int8 MEAN (reference QuantizedMeanOrSum): the multiplier of
    input_scale / output_scale with 1 / count folded in, as microtl's prepare_mean_s8:
      (m, e) = quantize_multiplier(s_in / s_out); k = min(floor(log2 count), 32, 31 + e)
      -> ((m << k) // count, e - k)"""
    m, e = quantize_multiplier(input_scale / output_scale)
    k = min(count.bit_length() - 1, 32, 31 + e)
    return (m << k) // count, e - k
