package child

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestWaitExplainsFailureOnce(t *testing.T) {
	// The command counts its runs in a file: an explanation must never
	// come from running it again.
	dir := t.TempDir()
	p := New(context.Background(), `exec "x"`, "/bin/sh", "-c", "echo run >> "+dir+"/count; printf 'first\\n\\033[31mbad news\\n' >&2; exit 3")
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	err := p.Wait()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *child.Error", err)
	}
	if got := err.Error(); got != `exec "x": exit status 3: [31mbad news` {
		t.Fatalf("explanation %q (control characters must be stripped, last line kept)", got)
	}
	p2 := New(context.Background(), "cat", "/bin/sh", "-c", "cat "+dir+"/count")
	var out strings.Builder
	p2.Cmd.Stdout = &out
	if err := p2.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p2.Wait(); err != nil || out.String() != "run\n" {
		t.Fatalf("the command ran %q times (%v)", out.String(), err)
	}
}

func TestWaitSignal(t *testing.T) {
	p := New(context.Background(), "sleeper", "/bin/sleep", "10")
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	p.Kill()
	if err := p.Wait(); err == nil || !strings.Contains(err.Error(), "signal: killed") {
		t.Fatalf("killed child: %v", err)
	}
}
