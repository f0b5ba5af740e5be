#!/usr/bin/env bash
# Stops the test cluster that up.sh started (each process by the PID it was
# started with) and restores the host: sysctls, iptables chains and rules,
# the nftables table of the policy engine, the Pods' bridge, the stand-in
# metadata service, cgroups, mounts, /var/lib/kubelet and the k8s_*
# containers. Safe to run twice, and after a start that failed half-way.
#
#   bash deploy/kube-test-cluster/down.sh [--keep-logs]     the cluster in $KUBE_DIR, else the one up.sh noted
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$here/common.sh"
keep_logs=
[[ ${1:-} == --keep-logs ]] && keep_logs=1

dir=${KUBE_DIR:-}
[[ -n $dir ]] || dir=$(cat "$KUBE_POINTER" 2>/dev/null) || true
if [[ -z $dir || ! -d $dir ]]; then
	log "no test cluster to stop"
	rm -f "$KUBE_POINTER"
	exit 0
fi

# stop NAME: SIGTERM to the PID it was started with, SIGKILL after 10 s.
stop() {
	local f=$dir/pids/$1 pid i
	[[ -f $f ]] || return 0
	pid=$(cat "$f")
	if kill -TERM "$pid" 2>/dev/null; then
		for ((i = 0; i < 40; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.25
		done
		kill -KILL "$pid" 2>/dev/null && sleep 0.2
	fi
	rm -f "$f"
}

kubectl_bin=$(ls -d "${KUBE_CACHE:-/var/cache/previewd/kube}"/kubernetes-*/kubectl 2>/dev/null | head -1)
if [[ -n $kubectl_bin && -f $dir/pids/kube-apiserver && -f $dir/pids/kubelet ]] &&
	"$kubectl_bin" --kubeconfig "$dir/admin.kubeconfig" get --raw /readyz >/dev/null 2>&1; then
	# Pods deleted through the kubelet release their network (CNI) cleanly.
	log "deleting every Pod"
	"$kubectl_bin" --kubeconfig "$dir/admin.kubeconfig" delete pods --all -A --grace-period=1 --timeout=60s >/dev/null 2>&1 ||
		log "some Pods did not go in time; their containers are removed below"
fi

stop kubelet
# Containers the kubelet left (a failed start, a deletion that timed out).
ids=$(docker ps -aq --filter label=io.kubernetes.docker.type)
[[ -z $ids ]] || { log "removing k8s_* containers"; docker rm -f $ids >/dev/null; }
for p in metadata-stub kube-network-policies cri-dockerd kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$p"; done
for f in "$dir"/pids/*; do [[ -f $f ]] && stop "$(basename "$f")"; done

# Mounts under the cluster's directory (the kubelet's self bind-mount of its
# root directory, Pods' volumes), deepest first.
findmnt -rn -o TARGET | grep -F "$dir/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
mountpoint -q "$dir/kubelet" && umount -l "$dir/kubelet"

state=$dir/host-state
had() { grep -qxF "$1" "$state" 2>/dev/null; }

# Networking: the policy engine's table (it removes it itself on SIGTERM),
# the Pods' bridge, masquerade and forward rules of the CNI plugins, the
# stand-in metadata service.
nft delete table inet kube-network-policies 2>/dev/null
ip link del "$KUBE_BRIDGE" 2>/dev/null
ip rule del priority "$KUBE_MD_RULE_PRIO" 2>/dev/null
ip route flush table "$KUBE_MD_TABLE" 2>/dev/null
ip link del "$KUBE_MD_LINK" 2>/dev/null
ip netns del "$KUBE_MD_NETNS" 2>/dev/null
# rules that jump into CHAIN, in every chain of TABLE, then CHAIN itself.
drop_chain() {
	local t=$1 c=$2 r
	iptables -t "$t" -S 2>/dev/null | grep -E -- "-j $c( |\$)" | sed 's/^-A/-D/' | while read -r r; do
		eval "iptables -w -t $t $r" 2>/dev/null
	done
	iptables -w -t "$t" -F "$c" 2>/dev/null
	iptables -w -t "$t" -X "$c" 2>/dev/null
}
# Masquerade chains of Pods whose deletion did not run (matched by the network's name).
iptables -t nat -S POSTROUTING 2>/dev/null | grep -F "name: \\\"$KUBE_CNI_NAME\\\"" | sed -n 's/.* -j \(CNI-[0-9a-f]*\).*/\1/p' | sort -u |
	while read -r c; do drop_chain nat "$c"; done
for t in filter nat mangle; do
	for c in CNI-FORWARD CNI-ADMIN "${KUBE_KUBELET_CHAINS[@]}"; do
		if iptables -t "$t" -S "$c" >/dev/null 2>&1 && ! had "chain $t $c"; then drop_chain "$t" "$c"; fi
	done
done

# sysctls as they were.
while read -r kind name value; do
	[[ $kind == sysctl && $value != - ]] || continue
	[[ $(sysctl -n "$name" 2>/dev/null) == "$value" ]] || sysctl -qw "$name=$value"
done <"$state"

# Empty cgroups the kubelet made.
for cg in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
	[[ -d $cg ]] && ! had "existed $cg" && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
done
if [[ -d /var/lib/kubelet ]] && ! had "existed /var/lib/kubelet"; then rm -rf /var/lib/kubelet; fi

if [[ -n $keep_logs ]]; then
	rm -rf "$dir"/{etcd,kubelet,pki,cri-dockerd,cni,pod-logs}
	log "stopped; logs kept in $dir/logs"
else
	rm -rf "$dir"
	log "stopped and host restored"
fi
[[ $(cat "$KUBE_POINTER" 2>/dev/null) == "$dir" ]] && rm -f "$KUBE_POINTER"
exit 0
