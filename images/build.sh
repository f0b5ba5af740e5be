#!/usr/bin/env bash
# Builds the preview runtime images previewd/runtime-{python,node}:latest.
#
# Works offline from any image registry: the Debian base image is pulled if
# a registry is reachable, else bootstrapped from the Debian mirror. Safe to
# re-run: a runtime whose inputs (its directory here, shim binary, base image) are
# unchanged is skipped.
#
# Usage: bash images/build.sh
set -euo pipefail

BASE_IMAGE=debian:bookworm-slim
RUNTIMES=(python node)
HASH_LABEL=io.previewd.input-hash

images_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$images_dir")"
build_dir="$images_dir/.build"

tmp_dirs=()
cleanup() {
	if ((${#tmp_dirs[@]})); then
		rm -rf "${tmp_dirs[@]}"
	fi
}
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }

# elapsed START prints the seconds since START, an $EPOCHREALTIME value.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# ensure_base IMAGE makes sure IMAGE (a bookworm image) exists locally.
ensure_base() {
	local image=$1
	if docker image inspect "$image" >/dev/null 2>&1; then
		return
	fi
	# A machine without registry access fails here within seconds; the
	# timeout only guards against a registry that hangs.
	if timeout 120 docker pull "$image" >&2; then
		return
	fi
	log "$image: pull failed, bootstrapping it from the Debian mirror"
	bootstrap_base "$image"
}

# bootstrap_base IMAGE builds a minimal bookworm root filesystem with
# debootstrap and imports it as IMAGE. Needs root.
bootstrap_base() {
	local image=$1 rootfs start=$EPOCHREALTIME
	if ! command -v debootstrap >/dev/null; then
		apt-get update
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
	fi
	rootfs="$(mktemp -d)"
	tmp_dirs+=("$rootfs")
	debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >&2
	# Trim it like the published slim image: no apt caches (every runtime
	# Dockerfile runs apt-get update itself), documentation or translations.
	rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
		"$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
		"$rootfs"/usr/share/locale/*
	find "$rootfs"/usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
	tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - "$image" >/dev/null
	rm -rf "$rootfs"
	log "$image: bootstrapped in $(elapsed "$start") s"
}

# build_shim builds the container entrypoint, static and byte-for-byte
# reproducible, so an unchanged shim leaves the input hashes unchanged.
# -buildvcs=false keeps the commit id out of the binary: a new commit alone
# must not rebuild the images.
build_shim() {
	local go arch
	go="$(command -v go || echo /usr/local/go/bin/go)"
	arch="$(docker version --format '{{.Server.Arch}}')"
	(
		cd "$repo_dir"
		CGO_ENABLED=0 GOOS=linux GOARCH="$arch" "$go" build -trimpath -buildvcs=false \
			-ldflags="-s -w -buildid=" -o "$build_dir/previewshim" ./cmd/previewshim
	)
}

# input_hash RUNTIME BASE_ID prints the hash of everything the runtime
# image is built from.
input_hash() {
	local runtime=$1 base_id=$2
	{
		(cd "$images_dir/$runtime" && find . -maxdepth 1 -type f | LC_ALL=C sort | xargs sha256sum)
		sha256sum <"$build_dir/previewshim"
		echo "$base_id"
	} | sha256sum | cut -d' ' -f1
}

# build_runtime RUNTIME HASH builds one image; its output goes to the
# caller's redirect.
build_runtime() {
	local runtime=$1 hash=$2 ctx="$build_dir/$1" tag="previewd/runtime-$1:latest" old start=$EPOCHREALTIME
	rm -rf "$ctx"
	mkdir -p "$ctx"
	# The directory's files only: not a __pycache__ left by running them.
	find "$images_dir/$runtime" -maxdepth 1 -type f -exec cp -t "$ctx/" {} +
	cp "$build_dir/previewshim" "$ctx/"
	old="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
	# The classic builder: the Dockerfiles use nothing BuildKit-only, and
	# engines without BuildKit must build them too.
	DOCKER_BUILDKIT=0 docker build --force-rm \
		--build-arg BASE_IMAGE="$BASE_IMAGE" \
		--label "$HASH_LABEL=$hash" \
		-t "$tag" "$ctx"
	# The replaced image is now untagged; drop it unless a container uses it.
	if [[ -n "$old" && "$old" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]]; then
		docker image rm "$old" >/dev/null 2>&1 || true
	fi
	echo "runtime-$runtime: built in $(elapsed "$start") s"
}

main() {
	local start=$EPOCHREALTIME base_id runtime hash tag failed=0
	local -A pids=()

	ensure_base "$BASE_IMAGE"
	base_id="$(docker image inspect --format '{{.Id}}' "$BASE_IMAGE")"

	mkdir -p "$build_dir"
	build_shim

	for runtime in "${RUNTIMES[@]}"; do
		hash="$(input_hash "$runtime" "$base_id")"
		tag="previewd/runtime-$runtime:latest"
		if [[ "$(docker image inspect --format "{{index .Config.Labels \"$HASH_LABEL\"}}" "$tag" 2>/dev/null || true)" == "$hash" ]]; then
			echo "runtime-$runtime: up to date"
			continue
		fi
		echo "runtime-$runtime: building (log: ${build_dir#"$repo_dir/"}/$runtime.log)"
		build_runtime "$runtime" "$hash" >"$build_dir/$runtime.log" 2>&1 &
		pids[$runtime]=$!
	done

	for runtime in "${!pids[@]}"; do
		if wait "${pids[$runtime]}"; then
			tail -n 1 "$build_dir/$runtime.log"
		else
			failed=1
			log "runtime-$runtime: build failed; its log follows"
			cat "$build_dir/$runtime.log" >&2
		fi
	done
	if ((failed)); then
		exit 1
	fi
	echo "total: $(elapsed "$start") s"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	main "$@"
fi
