package units

import "testing"

func TestParseSize(t *testing.T) {
	good := map[string]int64{"64": 64, "4KiB": 4096, "4K": 4096, "1MiB": 1 << 20, "1GiB": 1 << 30, "1MB": 1e6, "100B": 100}
	for in, want := range good {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "x", "1.5MiB", "99999999999GiB", "KiB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
	if _, err := ParseIntList("1,0"); err == nil {
		t.Error("ParseIntList accepted 0")
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"64", "4KiB", "1GiB", "-3", "9223372036854775807", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSize(s)
		if err == nil && v <= 0 {
			t.Fatalf("ParseSize(%q) = %d without error", s, v)
		}
	})
}
