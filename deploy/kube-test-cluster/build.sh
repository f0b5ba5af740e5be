#!/usr/bin/env bash
# Builds the parts of the single-node test cluster once per machine and caches
# the binaries (never the Go build cache) under $KUBE_CACHE, one directory per
# part keyed by its pinned version and everything else that changes its output.
#
#   bash deploy/kube-test-cluster/build.sh [part...]   parts: kubernetes cri-dockerd policy debian pause
#                                  (default: all); prints the cache directories
#   bash deploy/kube-test-cluster/build.sh --check     builds nothing: fails naming the parts not cached
#
# A part whose directory already holds a complete build (a file named .done) is
# not rebuilt. First run on a loaded 2-core machine: about 26 min for
# Kubernetes, 12 for cri-dockerd, a few for the rest; warm: under a second.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"
export PATH=/usr/local/go/bin:$PATH GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local

log() { echo "kube-build: $*" >&2; }
keyof() { sha256sum | cut -c1-12; }

# The key of each part: its pinned version, the Go version that builds it and
# its patch (the build steps themselves are meant not to change the output).
kubernetes_dir() { echo "$KUBE_CACHE/kubernetes-$KUBERNETES_VERSION-$(go env GOVERSION | keyof)"; }
cri_dockerd_dir() { echo "$KUBE_CACHE/cri-dockerd-$CRI_DOCKERD_VERSION-$( { go env GOVERSION; cat "$here/cri-dockerd.patch"; } | keyof)"; }
policy_dir() { echo "$KUBE_CACHE/kube-network-policies-$POLICY_VERSION-$( { go env GOVERSION; cat "$here/kube-network-policies.patch"; } | keyof)"; }
debian_dir() { echo "$KUBE_CACHE/debian-$(printf '%s\n' "${DEBIAN_PACKAGES[@]}" | keyof)"; }
pause_dir() { echo "$KUBE_CACHE/pause-$( { go env GOVERSION; cat "$here/pause/main.go" "$here/pause/Dockerfile"; } | keyof)"; }

# Each build works in $KUBE_CACHE/.build/<part directory> (sources, its own Go
# build cache), removed once the part is installed. A build stopped half-way
# (a time limit, a reboot) leaves it, and the next run resumes from its build
# cache instead of starting over.
scratch() {
	local w=$KUBE_CACHE/.build/$(basename "$1")
	if [[ -d $w/gocache ]]; then log "resuming the interrupted build in $w"; fi
	rm -rf "$w/src" "$w/mod" "$w/bin" "$w/ctx" "$w/debs" "$w/root"
	mkdir -p "$w"
	echo "$w"
}

