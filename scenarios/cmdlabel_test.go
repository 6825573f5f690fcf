package scenarios

import (
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

func TestCmdLabels(t *testing.T) {
	label := func(cmd string) string {
		t.Helper()
		_, l, err := userCommand(cmd)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b, a2 := label("sh a.js"), label("sh b.js"), label("sh a.js --x 1")
	if a == b || a == a2 || b == a2 {
		t.Fatalf("labels collide: %q %q %q", a, b, a2)
	}
	if !strings.HasPrefix(a, "sh_a.js~") || !strings.HasPrefix(b, "sh_b.js~") {
		t.Fatalf("labels %q %q should show the program and its script", a, b)
	}
	if label("sh a.js") != a || label("sh  a.js") != a {
		t.Fatal("the same command must get the same label")
	}
	if label("true") != "true" {
		t.Fatalf("a lone program keeps its name: %q", label("true"))
	}
	for _, cmd := range []string{`sh -c 'echo x/y=z; exit 3'`, "sh ./dir/with space.js"} {
		l := label(cmd)
		if strings.ContainsAny(l, "/= \t;'") || results.CleanLabel(l) != l {
			t.Fatalf("%q: label %q is not clean", cmd, l)
		}
	}
}
