// Loading Fashion-MNIST with microtl's idx reader (which validates magic, type, extents and
// truncation) over a C stdio file.
#include "dataset.hpp"

#include <cstdio>
#include <span>

#include "microtl/io/idx.hpp"

namespace demo {
namespace {

// A microtl::io::ByteSource over a C file.
class FileSource {
 public:
  explicit FileSource(std::FILE* file) : file_(file) {}
  microtl::Status read(std::span<std::byte> out) {
    const std::size_t got = std::fread(out.data(), 1, out.size(), file_);
    if (got == out.size()) {
      return microtl::Status::ok;
    }
    return std::ferror(file_) != 0 ? microtl::Status::io_error : microtl::Status::truncated;
  }

 private:
  std::FILE* file_;
};

template <std::size_t... SampleDims>
bool read_all(const std::string& path, std::vector<std::uint8_t>& out, std::uint32_t& count) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    std::fprintf(stderr,
                 "cannot open %s (the demo unpacks Fashion-MNIST there: run scripts/demo)\n",
                 path.c_str());
    return false;
  }
  FileSource source(file);
  microtl::io::IdxReader<FileSource, SampleDims...> reader(source);
  microtl::Status status = reader.open();
  if (status == microtl::Status::ok) {
    count = reader.count();
    constexpr std::size_t bytes = decltype(reader)::sample_bytes;
    out.resize(static_cast<std::size_t>(count) * bytes);
    for (std::uint32_t i = 0; i < count && status == microtl::Status::ok; ++i) {
      status = reader.read_next(std::span<std::uint8_t, bytes>(out.data() + i * bytes, bytes));
    }
  }
  std::fclose(file);
  if (status != microtl::Status::ok) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), microtl::to_string(status));
    return false;
  }
  return true;
}

}  // namespace

bool load_dataset(const std::string& dir, const std::string& prefix, Dataset& out) {
  std::uint32_t images = 0;
  std::uint32_t labels = 0;
  if (!read_all<28, 28>(dir + "/" + prefix + "-images-idx3-ubyte", out.pixels, images) ||
      !read_all<>(dir + "/" + prefix + "-labels-idx1-ubyte", out.labels, labels)) {
    return false;
  }
  if (images != labels) {
    std::fprintf(stderr, "%s: %u images but %u labels\n", prefix.c_str(), images, labels);
    return false;
  }
  return true;
}

}  // namespace demo
