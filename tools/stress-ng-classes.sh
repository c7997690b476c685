#!/usr/bin/env bash
# Runs each stress-ng stressor on its own, natively and under `moat do`, and keeps in
# tools/stress-ng-failing.txt the stressors that pass natively but not in Moat (one a line, sorted).
#
#   tools/stress-ng-classes.sh [STRESSOR...]    (default: every stressor `stress-ng --stressors` lists)
#
# Only the stressors named (or all) are re-judged: the others keep their line in the list, so the list
# can be brought up to date a subset at a time. Each run's output goes to $LOGS/NAME.{native,moat}.
# Environment: MOAT_BINARY (default out/moat), MOAT_PLATFORM, SECONDS_PER_STRESSOR (default 2),
# LOGS (default /tmp/stress-ng-logs). Moat runs with --net-raw: the raw stressors (rawsock, rawudp, rawpkt,
# icmp-flood) are served by the netstack of the default --network=none.
# Run it with nice, in the background: all stressors take about 30 min.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
moat=${MOAT_BINARY:-$root/out/moat}
list=$root/tools/stress-ng-failing.txt
logs=${LOGS:-/tmp/stress-ng-logs}
secs=${SECONDS_PER_STRESSOR:-2}
mkdir -p "$logs"
touch "$list"

# Stressors never run: natively (as root) they change the host's hardware or global state (CPU or memory
# hotplug, watchdog, SMIs, I/O ports, PCI, EFI variables, swap, loop and tun devices, random ioctls on
# every device), or they take the shared machine's memory.
skip=" cpu-online memhotplug watchdog smi ioport physpage pci efivar swap loop tun dev bad-ioctl idle-page
       mlockmany bigheap oom-pipe stackmmap kvm sysinval "

if [ $# -gt 0 ]; then
    stressors=("$@")
else
    read -r -a stressors <<< "$(stress-ng --stressors)"
fi

run() { # run LABEL COMMAND...: the stressor's exit status (124 when it overran)
    local label=$1
    shift
    timeout -k 5 $((secs * 10 + 20)) "$@" > "$logs/$label" 2>&1 < /dev/null
}

failing=()
tested=()
for s in "${stressors[@]}"; do
    case "$skip" in *" $s "*) continue ;; esac
    tested+=("$s")
    tmp=$(mktemp -d /tmp/stress-ng-native.XXXXXX)
    (cd "$tmp" && run "$s.native" stress-ng --"$s" 1 -t "${secs}s" --temp-path "$tmp" --metrics-brief)
    native=$?
    rm -rf "$tmp"
    if [ "$native" -ne 0 ]; then
        echo "$s: native $native (not judged)"
        continue
    fi

    (cd / && run "$s.moat" "$moat" do --memory 2G --net-raw -- stress-ng --"$s" 1 -t "${secs}s" --temp-path /tmp --metrics-brief)
    inside=$?
    echo "$s: native 0, moat $inside"
    if [ "$inside" -ne 0 ]; then
        failing+=("$s")
    fi
done

# The new list: the old one without the stressors judged now, plus those that failed now.
{
    grep -vxF -f <(printf '%s\n' "${tested[@]}") "$list" || true
    printf '%s\n' "${failing[@]}"
} | grep -v '^$' | sort -u > "$list.new"
mv "$list.new" "$list"
echo "$(wc -l < "$list") stressors pass natively but fail in Moat: $list"
