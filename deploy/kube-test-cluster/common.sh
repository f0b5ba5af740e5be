# Shared by up.sh and down.sh: names, addresses and the host state the test
# cluster changes. Sourced, not run.

# Where up.sh notes the directory of the running cluster.
KUBE_POINTER=${KUBE_POINTER:-/run/previewd-kube.dir}
# Pods live on a bridge and in a range of their own, apart from Docker's.
KUBE_BRIDGE=pvkube0
KUBE_CNI_NAME=previewd-test
KUBE_POD_CIDR=${KUBE_POD_CIDR:-10.217.0.0/24}
KUBE_SERVICE_CIDR=10.217.1.0/24
KUBE_NFQUEUE=217
# A stand-in for a cloud's metadata service at 169.254.169.254, reached only
# from the Pod range (policy routing), in a network namespace of its own: the
# host's own route to that address is left alone.
KUBE_MD_NETNS=previewd-kube-md
KUBE_MD_LINK=pvkube-md0
KUBE_MD_TABLE=217
KUBE_MD_RULE_PRIO=2170
# Host settings the kubelet (or Pod networking) changes.
KUBE_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables)
KUBE_KUBELET_CHAINS=(KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT KUBE-POSTROUTING KUBE-MARK-MASQ KUBE-MARK-DROP)

log() { echo "kube: $*" >&2; }
die() {
	echo "kube: $*" >&2
	exit 1
}

# alive DIR: whether any process started for the cluster in DIR still runs.
alive() {
	local f
	for f in "$1"/pids/*; do
		[[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null && return 0
	done
	return 1
}

port_busy() { ss -Hltn "sport = :$1" | grep -q .; }

# start NAME CMD...: runs CMD in a session of its own, logs in $dir/logs/NAME.log,
# its PID in $dir/pids/NAME.
start() {
	local name=$1
	shift
	setsid "$@" </dev/null >"$dir/logs/$name.log" 2>&1 &
	echo $! >"$dir/pids/$name"
	sleep 0.2
	kill -0 $! 2>/dev/null || {
		tail -20 "$dir/logs/$name.log" >&2
		die "$name exited at once"
	}
}

# wait_for WHAT SECONDS CMD...: retries CMD until it succeeds.
wait_for() {
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 4; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.25
	done
	die "$what not ready after ${secs}s (logs: $dir/logs)"
}

# save_host_state FILE: what down.sh restores, read before the cluster starts.
save_host_state() {
	local f=$1 s t
	: >"$f"
	for s in "${KUBE_SYSCTLS[@]}"; do
		echo "sysctl $s $(sysctl -n "$s" 2>/dev/null || echo -)" >>"$f"
	done
	for t in filter nat mangle; do
		iptables -t "$t" -S 2>/dev/null | sed -n "s/^-N \(.*\)/chain $t \1/p" >>"$f"
	done
	[[ -e /var/lib/kubelet ]] && echo "existed /var/lib/kubelet" >>"$f"
	for s in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
		[[ -d $s ]] && echo "existed $s" >>"$f"
	done
	return 0
}

# metadata_stub DIR: an HTTP server at 169.254.169.254:80 in its own network
# namespace that only the Pod range is routed to, so that a test can show a
# Pod reaching it without a NetworkPolicy and not with one.
metadata_stub() {
	local py
	py=$(command -v /usr/bin/python3 python3 | head -1) || {
		log "no python3: no stand-in metadata service"
		return 0
	}
	ip netns add "$KUBE_MD_NETNS"
	ip link add "$KUBE_MD_LINK" type veth peer name md1 netns "$KUBE_MD_NETNS"
	ip addr add 169.254.169.253/30 dev "$KUBE_MD_LINK" noprefixroute
	ip link set "$KUBE_MD_LINK" up
	ip -n "$KUBE_MD_NETNS" addr add 169.254.169.254/30 dev md1
	ip -n "$KUBE_MD_NETNS" link set md1 up
	ip -n "$KUBE_MD_NETNS" link set lo up
	ip -n "$KUBE_MD_NETNS" route add default via 169.254.169.253
	ip route add 169.254.169.254/32 dev "$KUBE_MD_LINK" table "$KUBE_MD_TABLE"
	ip rule add from "$KUBE_POD_CIDR" to 169.254.169.254 table "$KUBE_MD_TABLE" priority "$KUBE_MD_RULE_PRIO"
	mkdir -p "$1/metadata/latest"
	echo "previewd test metadata stub" >"$1/metadata/latest/meta-data"
	start metadata-stub ip netns exec "$KUBE_MD_NETNS" "$py" -m http.server --bind 169.254.169.254 --directory "$1/metadata" 80
	echo "$KUBE_MD_NETNS" >"$1/metadata-netns"
}
