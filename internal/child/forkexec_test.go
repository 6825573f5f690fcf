//go:build linux && (amd64 || arm64)

package child

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ipcbench/ipcbench/internal/leakcheck"
)

func TestForkExec(t *testing.T) {
	leakcheck.Check(t)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	// The child sees null on 0, 1, 2, no blocked or ignored signal, and
	// the environment it was given.
	script := `l=$(readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2); echo "$l" > "$OUT"; grep -E '^Sig(Blk|Ign)' /proc/self/status >> "$OUT"; echo "$X" >> "$OUT"`
	pid, err := ForkExec("/bin/sh", []string{"sh", "-c", script}, []string{"OUT=" + out, "X=hello", "PATH=/usr/bin:/bin"}, null)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Reap(pid); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := string(data)
	if strings.Count(got, "/dev/null") != 3 || !strings.Contains(got, "SigBlk:\t0000000000000000") || !strings.Contains(got, "SigIgn:\t0000000000000000") || !strings.HasSuffix(got, "hello\n") {
		t.Fatalf("child's view:\n%s", got)
	}
	pid, err = ForkExec("/bin/false", []string{"false"}, nil, null)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Reap(pid); err == nil || err.Error() != "exit status 1" {
		t.Fatalf("false: %v", err)
	}
	if _, err := ForkExec("/no/such/program", []string{"x"}, nil, null); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("missing program: %v", err)
	}
}
