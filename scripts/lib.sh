# Shared helpers for scripts/*.sh (sourced, not run).

log() { printf '==> %s\n' "$*" >&2; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Installs Debian packages that are missing, when we are root and have apt.
# Without root, says what is missing and goes on: the tests that need these
# tools skip loudly.
apt_install_missing() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if is_root && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "WARNING: missing Debian packages (${missing[*]}); run as root to install them"
  fi
}

# Makes sure cargo is on PATH: the user's rustup install, or a fresh one.
ensure_cargo() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null 2>&1 && return 0
  log "cargo not found: installing Rust with rustup"
  apt_install_missing ca-certificates curl gcc libc6-dev
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y --profile minimal --component rustfmt,clippy
  export PATH="$HOME/.cargo/bin:$PATH"
}

# Makes sure a cargo subcommand that comes as a rustup component exists.
ensure_component() {
  local sub=$1 component=$2
  cargo "$sub" --version >/dev/null 2>&1 && return 0
  if command -v rustup >/dev/null 2>&1; then
    log "installing the $component component"
    rustup component add "$component"
  else
    log "ERROR: cargo $sub is missing and rustup is not available to add $component"
    return 1
  fi
}
