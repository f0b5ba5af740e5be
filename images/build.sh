#!/usr/bin/env bash
# Builds the preview runtime images previewd/runtime-NAME:latest, one per
# runtime and Debian suite:
#
#   python, node                Debian 12 bookworm
#   python-trixie, node-trixie  Debian 13 trixie
#   python-forky, node-forky    Debian testing (forky)
#
# A runtime's Dockerfile is images/python or images/node, built for its
# suite. Works offline from any image registry: each suite's base image
# (debian:SUITE-slim) is pulled if a registry is reachable, else bootstrapped
# from the Debian mirror. Safe to re-run: a runtime whose inputs (its
# directory here, suite, shim binary, base image) are unchanged is skipped.
#
# Usage: bash images/build.sh
#        PREVIEW_BUILD_IMAGES="python-trixie node-trixie" bash images/build.sh
#        (builds only the runtimes named; default all of them)
#        PREVIEW_IMAGE_TAG=mine bash images/build.sh
#        (tags previewd/runtime-NAME:mine instead of :latest, so that work on
#        the shim or an image can be tested beside the images others use)
set -euo pipefail

# name → "directory suite"
declare -A RUNTIME_DEFS=(
	[python]="python bookworm"
	[node]="node bookworm"
	[python-trixie]="python trixie"
	[node-trixie]="node trixie"
	[python-forky]="python forky"
	[node-forky]="node forky"
)
ALL_RUNTIMES=(python node python-trixie node-trixie python-forky node-forky)
HASH_LABEL=io.previewd.input-hash
IMAGE_TAG=${PREVIEW_IMAGE_TAG:-latest}

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

# ensure_base SUITE makes sure debian:SUITE-slim exists locally.
ensure_base() {
	local suite=$1 image=debian:$1-slim
	if docker image inspect "$image" >/dev/null 2>&1; then
		return
	fi
	# A machine without registry access fails here within seconds; the
	# timeout only guards against a registry that hangs.
	if timeout 120 docker pull "$image" >&2; then
		return
	fi
	log "$image: pull failed, bootstrapping it from the Debian mirror"
	bootstrap_base "$suite" "$image"
}

# bootstrap_base SUITE IMAGE builds a minimal root filesystem of SUITE with
# debootstrap and imports it as IMAGE. Needs root.
bootstrap_base() {
	local suite=$1 image=$2 rootfs script=() start=$EPOCHREALTIME
	if ! command -v debootstrap >/dev/null; then
		apt-get update
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
	fi
	# A debootstrap older than the suite has no script of its name;
	# testing is built as unstable is.
	if [[ ! -e /usr/share/debootstrap/scripts/$suite ]]; then
		script=(/usr/share/debootstrap/scripts/sid)
	fi
	rootfs="$(mktemp -d)"
	tmp_dirs+=("$rootfs")
	debootstrap --variant=minbase "$suite" "$rootfs" http://deb.debian.org/debian "${script[@]}" >&2
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

# input_hash DIR SUITE BASE_ID prints the hash of everything a runtime
# image is built from.
input_hash() {
	local dir=$1 suite=$2 base_id=$3
	{
		(cd "$images_dir/$dir" && find . -maxdepth 1 -type f | LC_ALL=C sort | xargs sha256sum)
		sha256sum <"$build_dir/previewshim"
		echo "$base_id"
		# Bookworm's images hashed no suite before there were others.
		[[ $suite == bookworm ]] || echo "$suite"
	} | sha256sum | cut -d' ' -f1
}

# build_runtime RUNTIME DIR SUITE HASH builds one image; its output goes to
# the caller's redirect.
build_runtime() {
	local runtime=$1 dir=$2 suite=$3 hash=$4 ctx="$build_dir/$1" tag="previewd/runtime-$1:$IMAGE_TAG" old start=$EPOCHREALTIME
	rm -rf "$ctx"
	mkdir -p "$ctx"
	# The directory's files only: not a __pycache__ left by running them.
	find "$images_dir/$dir" -maxdepth 1 -type f -exec cp -t "$ctx/" {} +
	cp "$build_dir/previewshim" "$ctx/"
	old="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
	# The classic builder: the Dockerfiles use nothing BuildKit-only, and
	# engines without BuildKit must build them too.
	DOCKER_BUILDKIT=0 docker build --force-rm \
		--build-arg BASE_IMAGE="debian:$suite-slim" \
		--build-arg SUITE="$suite" \
		--label "$HASH_LABEL=$hash" \
		-t "$tag" "$ctx"
	# The replaced image is now untagged; drop it unless a container uses it.
	if [[ -n "$old" && "$old" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]]; then
		docker image rm "$old" >/dev/null 2>&1 || true
	fi
	echo "runtime-$runtime: built in $(elapsed "$start") s"
}

# selected_runtimes prints the runtimes to build: PREVIEW_BUILD_IMAGES's
# (space- or comma-separated), else all.
selected_runtimes() {
	local want=${PREVIEW_BUILD_IMAGES:-} r
	if [[ -z ${want//[ ,]/} ]]; then
		printf '%s\n' "${ALL_RUNTIMES[@]}"
		return
	fi
	for r in ${want//,/ }; do
		if [[ -z ${RUNTIME_DEFS[$r]+x} ]]; then
			log "PREVIEW_BUILD_IMAGES: no runtime \"$r\" (known: ${ALL_RUNTIMES[*]})"
			return 1
		fi
		echo "$r"
	done
}

main() {
	local start=$EPOCHREALTIME runtime dir suite hash tag failed=0 selected
	local -A pids=() base_ids=()

	selected="$(selected_runtimes)"
	for runtime in $selected; do
		read -r dir suite <<<"${RUNTIME_DEFS[$runtime]}"
		if [[ -z ${base_ids[$suite]+x} ]]; then
			ensure_base "$suite"
			base_ids[$suite]="$(docker image inspect --format '{{.Id}}' "debian:$suite-slim")"
		fi
	done

	mkdir -p "$build_dir"
	build_shim

	for runtime in $selected; do
		read -r dir suite <<<"${RUNTIME_DEFS[$runtime]}"
		hash="$(input_hash "$dir" "$suite" "${base_ids[$suite]}")"
		tag="previewd/runtime-$runtime:$IMAGE_TAG"
		if [[ "$(docker image inspect --format "{{index .Config.Labels \"$HASH_LABEL\"}}" "$tag" 2>/dev/null || true)" == "$hash" ]]; then
			echo "runtime-$runtime: up to date"
			continue
		fi
		echo "runtime-$runtime: building (log: ${build_dir#"$repo_dir/"}/$runtime.log)"
		build_runtime "$runtime" "$dir" "$suite" "$hash" >"$build_dir/$runtime.log" 2>&1 &
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
