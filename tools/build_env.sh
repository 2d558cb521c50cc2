# Sourced by the scripts that build (build.sh, demo.sh, test.sh, sanitize.sh, tsan.sh, fuzz.sh)
# from the checkout's top folder: the compiler cache and the CMake generator they share.
#
# Compiler cache: Debian's ccache when present (tools/install_deps.sh installs it; without it,
# CMAKE_CXX_COMPILER_LAUNCHER if set), with one cache folder per machine: OCTET_CCACHE_DIR, else /var/cache/octet/ccache for root and
# ~/.cache/octet/ccache for anyone else (tools/fresh_root.sh mounts the same folder into its
# root). Paths under the checkout are hashed relative to it, so a clone in another folder (CI's,
# the fresh root's) hits what this one compiled. OCTET_CCACHE=0 builds without it. The cache
# only stands in for compiling: headers and libraries still come from the installed packages (a
# missing header fails the preprocessor, a missing library the link).
#
# Generator: Ninja when present and the build folder is new (a folder keeps the generator it was
# made with).
#
#   octet_configure BUILD_DIR [CMAKE_ARG...]    configure BUILD_DIR from the checkout
#   octet_build BUILD_DIR [TARGET...]           build those targets (all when none), then print
#                                               what the cache served

octet_cache_root() {
  if [ "$(id -u)" -eq 0 ]; then
    echo /var/cache/octet
  else
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/octet"
  fi
}

octet_launcher=${CMAKE_CXX_COMPILER_LAUNCHER:-}
if [ "${OCTET_CCACHE:-1}" != 0 ] && command -v ccache >/dev/null; then
  export CCACHE_DIR=${OCTET_CCACHE_DIR:-$(octet_cache_root)/ccache}
  CCACHE_BASEDIR=$(pwd -P)  # the physical path: the one CMake puts in the compile commands
  export CCACHE_BASEDIR
  # Debug builds (the sanitizers') would otherwise hash the build folder's absolute path.
  export CCACHE_NOHASHDIR=1
  export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-12G}
  mkdir -p "$CCACHE_DIR"
  octet_launcher=ccache
fi

octet_configure() {
  local dir=$1
  shift
  local generator=()
  if [ ! -f "$dir/CMakeCache.txt" ] && command -v ninja >/dev/null; then
    generator=(-G Ninja)
  fi
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_CXX_COMPILER_LAUNCHER="$octet_launcher" "$@"
}

# ccache's counters of compilations served from the cache and compiled anew.
octet_ccache_counts() {
  ccache --print-stats 2>/dev/null | awk '
    $1 == "direct_cache_hit" || $1 == "preprocessed_cache_hit" {hit += $2}
    $1 == "cache_miss" {miss += $2}
    END {print hit + 0, miss + 0}'
}

octet_build() {
  local dir=$1
  shift
  local targets=()
  [ $# -eq 0 ] || targets=(--target "$@")
  local before=""
  [ "$octet_launcher" != ccache ] || before=$(octet_ccache_counts || true)
  local start=$SECONDS
  cmake --build "$dir" --parallel "${OCTET_BUILD_JOBS:-$(nproc)}" "${targets[@]}"
  if [ "$octet_launcher" = ccache ]; then
    local after hit0 miss0 hit1 miss1
    after=$(octet_ccache_counts || true)
    read -r hit0 miss0 <<<"$before"
    read -r hit1 miss1 <<<"$after"
    # Counts of the whole cache: builds running beside this one (CI's fresh root) are in them.
    echo "build: $dir in $((SECONDS - start)) s; ccache ($CCACHE_DIR): $((${hit1:-0} - ${hit0:-0})) from the cache, $((${miss1:-0} - ${miss0:-0})) compiled"
  else
    echo "build: $dir in $((SECONDS - start)) s (no compiler cache)"
  fi
}

# What the clang sanitizer builds (sanitize.sh, fuzz.sh, tsan.sh) share: optimized, with line
# tables only (enough for symbolized reports with file:line and inlined frames; full debug
# information costs compile time and disk for nothing a report prints), no benchmarks.
octet_sanitizer_cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only -DNDEBUG" -DOCTET_BUILD_BENCH=OFF)
