package localpg

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serverUser is who runs the PostgreSQL programs when this process is root:
// initdb and postgres refuse to run as root.
const serverUser = "postgres"

// account is a uid and gid to run PostgreSQL programs as.
type account struct {
	uid, gid int
}

// lookupServerUser returns the postgres account when this process is root,
// and nil otherwise (then the programs run as the current user).
func lookupServerUser() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		return nil, fmt.Errorf("running as root needs a %q user to run postgres as: %w", serverUser, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("uid of %s: %w", serverUser, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("gid of %s: %w", serverUser, err)
	}
	return &account{uid: uid, gid: gid}, nil
}

// credential is what exec needs to start a program as a.
func (a *account) credential() *syscall.Credential {
	if a == nil {
		return nil
	}
	return &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid)}
}

// chownTree gives dir and everything in it to a, so that a cluster made or
// copied by root can be run by the postgres user.
func chownTree(dir string, a *account) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, a.uid, a.gid); err != nil {
			return fmt.Errorf("chown %s: %w", p, err)
		}
		return nil
	})
}

// makeReachable makes sure that a can search every directory above dir.
//
// A cluster under a root-owned tree such as /root/src/previewd/.data/pg is out
// of the postgres user's reach when /root is 0700, and initdb then fails with a
// bare "permission denied". A directory owned by this process that lacks the
// search bit for a gets o+x: search only, not listing, so names inside stay
// unreadable unless already known. Each change is written to log. A directory
// owned by someone else is not touched; that is an error that names it.
func makeReachable(dir string, a *account, log io.Writer) error {
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", dir, err)
	}
	for p := filepath.Dir(resolved); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("stat %s: no owner information", p)
		}
		if !canSearch(fi.Mode(), int(st.Uid), int(st.Gid), a) {
			if int(st.Uid) != os.Geteuid() {
				return fmt.Errorf("user %s cannot reach %s: %s (mode %v, owner uid %d) lacks the search bit for it; chmod o+x it or pick another directory", serverUser, dir, p, fi.Mode().Perm(), st.Uid)
			}
			mode := fi.Mode().Perm() | 0o001
			if err := os.Chmod(p, mode); err != nil {
				return fmt.Errorf("let user %s reach %s: %w", serverUser, dir, err)
			}
			fmt.Fprintf(log, "localpg: chmod o+x %s so that user %s can reach %s\n", p, serverUser, dir)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// canSearch tells whether a may search a directory with this mode and owner.
// Supplementary groups are ignored: at worst that adds an o+x that was not
// strictly needed.
func canSearch(mode fs.FileMode, uid, gid int, a *account) bool {
	switch {
	case uid == a.uid:
		return mode&0o100 != 0
	case gid == a.gid:
		return mode&0o010 != 0
	default:
		return mode&0o001 != 0
	}
}
