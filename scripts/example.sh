#!/usr/bin/env bash
# The main job, end to end and offline: install what is missing, build and
# install the plugin, build the local Debian test image, serve it with a
# checksum index from 127.0.0.1, run `packer build example/` against that
# index (kvm-cloudimage -> kvm -> shell -> kvm-sysprep -> kvm-export), then
# boot the exported qcow2 once more and check its web page answers.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/.tools/bin:$PATH"
out=${EXAMPLE_OUTPUT:-$root/output-web}
declare -a timings=()
phase_start=0
phase() { phase_name=$1; phase_start=$(date +%s); echo; echo "=== $1"; }
phase_done() { timings+=("$(printf '%-44s %4ds' "$phase_name" $(($(date +%s) - phase_start)))"); }
fail() {
  echo >&2
  echo "example: FAILED in phase '$phase_name': $*" >&2
  echo "         rerun with PACKER_LOG=1 for Packer's debug log; the error above shows the guest's serial console tail" >&2
  exit 1
}
work=$(mktemp -d)
server_pid="" smoke_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$smoke_pid" ] && kill "$smoke_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

phase "install packages and tools"
scripts/deps.sh || fail "system packages are missing"
scripts/tools.sh packer packer-sdc
phase_done

phase "build and install the plugin"
go build -ldflags="-X github.com/kvmforge/packer-plugin-kvm/version.VersionPrerelease=dev" -o packer-plugin-kvm . || fail "go build"
packer plugins install --path packer-plugin-kvm github.com/kvmforge/kvm || fail "packer plugins install"
phase_done

phase "build the local Debian image"
image=$(scripts/base-image.sh) || fail "scripts/base-image.sh"
phase_done

phase "serve it with a checksum index"
name=debian-12-genericcloud-amd64.qcow2
ln -s "$image" "$work/$name"
[ -s "$image.sha512" ] || sha512sum "$image" | cut -d' ' -f1 > "$image.sha512"
echo "$(cat "$image.sha512")  $name" > "$work/SHA512SUMS"
port=$(free_port)
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/SHA512SUMS" 2>/dev/null && break; sleep 0.1; done
index="http://127.0.0.1:$port/SHA512SUMS"
echo "serving $index"
phase_done

phase "packer build example/"
packer init example >/dev/null 2>&1 || echo "(packer init skipped: no internet; the plugin is installed locally)"
rm -rf "$out"
packer build -var "index_url=$index" -var "output_directory=$out" example/ 2>&1 | tee "$work/build.log"
[ "${PIPESTATUS[0]}" = 0 ] || fail "packer build"
kill "$server_pid"; server_pid=""
phase_done

phase "smoke test: boot the exported image, fetch its page"
smoke_port=$(free_port)
# An overlay, so the smoke boot leaves the exported image untouched.
qemu-img create -q -f qcow2 -b "$out/exports/web.qcow2" -F qcow2 "$work/smoke.qcow2"
# Use what the build found usable: KVM where it works, TCG otherwise.
accel=$(grep -o "Accelerator: [a-z]*" "$work/build.log" | tail -1 | cut -d" " -f2); [ "$accel" = kvm ] || accel=tcg
qemu-system-x86_64 -accel "$accel" -machine q35 -cpu max -smp 2 -m 1024 -nodefaults -display none \
  -drive "file=$work/smoke.qcow2,if=virtio" -device virtio-rng-pci \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$smoke_port-:80" -device virtio-net-pci,netdev=n0 \
  -serial "file:$work/smoke-serial.log" 2>"$work/smoke-qemu.log" &
smoke_pid=$!
page=""
for _ in $(seq 120); do
  page=$(curl -fsS --max-time 2 "http://127.0.0.1:$smoke_port/" 2>/dev/null) && break
  kill -0 "$smoke_pid" 2>/dev/null || fail "QEMU exited: $(tail -5 "$work/smoke-serial.log")"
  sleep 2
done
kill "$smoke_pid"; smoke_pid=""
echo "$page" | grep -q "hello from a packer-plugin-kvm golden image" || fail "the web page did not answer; serial log tail: $(tail -5 "$work/smoke-serial.log")"
echo "the image's web service answered: $page"
phase_done

echo
echo "=== done. Outputs in $out:"
ls -l "$out" "$out/exports"
echo
echo "Phase timings:"
printf '  %s\n' "${timings[@]}"
