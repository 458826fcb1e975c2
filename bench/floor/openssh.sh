#!/usr/bin/env bash
# Raw OpenSSH floor: one ControlMaster connection per host, then one `ssh` per task over it (MODE=per-task), or all
# ten tasks in one `ssh` command (MODE=one). Hosts in parallel, FORKS at a time (bash subshells + `wait -n`).
# No result handling beyond exit codes: a host whose master or any task command fails counts as failed.
#
#   openssh.sh HOSTS_FILE FORKS BASE MODE KNOWN_HOSTS IDENTITY USER CONTROL_DIR
#
# HOSTS_FILE: one `name address` per line. The rendered template is `# haplay benchmark: N hosts (rendered for
# NAME)` followed by the HOSTS_FILE lines, as in the haplay and Ansible versions.
set -uo pipefail
[ $# -eq 8 ] || { echo "usage: $0 HOSTS_FILE FORKS BASE MODE KNOWN_HOSTS IDENTITY USER CONTROL_DIR" >&2; exit 2; }
HOSTS_FILE=$1 FORKS=$2 BASE=$3 MODE=$4 KNOWN_HOSTS=$5 IDENTITY=$6 LOGIN=$7 CTL=$8
HERE=$(cd "$(dirname "$0")" && pwd)
mapfile -t TASKS < <(grep -v -e '^#' -e '^$' "$HERE/tasks.sh")
[ ${#TASKS[@]} -eq 10 ] || { echo "expected 10 tasks in tasks.sh, got ${#TASKS[@]}" >&2; exit 2; }
ALL_TASKS=$(printf '%s\n' "${TASKS[@]}")
COUNT=$(grep -c . "$HOSTS_FILE")
SSH_OPTS=(-F none -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$KNOWN_HOSTS"
  -o IdentitiesOnly=yes -i "$IDENTITY" -l "$LOGIN" -o ConnectTimeout=20)
mkdir -p "$CTL"

render() { printf '# haplay benchmark: %s hosts (rendered for %s)\n' "$COUNT" "$1"; cat "$HOSTS_FILE"; }

run_host() {
  local name=$1 addr=$2 sock="$CTL/$1" i rc=0
  local pre="D='$BASE/$name'"
  ssh "${SSH_OPTS[@]}" -o ControlMaster=yes -o "ControlPath=$sock" -o ControlPersist=yes -fN "$addr" || return 1
  if [ "$MODE" = one ]; then
    render "$name" | ssh "${SSH_OPTS[@]}" -o "ControlPath=$sock" "$addr" "$pre
$ALL_TASKS" >/dev/null || rc=1
  else
    for i in "${!TASKS[@]}"; do
      if [ "$i" -eq 2 ]; then
        render "$name" | ssh "${SSH_OPTS[@]}" -o "ControlPath=$sock" "$addr" "$pre; ${TASKS[$i]}" >/dev/null || rc=1
      else
        ssh -n "${SSH_OPTS[@]}" -o "ControlPath=$sock" "$addr" "$pre; ${TASKS[$i]}" >/dev/null || rc=1
      fi
    done
  fi
  ssh "${SSH_OPTS[@]}" -o "ControlPath=$sock" -O exit "$addr" 2>/dev/null
  return $rc
}

failed=0 running=0
while read -r name addr; do
  [ -n "$name" ] || continue
  run_host "$name" "$addr" &
  running=$((running + 1))
  if [ "$running" -ge "$FORKS" ]; then
    wait -n || failed=$((failed + 1))
    running=$((running - 1))
  fi
done < "$HOSTS_FILE"
while [ "$running" -gt 0 ]; do
  wait -n || failed=$((failed + 1))
  running=$((running - 1))
done
echo "openssh floor: $COUNT hosts, $failed failed" >&2
[ "$failed" -eq 0 ]