build_kubernetes() {
	local out=$1 w; w=$(scratch "$out")
	log "building Kubernetes $KUBERNETES_VERSION (about 26 min on a loaded 2-core machine; once per machine)"
	local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
	local staging=v0.${KUBERNETES_VERSION#v1.}
	mkdir -p "$w/mod" "$w/gocache"
	(
		cd "$w/mod"
		go mod init previewd.local/kubebuild >/dev/null 2>&1
		# Every k8s.io staging module of k8s.io/kubernetes at its published tag
		# (the ones never published are left out).
		go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" >"$w/k8s.json"
		local gomod; gomod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' "$w/k8s.json")
		{
			echo "replace ("
			sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod" |
				grep -vE '^k8s.io/sample-(cli-plugin|controller)$' |
				sed "s#.*#\t& => & $staging#"
			echo ")"
		} >>go.mod
		export GOCACHE=$w/gocache
		go get "k8s.io/kubernetes@$KUBERNETES_VERSION" >/dev/null
		local v=k8s.io/component-base/version cv=k8s.io/client-go/pkg/version
		local ld="-s -w -X $v.gitVersion=$KUBERNETES_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
		ld+=" -X $cv.gitVersion=$KUBERNETES_VERSION -X $cv.gitMajor=1 -X $cv.gitMinor=$minor"
		go build -trimpath -ldflags "$ld" -o "$w/bin/" \
			k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
			k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubectl
	)
	install_dir "$w/bin" "$out"
}

build_cri_dockerd() {
	local out=$1 w; w=$(scratch "$out")
	log "building cri-dockerd $CRI_DOCKERD_VERSION, patched (about 12 min on a loaded 2-core machine; once per machine)"
	local src
	src=$(go mod download -json "github.com/Mirantis/cri-dockerd@$CRI_DOCKERD_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
	# The module's zip carries only vendor/modules.txt, so build from the module
	# graph instead of the vendor directory.
	cp -r "$src" "$w/src" && chmod -R u+w "$w/src" && rm -rf "$w/src/vendor"
	patch -s -d "$w/src" -p1 <"$here/cri-dockerd.patch"
	(
		cd "$w/src"
		export GOCACHE=$w/gocache
		go build -trimpath -ldflags "-s -w -X github.com/Mirantis/cri-dockerd/cmd/version.Version=${CRI_DOCKERD_VERSION#v}" -o "$w/bin/cri-dockerd" .
	)
	install_dir "$w/bin" "$out"
}

build_policy() {
	local out=$1 w; w=$(scratch "$out")
	log "building kube-network-policies $POLICY_VERSION, patched (a few minutes; once per machine)"
	local src
	src=$(go mod download -json "sigs.k8s.io/kube-network-policies@$POLICY_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
	cp -r "$src" "$w/src" && chmod -R u+w "$w/src"
	patch -s -d "$w/src" -p1 <"$here/kube-network-policies.patch"
	(cd "$w/src" && GOCACHE=$w/gocache go build -trimpath -ldflags "-s -w" -o "$w/bin/kube-network-policies" ./cmd)
	install_dir "$w/bin" "$out"
}

build_debian() {
	local out=$1 w; w=$(scratch "$out")
	log "fetching ${DEBIAN_PACKAGES[*]} (Debian packages, unpacked, not installed)"
	mkdir -p "$w/debs" "$w/root"
	(cd "$w/debs" && apt-get download -q "${DEBIAN_PACKAGES[@]}" >/dev/null 2>&1) || {
		apt-get update -qq && (cd "$w/debs" && apt-get download -q "${DEBIAN_PACKAGES[@]}" >/dev/null)
	}
	for d in "$w"/debs/*.deb; do dpkg-deb -x "$d" "$w/root"; done
	mkdir -p "$w/bin"
	cp "$w/root/usr/bin/etcd" "$w/bin/"
	cp -r "$w/root/usr/lib/cni" "$w/bin/cni"
	install_dir "$w/bin" "$out"
}

# The pause image is built from a static Go program (no image can be pulled);
# the cache holds its tag, checked against the engine each run.
build_pause() {
	local out=$1 w; w=$(scratch "$out")
	local tag; tag=previewd/kube-pause:$(basename "$out" | sed 's/^pause-//')
	mkdir -p "$w/ctx" "$w/bin"
	(cd "$here/pause" && GOCACHE=$w/gocache go build -trimpath -ldflags "-s -w" -o "$w/ctx/pause" main.go)
	cp "$here/pause/Dockerfile" "$w/ctx/"
	DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$w/ctx" >"$w/docker-build.log" 2>&1 || { cat "$w/docker-build.log" >&2; return 1; }
	echo "$tag" >"$w/bin/image"
	install_dir "$w/bin" "$out"
}

# install_dir moves a finished build into the cache in one step, so a build
# stopped half-way leaves no directory that looks complete.
install_dir() {
	local from=$1 out=$2
	date -u +%FT%TZ >"$from/.done"
	mkdir -p "$(dirname "$out")"
	rm -rf "$out.tmp" && cp -a "$from" "$out.tmp" && rm -rf "$out" && mv "$out.tmp" "$out"
	rm -rf "$KUBE_CACHE/.build/$(basename "$out")"
	log "cached $out"
}

part() {
	local name=$1 dir fd
	dir=$("${name//-/_}_dir")
	# One build of a part at a time (two test runs may ask at once).
	mkdir -p "$KUBE_CACHE/.build"
	exec {fd}>"$KUBE_CACHE/.build/$(basename "$dir").lock"
	flock "$fd"
	if [[ ! -f $dir/.done ]] || { [[ $name == pause ]] && ! docker image inspect "$(cat "$dir/image")" >/dev/null 2>&1; }; then
		"build_${name//-/_}" "$dir"
	fi
	exec {fd}>&-
	echo "$dir"
}

# --check: build nothing; list the parts not cached yet and fail if there are any.
if [[ ${1:-} == --check ]]; then
	missing=()
	for p in kubernetes cri-dockerd policy debian pause; do
		dir=$("${p//-/_}_dir")
		[[ -f $dir/.done ]] || missing+=("$p")
	done
	((${#missing[@]} == 0)) || { echo "not built yet under $KUBE_CACHE: ${missing[*]} (bash deploy/kube-test-cluster/build.sh builds them)"; exit 1; }
	exit 0
fi
parts=("$@")
((${#parts[@]})) || parts=(kubernetes cri-dockerd policy debian pause)
for p in "${parts[@]}"; do part "$p"; done
