package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// What the shim sees of the app from inside its container, for the host to
// say why an app that runs does not answer: the TCP sockets it listens on
// (/proc/net/tcp*) and how close it is to its process cap (the pids cgroup).

// socket is a TCP socket in LISTEN state.
type socket struct {
	Address string `json:"address"` // "0.0.0.0", "127.0.0.1", "::", "::1"
	Port    int    `json:"port"`
}

// pidsUsage is the container's pids cgroup: the cap, the tasks in it, and
// how many forks and thread creations the kernel refused at the cap.
type pidsUsage struct {
	Max     int `json:"max"` // 0: no cap
	Current int `json:"current"`
	Refused int `json:"refused"`
}

// inspection answers GET /inspect. Sockets is never null: an empty list
// says the app listens on no TCP port. Pids is null when the shim cannot
// read the pids cgroup.
type inspection struct {
	Sockets []socket   `json:"sockets"`
	Pids    *pidsUsage `json:"pids"`
}

// procNetFiles are the kernel's TCP socket tables of the container's network
// namespace.
var procNetFiles = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// cgroupRoot is where the container's cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// inspect reads the sockets and the pids cgroup.
func inspect() (inspection, error) {
	out := inspection{Sockets: []socket{}}
	for _, f := range procNetFiles {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6 in this kernel or namespace
		}
		if err != nil {
			return inspection{}, err
		}
		out.Sockets = append(out.Sockets, parseListenSockets(data)...)
	}
	if p, err := readPids(cgroupRoot); err == nil {
		out.Pids = &p
	}
	return out, nil
}

func handleInspect(w http.ResponseWriter, _ *http.Request) {
	in, err := inspect()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(in)
}

// parseListenSockets returns the local addresses of the listening sockets in
// the text of /proc/net/tcp or /proc/net/tcp6, in table order, without
// duplicates (SO_REUSEPORT workers share one address). Lines it cannot read
// are skipped.
func parseListenSockets(data []byte) []socket {
	var out []socket
	seen := map[socket]bool{}
	lines := bytes.Split(data, []byte("\n"))
	for _, line := range lines[1:] { // the first line is the column header
		fields := bytes.Fields(line)
		if len(fields) < 4 || string(fields[3]) != tcpListen {
			continue
		}
		s, ok := parseLocal(string(fields[1]))
		if !ok || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// parseLocal reads "0100007F:1F40" (tcp) or 32 hex digits and a port (tcp6).
// The kernel prints each 32-bit word of the address in host byte order; the
// machines previewd runs on (amd64, arm64) are little-endian.
func parseLocal(local string) (socket, bool) {
	addrHex, portHex, ok := strings.Cut(local, ":")
	if !ok {
		return socket{}, false
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil || port == 0 {
		return socket{}, false
	}
	raw, err := hex.DecodeString(addrHex)
	if err != nil || (len(raw) != net.IPv4len && len(raw) != net.IPv6len) {
		return socket{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	// String says an IPv4-mapped IPv6 address as IPv4.
	return socket{Address: net.IP(raw).String(), Port: int(port)}, true
}

// readPids reads the pids cgroup of this process under root: cgroup v1
// (root/pids/<path>, or root/pids where the container sees its own cgroup
// as the root) or v2 (root/<path>, or root).
func readPids(root string) (pidsUsage, error) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return pidsUsage{}, err
	}
	for _, dir := range pidsDirs(root, self) {
		if p, err := readPidsDir(dir); err == nil {
			return p, nil
		}
	}
	return pidsUsage{}, errors.New("no readable pids cgroup")
}

// pidsDirs lists where the pids cgroup of a process with the given
// /proc/self/cgroup text may be, most specific first.
func pidsDirs(root string, procCgroup []byte) []string {
	var v1, v2 string
	for _, line := range strings.Split(string(procCgroup), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case controllerListed(parts[1], "pids"):
			v1 = parts[2]
		}
	}
	var dirs []string
	if v1 != "" {
		dirs = append(dirs, filepath.Join(root, "pids", v1), filepath.Join(root, "pids"))
	}
	if v2 != "" {
		dirs = append(dirs, filepath.Join(root, v2), root)
	}
	return dirs
}

func controllerListed(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// readPidsDir reads pids.max, pids.current and, where the kernel has it,
// the max counter of pids.events.
func readPidsDir(dir string) (pidsUsage, error) {
	cur, err := os.ReadFile(filepath.Join(dir, "pids.current"))
	if err != nil {
		return pidsUsage{}, err
	}
	var p pidsUsage
	if p.Current, err = strconv.Atoi(strings.TrimSpace(string(cur))); err != nil {
		return pidsUsage{}, fmt.Errorf("pids.current: %w", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pids.max")); err == nil {
		p.Max = parsePidsMax(b)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pids.events")); err == nil {
		p.Refused = parsePidsEvents(b)
	}
	return p, nil
}

// parsePidsMax reads pids.max: a number, or "max" for no cap (0).
func parsePidsMax(b []byte) int {
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// parsePidsEvents returns the "max" counter of pids.events: how many times
// a fork or clone failed at the cap.
func parsePidsEvents(b []byte) int {
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "max "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err == nil {
				return n
			}
		}
	}
	return 0
}

// reportPidsAtExit says on the container's log, once the app has exited,
// that it ran into its process cap: an app that dies of it often prints
// nothing that says so. The host's diagnosis reads this line.
func reportPidsAtExit() {
	p, err := readPids(cgroupRoot)
	if err != nil || p.Refused == 0 {
		return
	}
	log.Print(pidsLimitLine(p))
}

// pidsLimitLine is the line reportPidsAtExit prints; sandbox/cause matches
// its start.
func pidsLimitLine(p pidsUsage) string {
	return fmt.Sprintf("the app reached its process limit (pids %d): the kernel refused it a new process or thread %d times", p.Max, p.Refused)
}
