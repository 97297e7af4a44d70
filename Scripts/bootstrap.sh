#!/usr/bin/env bash
# Installs what Cohort needs to build, and with --e2e what its end-to-end tests
# need. Idempotent: a second run installs nothing and takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

want_e2e=0
[ "${1:-}" = "--e2e" ] && want_e2e=1

# postgresql: the records tests start throwaway clusters of their own
# (initdb, pg_ctl); the packaged cluster service is not used.
apt_packages=(libopus-dev libsrtp2-dev libssl-dev libsqlite3-dev pkg-config postgresql)
if [ "$want_e2e" = 1 ]; then
  # nftables and coturn: the ICE-TCP and TURN tests drop UDP inside a
  # namespace of their own and relay through a coturn they start.
  # firefox-esr and pulseaudio: the Firefox tests drive Firefox ESR over its
  # own WebDriver BiDi endpoint, and headless Firefox plays (and so runs its
  # AudioContext) only into a PulseAudio null sink each test run starts.
  # xvfb: headless Firefox cannot capture a screen; the screen-share test
  # runs it on a private virtual display instead.
  apt_packages+=(chromium iproute2 util-linux openssl python3-venv nftables coturn firefox-esr pulseaudio xvfb)
fi

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
  # Debian enables coturn's service on install: the tests start their own
  # turnserver, so a TURN server listening on every address is not left behind.
  if [[ " ${missing[*]} " == *" coturn "* ]] && [ -d /run/systemd/system ]; then
    $sudo_cmd systemctl disable --now coturn.service >/dev/null 2>&1 || true
  fi
fi

if [ "$want_e2e" = 1 ]; then
  venv=.venv-e2e
  stamp="$venv/.installed-$(sha256sum Tests/e2e/requirements.txt | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "bootstrap: creating $venv with the Python test peers"
    python3 -m venv "$venv"
    # python -m pip, not bin/pip: a copied venv's pip script still names its original interpreter.
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r Tests/e2e/requirements.txt
    touch "$stamp"
  fi
fi
