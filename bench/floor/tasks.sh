# The benchmark workload as raw shell, shared by the OpenSSH and ssh2 floors: one task per non-comment line, run
# remotely by the login shell with D set to the host's directory. Task 3 (the template) reads the rendered file on
# stdin; the others read nothing. Each command checks before it acts, so a second run changes nothing; the
# lineinfile/blockinfile/ini equivalents are simplified (presence of a line/marker), as a floor may be.
[ -d "$D" ] || mkdir -p -m 0755 "$D"
[ "$(cat "$D/motd" 2>/dev/null)" = 'Managed by the haplay benchmark' ] || { printf '%s\n' 'Managed by the haplay benchmark' > "$D/motd.tmp" && chmod 0644 "$D/motd.tmp" && mv -f "$D/motd.tmp" "$D/motd"; }
cat > "$D/.cluster.conf.tmp" && if cmp -s "$D/.cluster.conf.tmp" "$D/cluster.conf"; then rm -f "$D/.cluster.conf.tmp"; else chmod 0644 "$D/.cluster.conf.tmp" && mv -f "$D/.cluster.conf.tmp" "$D/cluster.conf"; fi
grep -qxF 'nofile 65536' "$D/limits.conf" 2>/dev/null || printf '%s\n' 'nofile 65536' >> "$D/limits.conf"
grep -qxF '# BEGIN BENCH BLOCK' "$D/hosts.block" 2>/dev/null || printf '%s\n' '# BEGIN BENCH BLOCK' 'alpha 1' 'beta 2' 'gamma 3' '# END BENCH BLOCK' >> "$D/hosts.block"
grep -qxF 'workers = 4' "$D/app.ini" 2>/dev/null || printf '%s\n' '[main]' 'workers = 4' >> "$D/app.ini"
[ -e "$D/initialized" ] || sh -c 'date > "$1/initialized" && touch "$1/stale.tmp"' sh "$D"
uname -a
[ "$(stat -c %a "$D/limits.conf")" = 640 ] || chmod 0640 "$D/limits.conf"
[ ! -e "$D/stale.tmp" ] || rm -f "$D/stale.tmp"
