#!/usr/bin/env bash
# Runs Moat's whole test suite: unit tests and the conformance suite (C programs run natively and under
# `moat do`, compared). Installs what the tests need on a fresh Debian machine first.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v strace >/dev/null || need+=(strace)
# DebuggerTests run gdb inside the sandbox.
command -v gdb >/dev/null || need+=(gdb)
[ -x /bin/busybox ] || need+=(busybox-static)
[ -x /usr/bin/python3 ] || need+=(python3)
# The OCI tests run containers through Debian's containerd, on moat and on runc.
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
# NetworkTests runs redis-server inside the sandbox (--network=host) and redis-benchmark outside.
[ -x /usr/bin/redis-server ] || need+=(redis-server)
[ -x /usr/bin/redis-benchmark ] || need+=(redis-tools)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! grep -qw fsgsbase /proc/cpuinfo; then
  # moat's default platform falls back to ptrace on such a CPU, so both conformance passes below run ptrace.
  echo "test.sh: this CPU lacks FSGSBASE, so the systrap platform cannot run here: both conformance passes use ptrace"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
# The conformance suite runs against the binary users get: README's build, Native AOT, in out/.
dotnet publish src/Moat.Cli -c Release -o out 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -eq 0 ]; then
  MOAT_BINARY="$PWD/out/moat" dotnet test Moat.slnx -c Release 2>&1 | tee -a "$log"
  status=${PIPESTATUS[0]}
fi
if [ "$status" -eq 0 ]; then
  # The conformance suite again on the other platform: both must pass everything.
  echo "test.sh: conformance suite on the ptrace platform"
  MOAT_PLATFORM=ptrace MOAT_BINARY="$PWD/out/moat" dotnet test tests/Moat.Conformance -c Release --no-build 2>&1 | tee -a "$log"
  status=${PIPESTATUS[0]}
fi
set -e

# One plain summary line over all test assemblies.
awk '/(Passed|Failed)! +- Failed:/ {
  for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
} END { if (status != 0 && f == 0) f = 1; printf "%d passed, %d failed, %d skipped\n", p, f, s }' status="$status" "$log"
exit "$status"
