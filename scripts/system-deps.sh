#!/usr/bin/env bash
# The tools outside npm that the tests use, checked before every `npm test` and by .ci/run.
# Root with apt-get: installs the missing Debian packages (one `apt-get update` first).
# Otherwise (not root, no apt-get, or --no-install): names each missing tool and the command
# that installs it, and exits 1 at once, so a fresh machine never runs a suite that would
# skip or fail for want of a tool. kubectl and moto do not come from Debian: it names how to
# get them. (`npm run bench` also wants haproxy, nginx and libnginx-mod-stream; the benchmark
# is not part of the tests.)
#
#   bash scripts/system-deps.sh              check, install what is missing when it can
#   bash scripts/system-deps.sh --no-install check only
set -uo pipefail

install=1
for arg in "$@"; do
  case "$arg" in
    --no-install) install=0 ;;
    -h | --help)
      sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "system-deps: unknown argument \"$arg\"; use --no-install or --help" >&2
      exit 2
      ;;
  esac
done

# command:Debian package. ca-certificates is a file, not a command.
apt_tools=(
  wg:wireguard-tools
  wg-quick:wireguard-tools
  wireguard-go:wireguard-go
  nft:nftables
  ip:iproute2
  openssl:openssl
  systemd-analyze:systemd
  curl:curl
  aws:awscli
  shellcheck:shellcheck
)
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

missing_apt() {
  local entry tool pkg seen=" "
  for entry in "${apt_tools[@]}"; do
    tool=${entry%%:*}
    pkg=${entry#*:}
    if ! command -v "$tool" >/dev/null 2>&1 && [[ $seen != *" $pkg "* ]]; then
      seen+="$pkg "
      echo "$tool:$pkg"
    fi
  done
  [ -f "$CA_BUNDLE" ] || echo "$CA_BUNDLE:ca-certificates"
}

mapfile -t missing < <(missing_apt)

if [ "${#missing[@]}" -gt 0 ] && [ "$install" = 1 ] && [ "${EUID:-$(id -u)}" = 0 ] &&
  command -v apt-get >/dev/null 2>&1; then
  packages=()
  for entry in "${missing[@]}"; do packages+=("${entry#*:}"); done
  echo "system-deps: installing ${packages[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get update -qq || ! apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; then
    echo "system-deps: apt-get could not install ${packages[*]}" >&2
  fi
  mapfile -t missing < <(missing_apt)
fi

problems=()
packages=()
for entry in "${missing[@]}"; do
  problems+=("${entry%%:*} (Debian package ${entry#*:})")
  packages+=("${entry#*:}")
done
apt_fix=""
if [ "${#packages[@]}" -gt 0 ]; then
  apt_fix="apt-get update && apt-get install -y --no-install-recommends ${packages[*]}"
fi

if ! command -v kubectl >/dev/null 2>&1; then
  problems+=("kubectl (the real Kubernetes client; not in Debian: install the kubectl package from the Kubernetes or Google Cloud apt repository, or put the kubectl release binary on PATH)")
fi
if ! command -v python3 >/dev/null 2>&1; then
  problems+=("python3 with moto (the AWS emulator; apt-get install python3 python3-pip, then python3 -m pip install 'moto[server]')")
elif ! python3 -c 'import moto.server' >/dev/null 2>&1; then
  problems+=("moto for python3 (the AWS emulator the provisioner tests start as python3 -m moto.server; not in Debian: python3 -m pip install 'moto[server]')")
fi
if [ ! -c /dev/net/tun ]; then
  problems+=("/dev/net/tun (wireguard-go needs a TUN device: modprobe tun, or run in a VM or container that has one)")
fi
if [ "${EUID:-$(id -u)}" != 0 ]; then
  problems+=("root (the WireGuard, nftables and network-namespace tests create namespaces: run npm test as root)")
fi

if [ "${#problems[@]}" -eq 0 ]; then
  exit 0
fi
{
  echo "system-deps: the tests need ${#problems[@]} thing(s) this machine does not have:"
  for p in "${problems[@]}"; do echo "  - $p"; done
  if [ -n "$apt_fix" ]; then
    if [ "$install" = 0 ]; then
      echo "  (--no-install: nothing was installed)"
    elif [ "${EUID:-$(id -u)}" != 0 ]; then
      echo "  (not root: nothing was installed)"
    elif ! command -v apt-get >/dev/null 2>&1; then
      echo "  (no apt-get on this machine: install the same packages with its package manager)"
    fi
    echo "  install the Debian packages as root: $apt_fix"
  fi
} >&2
exit 1
