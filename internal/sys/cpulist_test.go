package sys

import (
	"reflect"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	good := map[string][]int{"0": {0}, "0-3": {0, 1, 2, 3}, "3,1,1-2": {1, 2, 3}, " 0 , 2 ": {0, 2}}
	for in, want := range good {
		got, err := ParseCPUList(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseCPUList(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, _ := ParseCPUList(FormatCPUList(got)); !reflect.DeepEqual(back, got) {
			t.Errorf("format round trip of %v gave %v", got, back)
		}
	}
	for _, bad := range []string{"", "a", "-1", "3-1", "1-", "1,,2", "99999"} {
		if _, err := ParseCPUList(bad); err == nil {
			t.Errorf("ParseCPUList(%q) accepted", bad)
		}
	}
	if err := CheckCPUs([]int{0, 7}, []int{0, 1}); err == nil {
		t.Error("CheckCPUs accepted a CPU outside the allowed set")
	}
}

func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"0", "0-3,5", "1-0", ",", "4095"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cpus, err := ParseCPUList(s)
		if err != nil {
			return
		}
		for i, c := range cpus {
			if c < 0 || (i > 0 && cpus[i-1] >= c) {
				t.Fatalf("ParseCPUList(%q) = %v: not sorted distinct non-negative", s, cpus)
			}
		}
	})
}
