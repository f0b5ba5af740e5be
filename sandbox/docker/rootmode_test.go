package docker

import (
	"os"
	"testing"
)

func TestClearGroupBits(t *testing.T) {
	for _, c := range []struct{ from, want os.FileMode }{
		{0o755, 0o705},
		{0o750, 0o700},
		{0o705, 0o705},
		{0o777, 0o707},
	} {
		dir := t.TempDir()
		if err := os.Chmod(dir, c.from); err != nil {
			t.Fatal(err)
		}
		if err := clearGroupBits(dir); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != c.want {
			t.Errorf("%v: became %v, want %v", c.from, st.Mode().Perm(), c.want)
		}
	}
	if err := clearGroupBits(t.TempDir() + "/missing"); err == nil {
		t.Error("a missing directory: no error")
	}
}
