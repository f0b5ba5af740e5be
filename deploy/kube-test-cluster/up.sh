#!/usr/bin/env bash
# Starts a single-node Kubernetes on this machine's Docker engine, for tests:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, cri-dockerd,
# kubelet and a NetworkPolicy engine, all under one temporary directory, built
# first if the cache lacks them (kube/build.sh). Pods get a bridge and an
# address range of their own, so the policy engine (which matches Pod
# addresses only) never touches the engine's other containers.
#
#   bash deploy/kube-test-cluster/up.sh            the last line printed is: export KUBECONFIG=<path>
#   bash deploy/kube-test-cluster/up.sh --check-host   starts nothing: fails saying why this host cannot run it
#   bash deploy/kube-test-cluster/down.sh          stops it all and restores the host
#
# Needs root, cgroup v1 or v2, Docker. One cluster per Docker engine.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"
# shellcheck source=common.sh
source "$here/common.sh"

# The NetworkPolicy engine sends packets to user space through an nftables
# queue; a kernel without nftables queue support cannot run it.
check_host() {
	[[ $(id -u) == 0 ]] || die "needs root (the kubelet manages cgroups and mounts)"
	command -v nft >/dev/null || die "needs nft (Debian's nftables) for the NetworkPolicy engine"
	printf 'table inet previewd_probe {\n chain c {\n type filter hook forward priority 0;\n queue num %s bypass\n }\n}\n' "$KUBE_NFQUEUE" |
		nft --check -f - >/dev/null 2>&1 ||
		die "the kernel has no nftables queue support (nft_queue), which the NetworkPolicy engine needs"
}
if [[ ${1:-} == --check-host ]]; then
	check_host
	exit 0
fi
check_host

# A cluster started by a test run that has ended since (killed, timed out)
# is taken down; any other is left alone.
if [[ -f $KUBE_POINTER ]] && alive "$(cat "$KUBE_POINTER")"; then
	old=$(cat "$KUBE_POINTER")
	owner=$(cat "$old/owner-pid" 2>/dev/null || true)
	if [[ -n $owner ]] && ! kill -0 "$owner" 2>/dev/null; then
		log "taking down the cluster in $old, left by an ended test run (pid $owner)"
		KUBE_DIR=$old bash "$here/down.sh"
	else
		die "a test cluster is already up in $old (bash deploy/kube-test-cluster/down.sh stops it)"
	fi
fi
for port in 2379 2380 6443 10250 10248 10257 10259; do
	! port_busy "$port" || die "port $port is in use; the test cluster needs it"
done
! ip link show "$KUBE_BRIDGE" >/dev/null 2>&1 || die "interface $KUBE_BRIDGE exists already (left over? bash deploy/kube-test-cluster/down.sh)"
if ip -4 route | grep -q "^${KUBE_POD_CIDR%.*}"; then die "the Pod range $KUBE_POD_CIDR is routed already"; fi

