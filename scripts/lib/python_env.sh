# The project's own Python environment for tools/ (TFLite importer, model zoo): build/venv with
# the pinned packages of tools/requirements.txt (constrained by tools/requirements.lock).
# Source it after scripts/lib/common.sh (it needs MICROTL_ROOT, log and ensure_packages); do
# not run it. Nothing is installed system-wide: pip only ever runs inside build/venv.

# Creates build/venv if it is missing, (re)installs the pinned requirements when they changed
# since the last install, and exports MICROTL_PYTHON, the venv's interpreter.
#   ensure_python_env          build/venv: tools/requirements.txt (TensorFlow, LiteRT)
#   ensure_python_env fleet    build/venv-fleet: tools/fleet/requirements.txt (Flower)
ensure_python_env() {
  local venv="$MICROTL_ROOT/build/venv"
  local req="$MICROTL_ROOT/tools/requirements.txt"
  local lock="$MICROTL_ROOT/tools/requirements.lock"
  if [ "${1:-}" = fleet ]; then
    venv="$MICROTL_ROOT/build/venv-fleet"
    req="$MICROTL_ROOT/tools/fleet/requirements.txt"
    lock="$MICROTL_ROOT/tools/fleet/requirements.lock"
  fi
  local stamp="$venv/.microtl-requirements"

  # A venv whose interpreter is gone (e.g. a half-created one) is rebuilt from scratch.
  if [ ! -x "$venv/bin/python" ]; then
    ensure_packages python3 python3-venv
    log "creating the Python environment ${venv#"$MICROTL_ROOT"/}"
    rm -rf "$venv"
    mkdir -p "$MICROTL_ROOT/build"
    /usr/bin/python3 -m venv "$venv"
  fi

  # The stamp holds the hash of both files, so an edit of either one reinstalls.
  local want
  want=$(cat "$req" "$lock" | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "   pip install -r ${req#"$MICROTL_ROOT"/} -c ${lock#"$MICROTL_ROOT"/} (into ${venv#"$MICROTL_ROOT"/})"
    rm -f "$stamp"
    # Quiet on success; on failure pip's output is shown, since the install log is kept.
    local pip_log="$venv/pip-install.log"
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input \
      -r "$req" -c "$lock" >"$pip_log" 2>&1; then
      cat "$pip_log" >&2
      echo "pip install into ${venv#"$MICROTL_ROOT"/} failed (log: $pip_log)" >&2
      return 1
    fi
    echo "$want" >"$stamp"
  fi

  export MICROTL_PYTHON="$venv/bin/python"
}
