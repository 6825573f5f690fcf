package scenarios

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"

	"github.com/ipcbench/ipcbench/results"
)

// cmdLabel names a user command in benchmark names (cmd=…): the program's
// base name, the base name of its first argument that is not an option
// (what usually tells two commands apart: `node a.js` and `node b.js`),
// and a short hash of every word as typed, so that commands differing
// only further on still get distinct names. The same words always give
// the same label, on any machine (the program is not resolved first).
// A command of one word is just its base name: `--cmd true` is cmd=true.
func cmdLabel(words []string) string {
	label := safeLabel(filepath.Base(words[0]), 32)
	if len(words) == 1 {
		return results.CleanLabel(label)
	}
	for _, a := range words[1:] {
		if a != "" && !strings.HasPrefix(a, "-") {
			label += "_" + safeLabel(filepath.Base(a), 24)
			break
		}
	}
	h := sha256.Sum256([]byte(strings.Join(words, "\x00")))
	return results.CleanLabel(label + "~" + hex.EncodeToString(h[:2]))
}

// safeLabel keeps letters, digits and . _ + - : (anything else, shell
// metacharacters included, becomes '_'), at most n bytes.
func safeLabel(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._+-:", r):
			return r
		}
		return '_'
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	return strings.Trim(s, "_")
}
