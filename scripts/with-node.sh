#!/usr/bin/env bash
# Run a command with another Node.js major first on PATH, set up to build native addons for it.
#
#   scripts/with-node.sh 24 npm install
#   scripts/with-node.sh 24 npm test
#   scripts/with-node.sh 22 node --version
#
# Node comes from the npm registry's `node` package (which pulls in node-<os>-<arch>, holding the
# binary and its C++ headers), installed once into
# ${SPILLWAY_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spillway-ci}/node<MAJOR> and reused.
# npm_config_nodedir is pointed at those headers: native modules compiled from source
# (better-sqlite3, isolated-vm) must build against the headers of the Node that will load them,
# and this machine's npm config sets nodedir=/usr (the system Node 20's headers).
# If the Node already first on PATH has the requested major, the command runs unchanged.
set -euo pipefail

if [ "$#" -lt 2 ] || ! [[ "$1" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 <node-major> <command> [args...]   (e.g. $0 24 npm test)" >&2
  exit 2
fi
major=$1
shift

current=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)
if [ "$current" = "$major" ]; then
  exec "$@"
fi

cache=${SPILLWAY_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spillway-ci}
dir=$cache/node$major

# The folder holding include/node/common.gypi (what node-gyp calls nodedir).
find_nodedir() {
  local gypi
  gypi=$(find "$1/node_modules" -path '*/include/node/common.gypi' -print -quit 2>/dev/null || true)
  [ -n "$gypi" ] && dirname "$(dirname "$(dirname "$gypi")")"
}

cache_ok() {
  [ -x "$1/node_modules/.bin/node" ] &&
    [ "$("$1/node_modules/.bin/node" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "$major" ] &&
    [ -n "$(find_nodedir "$1")" ]
}

if ! cache_ok "$dir"; then
  echo "with-node: installing node@$major into $dir" >&2
  mkdir -p "$cache"
  staging=$(mktemp -d "$cache/.node$major.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  echo '{"private":true}' >"$staging/package.json"
  # Install from a neutral folder so no project's package.json or .npmrc is picked up.
  (cd "$staging" && npm install --prefix "$staging" --no-save --no-package-lock --no-audit --no-fund \
    --loglevel=error "node@$major" >&2)
  if ! cache_ok "$staging"; then
    echo "with-node: node@$major installed into $staging but no working node binary + headers found" >&2
    exit 1
  fi
  rm -rf "$dir"
  mv "$staging" "$dir"
  trap - EXIT
fi

nodedir=$(find_nodedir "$dir")
export PATH="$dir/node_modules/.bin:$PATH"
export npm_config_nodedir="$nodedir"
echo "with-node: node $(node --version) ($dir/node_modules/.bin/node), npm_config_nodedir=$nodedir" >&2
exec "$@"
