package localpg

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCanSearch(t *testing.T) {
	pg := &account{uid: 101, gid: 104}
	tests := []struct {
		name     string
		mode     fs.FileMode
		uid, gid int
		want     bool
	}{
		{"root 0700", 0o700, 0, 0, false},
		{"root 0711", 0o711, 0, 0, true},
		{"root 0755", 0o755, 0, 0, true},
		{"own 0700", 0o700, 101, 0, true},
		{"own 0600", 0o600, 101, 0, false},
		{"group 0750", 0o750, 0, 104, true},
		{"group 0705, other bit does not apply to the group", 0o705, 0, 104, false},
	}
	for _, tt := range tests {
		if got := canSearch(tt.mode, tt.uid, tt.gid, pg); got != tt.want {
			t.Errorf("%s: canSearch = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestMakeReachable needs root, since only root can give files away.
func TestMakeReachable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	pg, err := lookupServerUser()
	if err != nil {
		t.Skip(err)
	}
	base := t.TempDir()

	ours := filepath.Join(base, "ours")
	if err := os.MkdirAll(filepath.Join(ours, "pg"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ours, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := makeReachable(filepath.Join(ours, "pg"), pg, io.Discard); err != nil {
		t.Fatalf("makeReachable under a directory we own: %v", err)
	}
	if fi, err := os.Stat(ours); err != nil || fi.Mode().Perm() != 0o701 {
		t.Errorf("mode of %s = %v (%v), want 0701", ours, fi.Mode().Perm(), err)
	}

	// A closed directory that belongs to someone else is not ours to open.
	theirs := filepath.Join(base, "theirs")
	if err := os.MkdirAll(filepath.Join(theirs, "pg"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	err = makeReachable(filepath.Join(theirs, "pg"), pg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), theirs) {
		t.Errorf("makeReachable under another user's 0700 dir: %v, want an error naming %s", err, theirs)
	}
}

func TestParsePIDFile(t *testing.T) {
	good := "4242\n/tmp/pg\n1700000000\n54329\n/tmp/pg\n127.0.0.1\n  1234 5678\nready   \n"
	pf, err := parsePIDFile(good)
	if err != nil || pf.pid != 4242 || pf.port != 54329 {
		t.Errorf("parsePIDFile = %+v, %v; want pid 4242 port 54329", pf, err)
	}
	for _, bad := range []string{"", "4242\n/tmp/pg\n", "x\na\nb\n54329\n", "4242\na\nb\nport\n"} {
		if _, err := parsePIDFile(bad); err == nil {
			t.Errorf("parsePIDFile(%q) succeeded", bad)
		}
	}
}

func TestValidDatabaseName(t *testing.T) {
	for name, want := range map[string]bool{
		"previewd": true, "app_test_1": true, "": false, "Previewd": false,
		"a-b": false, "x; drop": false, strings.Repeat("a", 64): false,
	} {
		if got := validDatabaseName(name); got != want {
			t.Errorf("validDatabaseName(%q) = %v, want %v", name, got, want)
		}
	}
}