mapfile -t dirs < <(bash "$here/build.sh" || echo FAILED)
((${#dirs[@]} == 5)) || die "building the cluster's parts failed: ${dirs[*]}"
k8s=${dirs[0]} crid=${dirs[1]} policy=${dirs[2]} deb=${dirs[3]} pause=$(cat "${dirs[4]}/image")

dir=$(mktemp -d "${TMPDIR:-/tmp}/previewd-kube.XXXXXX")
chmod 755 "$dir"
echo "$dir" >"$KUBE_POINTER"
mkdir -p "$dir"/{pki,logs,pids,etcd,kubelet,pod-logs,cni/net.d,cni/cache,cni/ipam,cri-dockerd}
node=$(hostname | tr '[:upper:]' '[:lower:]')
node_ip=$(ip -4 route get 1.1.1.1 | sed -n 's/.* src \([0-9.]*\).*/\1/p')
[[ -n $node_ip ]] || die "cannot tell this machine's address"
echo "$node" >"$dir/node-name"
echo "$node_ip" >"$dir/node-ip"
# The test process that started the cluster, if one did (kubetest sets it).
[[ -z ${KUBE_OWNER_PID:-} ]] || echo "$KUBE_OWNER_PID" >"$dir/owner-pid"

# What the kubelet and the cluster change on the host, read before they do,
# so that down.sh puts it back.
save_host_state "$dir/host-state"

# If anything below fails, take down what was started and restore the host.
up_done=
trap '[[ -n $up_done ]] || { echo "kube: start failed; taking down what was started (logs kept in $dir/logs)" >&2; bash "$here/down.sh" --keep-logs >&2 || true; }' EXIT

log "certificates and tokens in $dir/pki"
pki=$dir/pki
openssl_quiet() { openssl "$@" >/dev/null 2>&1; }
openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 7 -keyout "$pki/ca.key" -out "$pki/ca.crt" -subj "/CN=previewd-test-ca"
cert() { # name subject [sans]
	openssl_quiet req -newkey rsa:2048 -nodes -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "$2"
	local ext=$pki/$1.ext
	echo "extendedKeyUsage=serverAuth,clientAuth" >"$ext"
	[[ -z ${3:-} ]] || echo "subjectAltName=$3" >>"$ext"
	openssl_quiet x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 7 -extfile "$ext" -out "$pki/$1.crt"
}
cert apiserver "/CN=kube-apiserver" "IP:127.0.0.1,IP:$node_ip,IP:${KUBE_SERVICE_CIDR%.*}.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
openssl_quiet genrsa -out "$pki/sa.key" 2048
openssl_quiet rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
tokens=$pki/tokens.csv
: >"$tokens"
chmod 600 "$tokens" "$pki"/*.key
kubeconfig() { # file user group
	local tok; tok=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	if [[ -n $3 ]]; then echo "$tok,$2,$2,\"$3\""; else echo "$tok,$2,$2"; fi >>"$tokens"
	cat >"$dir/$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: previewd-test
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: $pki/ca.crt
users:
- name: $2
  user:
    token: $tok
contexts:
- name: previewd-test
  context: {cluster: previewd-test, user: "$2"}
current-context: previewd-test
EOF
	chmod 600 "$dir/$1"
}
kubeconfig admin.kubeconfig admin system:masters
kubeconfig controller-manager.kubeconfig system:kube-controller-manager ""
kubeconfig scheduler.kubeconfig system:kube-scheduler ""
kubeconfig kubelet.kubeconfig "system:node:$node" system:nodes
kubeconfig policy.kubeconfig system:previewd-test-policy-engine system:masters

log "etcd"
start etcd "$deb/etcd" --name default --data-dir "$dir/etcd" \
	--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster default=http://127.0.0.1:2380 --log-level warn

log "kube-apiserver"
start kube-apiserver "$k8s/kube-apiserver" --etcd-servers http://127.0.0.1:2379 \
	--secure-port 6443 --advertise-address "$node_ip" \
	--tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
	--client-ca-file "$pki/ca.crt" --token-auth-file "$tokens" \
	--kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
	--kubelet-certificate-authority "$pki/ca.crt" \
	--authorization-mode Node,RBAC --allow-privileged=true \
	--service-account-issuer https://kubernetes.default.svc.cluster.local \
	--service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
	--service-cluster-ip-range "$KUBE_SERVICE_CIDR" --profiling=false
kubectl() { "$k8s/kubectl" --kubeconfig "$dir/admin.kubeconfig" "$@"; }
wait_for "the API server" 60 kubectl get --raw /readyz

log "kube-controller-manager, kube-scheduler"
start kube-controller-manager "$k8s/kube-controller-manager" --kubeconfig "$dir/controller-manager.kubeconfig" \
	--leader-elect=false --bind-address 127.0.0.1 \
	--service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
	--cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
	--controllers '*,-bootstrapsigner,-tokencleaner'
start kube-scheduler "$k8s/kube-scheduler" --kubeconfig "$dir/scheduler.kubeconfig" \
	--leader-elect=false --bind-address 127.0.0.1

log "cri-dockerd (Pods on bridge $KUBE_BRIDGE, $KUBE_POD_CIDR)"
cat >"$dir/cni/net.d/10-previewd-test.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$KUBE_CNI_NAME",
  "plugins": [
    {"type": "bridge", "bridge": "$KUBE_BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$dir/cni/ipam", "ranges": [[{"subnet": "$KUBE_POD_CIDR"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "firewall", "backend": "iptables"}
  ]
}
EOF
start cri-dockerd "$crid/cri-dockerd" --container-runtime-endpoint "unix://$dir/cri-dockerd.sock" \
	--cri-dockerd-root-directory "$dir/cri-dockerd" --network-plugin cni \
	--cni-bin-dir "$deb/cni" --cni-conf-dir "$dir/cni/net.d" --cni-cache-dir "$dir/cni/cache" \
	--pod-infra-container-image "$pause" --streaming-bind-addr 127.0.0.1:0
wait_for "cri-dockerd's socket" 30 test -S "$dir/cri-dockerd.sock"

log "kubelet (node $node, $node_ip)"
cat >"$dir/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$dir/cri-dockerd.sock
failSwapOn: false
address: $node_ip
port: 10250
healthzBindAddress: 127.0.0.1
healthzPort: 10248
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
localStorageCapacityIsolation: false
makeIPTablesUtilChains: false
podLogsDir: $dir/pod-logs
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}
serializeImagePulls: false
protectKernelDefaults: false
EOF
cert kubelet "/CN=$node" "IP:$node_ip,DNS:$node"
start kubelet "$k8s/kubelet" --config "$dir/kubelet.yaml" --kubeconfig "$dir/kubelet.kubeconfig" \
	--root-dir "$dir/kubelet" --cert-dir "$dir/kubelet/pki" --hostname-override "$node" --node-ip "$node_ip"
wait_for "node $node to be Ready" 90 kubectl wait --for=condition=Ready "node/$node" --timeout=1s

log "NetworkPolicy engine (kube-network-policies, nftables table inet kube-network-policies)"
start kube-network-policies "$policy/kube-network-policies" --kubeconfig "$dir/policy.kubeconfig" \
	--hostname-override "$node" --disable-nri --netfilter-bug-1766-fix=false \
	--metrics-bind-address 127.0.0.1:0 --nfqueue-id "$KUBE_NFQUEUE"
wait_for "the policy engine's nftables table" 30 nft list table inet kube-network-policies

metadata_stub "$dir"

up_done=1
log "up in $dir (deploy/kube-test-cluster/down.sh stops it)"
echo "export KUBECONFIG=$dir/admin.kubeconfig"
