# Shared by scripts/test, scripts/demo and scripts/bench: package set-up and small helpers.
# Source it; do not run it.

MICROTL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Debian packages the build, the tests and the demo need.
MICROTL_PACKAGES=(
  g++ clang libclang-rt-14-dev clang-format-16 cmake ninja-build make python3 python3-venv
  python3-matplotlib
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
    log "installing missing packages (${#missing[@]}): ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # A line per step, so that a first run (several minutes) shows it is moving: apt's
    # downloads ("Get:N ..."), then each package unpacked and set up.
    echo "   apt-get update"
    apt-get update 2>&1 | sed -u -n 's/^\(Get\|Hit\|Err\):/   &/p'
    echo "   apt-get install"
    apt-get install -y --no-install-recommends -o Dpkg::Progress-Fancy=0 "${missing[@]}" 2>&1 |
      sed -u -n -e 's/^\(Get:[0-9]*\) [^ ]* [^ ]* [^ ]* \([^ ]*\) .*\[\(.*\)\]$/   download \2 (\3)/p' \
        -e 's/^Setting up \([^ ]*\) .*/   set up \1/p' -e 's/^\(E: .*\)/   \1/p'
    local pkg_missing=()
    for pkg in "${missing[@]}"; do
      if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        pkg_missing+=("$pkg")
      fi
    done
    if [ ${#pkg_missing[@]} -ne 0 ]; then
      echo "apt-get could not install: ${pkg_missing[*]}" >&2
      exit 1
    fi
  else
    echo "microtl needs these Debian packages: ${missing[*]}" >&2
    echo "Install them with:" >&2
    echo "  sudo sh -c '$cmd'" >&2
    exit 1
  fi
}
