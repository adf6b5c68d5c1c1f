"""microtl_import: converts an int8 TFLite model into a microtl C++ header (scripts/import).

Standard library only. Modules:
  flatbuf     a minimal FlatBuffers reader (tables, vectors, strings, scalars)
  tflite      the parts of TFLite's schema (schema.fbs) the importer reads
  multiplier  TFLite's QuantizeMultiplier, as microtl's quant/multiplier.hpp
  convert     the op chain -> microtl layers, or a refusal (Unsupported)
  emit        the C++ header
"""
