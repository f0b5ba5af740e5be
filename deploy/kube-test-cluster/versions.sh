# Pinned versions of the test cluster's parts. Changing one rebuilds only that
# part: each is cached under $KUBE_CACHE/<part>-<version>-<key>.
KUBERNETES_VERSION=v1.37.2
CRI_DOCKERD_VERSION=v0.3.17
# The NetworkPolicy engine: nftables in a table of its own, verdicts in user space.
POLICY_VERSION=v0.8.0
# Debian packages (bookworm), fetched with apt-get download and unpacked, not installed.
DEBIAN_PACKAGES=(etcd-server containernetworking-plugins)
KUBE_CACHE=${KUBE_CACHE:-/var/cache/previewd/kube}
export GOPROXY=${KUBE_GOPROXY:-https://proxy.golang.org}
