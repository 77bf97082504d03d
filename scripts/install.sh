#!/usr/bin/env bash
# Installs what DISCO needs and is missing on this machine; does nothing twice.
#   Debian packages: redis-server, postgresql, chromium (browser tests)
#   Python packages: from uv.lock into .venv
#   LiveKit server v1.13.5: built with `go install` into .tools/bin
#   web/: npm packages from package-lock.json, then the static build
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_apt+=(postgresql)
command -v chromium >/dev/null || need_apt+=(chromium fonts-liberation)
command -v make >/dev/null || need_apt+=(make)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install: apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v uv >/dev/null; then
  echo "install: uv"
  python3 -m pip install --quiet "uv==0.13.8"
fi
uv sync --frozen --quiet --python python3.11

if [ ! -x .tools/bin/livekit-server ]; then
  echo "install: building livekit-server v1.13.5 (a few minutes, once)"
  mkdir -p .tools/bin
  GOBIN="$PWD/.tools/gobin" go install github.com/livekit/livekit-server/cmd/server@v1.13.5
  mv .tools/gobin/server .tools/bin/livekit-server
fi

if [ -f web/package.json ]; then
  if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    echo "install: npm ci in web/"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
  fi
  if [ ! -f web/dist/index.html ] || [ -n "$(find web/src web/index.html web/package.json -newer web/dist/index.html 2>/dev/null | head -1)" ]; then
    echo "install: building web/"
    (cd web && npm run build --silent)
  fi
fi
