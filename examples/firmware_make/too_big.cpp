// Linked only with `make TOO_BIG=1`: 300 KB of static RAM, more than the nRF52840's 256 KB,
// so that the link must fail with "region `RAM' overflowed" (scripts/test checks it does).
#include <cstddef>

extern "C" {
std::byte firmware_too_big_buffer[300 * 1024];
}
