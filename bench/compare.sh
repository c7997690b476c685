#!/usr/bin/env bash
# Side-by-side micro-benchmarks, native vs Moat (and runsc if installed), median of REPS runs each,
# interleaved so both see the same machine state. Usage: bench/compare.sh [MOAT_BINARY] [REPS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
moat=${1:-$here/../out/moat}
reps=${2:-5}
# Not under /tmp (nor the checkout, which may be there): inside the sandbox /tmp is a fresh tmpfs.
work=$(mktemp -d -p /var/tmp)
trap 'rm -rf "$work"' EXIT
for src in "$here"/micro/*.c; do
  gcc -static -O2 -o "$work/$(basename "$src" .c)" "$src"
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

run_case() { # name, args...
  local name=$1; shift
  local nat=() mo=() rs=()
  for _ in $(seq "$reps"); do
    nat+=("$("$work/$name" "$@")")
    mo+=("$("$moat" do -- "$work/$name" "$@")")
    if command -v runsc >/dev/null; then
      runsc --network=none do "$work/$name" "$@" > "$work/rs.out" 2>/dev/null || true
      rs+=("$(cat "$work/rs.out")")
    fi
  done
  local n m r=""
  n=$(printf '%s\n' "${nat[@]}" | median)
  m=$(printf '%s\n' "${mo[@]}" | median)
  if [ ${#rs[@]} -gt 0 ]; then r=$(printf '%s\n' "${rs[@]}" | median); fi
  printf '%-28s native %10.1f ns   moat %10.1f ns (%6.1fx)' "$name $*" "$n" "$m" "$(echo "$m / $n" | bc -l)"
  if [ -n "$r" ]; then printf '   runsc %10.1f ns (%6.1fx)' "$r" "$(echo "$r / $n" | bc -l)"; fi
  echo
}

run_case getpid 20000
run_case mmap4k 2000 4096
run_case mmap4k 500 65536
run_case fork 100
run_case fork 50 exec
run_case pipe 1000
run_case openclose 2000 /etc/hostname
run_case openclose 2000 /etc/hostname stat
run_case openclose 2000 /tmp/moat-bench-file
run_case openclose 2000 /tmp/moat-bench-file stat
