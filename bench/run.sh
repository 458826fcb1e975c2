#!/usr/bin/env bash
# The haplay benchmark, in one command (Debian 12, as root):
#
#   bash bench/run.sh [--sizes 1,10,50,200,500] [--reps 3] [--ansible-max 50] [--skip-ansible] [--bastion] [...]
#
# Installs what is missing (OpenSSH, python3, ansible-core through apt; Node packages through npm), builds haplay,
# then runs bench/driver.mjs: loopback OpenSSH hosts, the same workload as haplay / Ansible / raw OpenSSH / bare ssh2,
# medians printed as a markdown table and written to bench/results/. Every sshd is stopped at the end, also on
# failure or Ctrl-C. `bash bench/run.sh --help` lists all options.
set -euo pipefail
cd "$(dirname "$0")/.."

skip_ansible=0
dir=/tmp/haplay-bench
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[$i]} in
    --skip-ansible) skip_ansible=1 ;;
    --dir) dir=${args[$((i + 1))]:-$dir} ;;
    --dir=*) dir=${args[$i]#--dir=} ;;
    --tools) [[ ",${args[$((i + 1))]:-}," == *,ansible,* ]] || skip_ansible=1 ;;
    --tools=*) [[ ",${args[$i]#--tools=}," == *,ansible,* ]] || skip_ansible=1 ;;
    -h|--help) exec node bench/driver.mjs --help ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "bench: must run as root (it starts sshd servers on loopback and creates their login user)" >&2
  exit 2
fi

# Debian packages: OpenSSH server and client (the loopback hosts), procps, python3 (bench/lib/*.py), and Ansible
# unless skipped. community.general.ini_file (the "ini setting" task) ships in Debian's `ansible` package, which apt
# installs with ansible-core as a Recommends; it is asked for by name in case recommends are off.
export DEBIAN_FRONTEND=noninteractive
packages=(openssh-server openssh-client procps python3)
[ "$skip_ansible" -eq 1 ] || packages+=(ansible-core)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "$skip_ansible" -eq 0 ] &&
  [ ! -f /usr/lib/python3/dist-packages/ansible_collections/community/general/plugins/modules/ini_file.py ]; then
  missing+=(ansible)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench: installing Debian packages: ${missing[*]}"
  # policy-rc.d keeps apt from starting the machine's own sshd (it would hold port 22 on every address).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    policy_rc_d=1
  fi
  rc=0
  apt-get install -y -qq "${missing[@]}" >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; } || rc=$?
  [ -z "${policy_rc_d:-}" ] || rm -f /usr/sbin/policy-rc.d
  [ "$rc" -eq 0 ] || { echo "bench: apt-get install ${missing[*]} failed" >&2; exit "$rc"; }
fi

# Node packages when missing, then always a fresh build of dist/ from the current sources.
command -v node >/dev/null || { echo "bench: Node.js 20 is required (node not found)" >&2; exit 2; }
[ -d node_modules/ssh2 ] || npm ci --no-audit --no-fund
npm run --silent build

# haplay and the ssh2 floor hold one socket per host (500 at the largest size): lift the soft descriptor limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cleanup() {
  for d in "$dir/lab" "$dir/bastion"; do
    if [ -f "$d/state.json" ]; then node dist/lab/loopback-cli.js down --dir "$d" >/dev/null 2>&1 || true; fi
  done
}
keep=0
for a in "$@"; do [ "$a" = --keep ] && keep=1; done
[ "$keep" -eq 1 ] || trap cleanup EXIT
trap 'exit 130' INT TERM

/usr/bin/python3 bench/lib/reaper.py -- node bench/driver.mjs "$@"
