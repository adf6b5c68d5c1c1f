// microtl: one include for the whole library. Header-only; nothing to link.
#pragma once

#include "microtl/config.hpp"

#include "microtl/core/arena.hpp"
#include "microtl/core/assert.hpp"
#include "microtl/core/element.hpp"
#include "microtl/core/shape.hpp"
#include "microtl/core/status.hpp"
#include "microtl/core/tensor.hpp"
#include "microtl/core/tensor_view.hpp"

#include "microtl/quant/activation.hpp"
#include "microtl/quant/multiplier.hpp"
#include "microtl/quant/qparams.hpp"
#include "microtl/quant/quant_info.hpp"
#include "microtl/quant/requantize.hpp"

#include "microtl/layers/activation.hpp"
#include "microtl/layers/conv1d.hpp"
#include "microtl/layers/conv2d.hpp"
#include "microtl/layers/dense.hpp"
#include "microtl/layers/depthwise_conv2d.hpp"
#include "microtl/layers/flatten.hpp"
#include "microtl/layers/pooling.hpp"
#include "microtl/layers/quantize.hpp"
#include "microtl/layers/softmax.hpp"

#include "microtl/graph/sequential.hpp"

#include "microtl/io/crc32.hpp"
#include "microtl/io/idx.hpp"
#include "microtl/io/model_signature.hpp"
#include "microtl/io/parameter_blob.hpp"
#include "microtl/io/ram_storage.hpp"
#include "microtl/io/storage.hpp"

#include "microtl/train/feature_cache.hpp"
#include "microtl/train/loss.hpp"
#include "microtl/train/optimizer.hpp"
#include "microtl/train/trainable.hpp"
#include "microtl/train/trainer.hpp"
