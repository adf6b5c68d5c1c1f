# Shared by scripts/test, scripts/demo and scripts/bench: package set-up and small helpers.
# Source it; do not run it.

MICROTL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Debian packages the build, the tests and the demo need.
MICROTL_PACKAGES=(
  g++ clang libclang-rt-14-dev clang-format-16 cmake ninja-build make python3 python3-matplotlib
  doctest-dev catch2
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib
  qemu-system-arm
  dataset-fashion-mnist
)

log() { printf '\n== %s\n' "$*"; }

# Installs whichever of the named Debian packages are missing, when that is possible here
# (root on a Debian-like system); otherwise prints the exact command and fails.
ensure_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  local cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing missing packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "microtl needs these Debian packages: ${missing[*]}" >&2
    echo "Install them with:" >&2
    echo "  sudo sh -c '$cmd'" >&2
    exit 1
  fi
}
