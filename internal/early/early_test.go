package early

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// socketpair is a fork worker's channel: ours and the worker's end.
func socketpair(t *testing.T) (ours, theirs *os.File) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
}

func TestForkWorker(t *testing.T) {
	for _, c := range []struct {
		name, send string
		closeAfter bool
	}{
		{"exit", `{"type":"other"}` + "\n" + `{"type":"exit"}` + "\n", false},
		{"exit in pieces", `{"type":"ex`, false},
		{"channel closed", `{"type":"other"}` + "\n", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ours, theirs := socketpair(t)
			defer ours.Close()
			done := make(chan error, 1)
			go func() { done <- ForkWorker(theirs) }()
			buf := make([]byte, 64)
			n, err := ours.Read(buf)
			if err != nil || string(buf[:n]) != `{"type":"ready"}`+"\n" {
				t.Fatalf("ready: %q %v", buf[:n], err)
			}
			if _, err := ours.WriteString(c.send); err != nil {
				t.Fatal(err)
			}
			if c.name == "exit in pieces" {
				if _, err := ours.WriteString(`it"}` + "\n"); err != nil {
					t.Fatal(err)
				}
			}
			if c.closeAfter {
				ours.Close()
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOutputWriterArgs(t *testing.T) {
	for _, args := range [][]string{{"1", "2"}, {"x", "1", "0", "0"}, {"0", "1", "0", "0"}} {
		err := OutputWriter(args)
		if err == nil || !strings.Contains(err.Error(), `"`+args[0]+`"`) {
			t.Errorf("%q: %v", args, err)
		}
	}
}
