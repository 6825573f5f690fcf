package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/compare"
	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/scenarios"
)

// ---- binary arms: two ipcbench binaries, each round one `run` per arm ----

type binaryArms struct {
	base, head string
	sel        []string        // run arguments after --
	rounds     map[string]bool // per binary: its `run` takes --rounds
}

// armRunArgs is the one place an arm's command line is built: the user's
// selection, then what the gate needs (its budget, nothing saved, JSON on
// stdout, exactly the benchmarks still undecided). The gate's flags come
// last so they win over the same flags in the selection. An ipcbench whose
// `run` samples in rounds is asked for one: the gate does its own rounds,
// each arm invocation is one of them (older builds, without --rounds, take
// one round anyway).
func armRunArgs(sel []string, keys []results.Name, budget time.Duration, rounds bool) []string {
	args := append([]string{"run"}, sel...)
	args = append(args, "--budget", budget.String(), "--no-save", "--format", "json", "--filter", exactFilter(keys))
	if rounds {
		args = append(args, "--rounds", "1")
	}
	return args
}

// takesRounds reports whether bin's `run` has a --rounds flag (base and
// head may be builds from before and after it appeared).
func takesRounds(ctx context.Context, arm, bin string, timeout time.Duration) bool {
	out, err := invoke(ctx, arm, bin, []string{"run", "--help"}, timeout)
	return err == nil && bytes.Contains(out, []byte("--rounds "))
}

// exactFilter is a --filter matching exactly these names.
func exactFilter(keys []results.Name) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = regexp.QuoteMeta(string(k))
	}
	return "^(?:" + strings.Join(q, "|") + ")$"
}

// maxArmOutput bounds what an arm may print in one round (a results
// document of hundreds of benchmarks is a few MB).
const maxArmOutput = 256 << 20

// invoke runs an arm's binary once and returns its stdout. The arm is
// killed (and its children with it: they die with their parent) when the
// timeout passes; a missing binary, a crash or a hang is an *armError.
func invoke(ctx context.Context, arm, bin string, args []string, timeout time.Duration) ([]byte, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, &armError{arm, fmt.Sprintf("%s cannot be run: %v", bin, unwrapExec(err))}
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p := child.New(cctx, fmt.Sprintf("%s %s", bin, args[0]), append([]string{path}, args...)...)
	out := &limitedBuffer{max: maxArmOutput}
	p.Cmd.Stdout = out
	if err := p.Start(); err != nil {
		return nil, &armError{arm, err.Error()}
	}
	err = p.Wait()
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case cctx.Err() != nil:
		return nil, &armError{arm, fmt.Sprintf("%s %s hung: no result within %s (--round-timeout); killed", bin, args[0], timeout)}
	case out.over:
		return nil, &armError{arm, fmt.Sprintf("%s %s printed more than %d MiB", bin, args[0], maxArmOutput>>20)}
	}
	return out.Bytes(), err
}

func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.over = true
		return 0, errors.New("too much output")
	}
	return b.Buffer.Write(p)
}

// listArm is what one arm would measure: `BIN list <selection>`.
func listArm(ctx context.Context, arm, bin string, sel []string, timeout time.Duration) ([]results.Name, map[results.Name]string, error) {
	out, err := invoke(ctx, arm, bin, append([]string{"list"}, sel...), timeout)
	var ce *child.Error
	var ee *exec.ExitError
	if errors.As(err, &ce) && errors.As(err, &ee) && ee.ExitCode() == exitUsage {
		// Its own usage error: the selection is wrong, not the arm.
		return nil, nil, usagef("%s arm rejected the run arguments after --: %s", arm, ce.Msg)
	}
	if err != nil {
		return nil, nil, asArmError(arm, err)
	}
	var names []results.Name
	skipped := map[results.Name]string{}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		name, rest, _ := strings.Cut(line, "\t")
		if !plausibleName(name) {
			return nil, nil, &armError{arm, fmt.Sprintf("%s list printed something that is not a benchmark list: %q", bin, clip(line, 80))}
		}
		n := results.Name(name)
		names = append(names, n)
		if why, ok := strings.CutPrefix(rest, "(skipped: "); ok {
			skipped[n] = strings.TrimSuffix(why, ")")
		}
	}
	if len(names) == 0 {
		return nil, nil, &armError{arm, fmt.Sprintf("%s list printed no benchmark", bin)}
	}
	return names, skipped, nil
}

// plausibleName: "Base/key=value/..." with no spaces or control characters.
func plausibleName(s string) bool {
	if s == "" || !unicode.IsLetter(rune(s[0])) || !strings.Contains(s, "/") {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func asArmError(arm string, err error) error {
	var ae *armError
	if errors.As(err, &ae) || errors.Is(err, context.Canceled) {
		return err
	}
	return &armError{arm, err.Error()}
}

func (a *binaryArms) list(ctx context.Context, timeout time.Duration) (common, onlyBase, onlyHead []results.Name, skipped []compare.Skip, err error) {
	bn, bs, err := listArm(ctx, "base", a.base, a.sel, timeout)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	a.rounds = map[string]bool{a.base: takesRounds(ctx, "base", a.base, timeout)}
	hn, hs := bn, bs
	if a.head != a.base {
		if hn, hs, err = listArm(ctx, "head", a.head, a.sel, timeout); err != nil {
			return nil, nil, nil, nil, err
		}
		a.rounds[a.head] = takesRounds(ctx, "head", a.head, timeout)
	}
	common, onlyBase, onlyHead, skipped = pairLists(bn, hn, bs, hs)
	return common, onlyBase, onlyHead, skipped, nil
}

// pairLists splits two arms' lists: in both and runnable in both, only in
// one, skipped in either (with the reason).
func pairLists(bn, hn []results.Name, bs, hs map[results.Name]string) (common, onlyBase, onlyHead []results.Name, skipped []compare.Skip) {
	inHead := map[results.Name]bool{}
	for _, n := range hn {
		inHead[n] = true
	}
	inBase := map[results.Name]bool{}
	for _, n := range bn {
		inBase[n] = true
		switch {
		case !inHead[n]:
			onlyBase = append(onlyBase, n)
		case bs[n] != "":
			skipped = append(skipped, compare.Skip{Name: n, Reason: bs[n]})
		case hs[n] != "":
			skipped = append(skipped, compare.Skip{Name: n, Reason: "head: " + hs[n]})
		default:
			common = append(common, n)
		}
	}
	for _, n := range hn {
		if !inBase[n] {
			onlyHead = append(onlyHead, n)
		}
	}
	return
}

func (a *binaryArms) round(ctx context.Context, keys []results.Name, baseFirst bool, budget, timeout time.Duration) (base, head map[results.Name]float64, units map[results.Name]string, env *results.Env, err error) {
	type side struct {
		arm, bin string
		out      *map[results.Name]float64
	}
	sides := []side{{"base", a.base, &base}, {"head", a.head, &head}}
	if !baseFirst {
		sides[0], sides[1] = sides[1], sides[0]
	}
	units = map[results.Name]string{}
	for _, s := range sides {
		m, u, e, err := a.runArm(ctx, s.arm, s.bin, keys, budget, timeout)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		*s.out = m
		if s.arm == "base" {
			units, env = u, e
		}
	}
	return base, head, units, env, nil
}

// runArm runs one arm's round and reads its medians from the results
// document it prints.
func (a *binaryArms) runArm(ctx context.Context, arm, bin string, keys []results.Name, budget, timeout time.Duration) (map[results.Name]float64, map[results.Name]string, *results.Env, error) {
	args := armRunArgs(a.sel, keys, budget, a.rounds[bin])
	out, runErr := invoke(ctx, arm, bin, args, timeout)
	var ae *armError
	if errors.As(runErr, &ae) || errors.Is(runErr, context.Canceled) {
		return nil, nil, nil, runErr
	}
	set, perr := results.Unmarshal(out)
	if perr != nil {
		if runErr != nil {
			return nil, nil, nil, &armError{arm, runErr.Error()}
		}
		return nil, nil, nil, &armError{arm, fmt.Sprintf("%s run printed something that is not an ipcbench results document (%v): %q", bin, perr, clip(strings.TrimSpace(string(out)), 60))}
	}
	by := map[results.Name]*results.Benchmark{}
	for i := range set.Benchmarks {
		b := &set.Benchmarks[i]
		if b.Failed() {
			return nil, nil, nil, &armError{arm, fmt.Sprintf("benchmark %s failed: %s", b.Name, b.Error)}
		}
		by[b.Name] = b
	}
	if runErr != nil {
		return nil, nil, nil, &armError{arm, runErr.Error()}
	}
	medians := map[results.Name]float64{}
	units := map[results.Name]string{}
	for _, k := range keys {
		b := by[k]
		switch {
		case b == nil:
			return nil, nil, nil, &armError{arm, fmt.Sprintf("%s run did not measure %s", bin, k)}
		case b.Skipped != "":
			return nil, nil, nil, &armError{arm, fmt.Sprintf("%s skipped %s: %s", bin, k, b.Skipped)}
		case !b.OK() || !(b.Summary.Median > 0):
			return nil, nil, nil, &armError{arm, fmt.Sprintf("%s run gave no figure for %s", bin, k)}
		}
		medians[k], units[k] = b.Summary.Median, b.Unit
	}
	return medians, units, &set.Env, nil
}

// ---- command arms: two user commands, measured in this process ----

type commandArms struct {
	baseCmd, headCmd string
	groups           []scenarios.Group
	filter           *regexp.Regexp
	base, head       map[results.Name]bench.Scenario
	env              *results.Env
}

func newCommandArms(baseCmd, headCmd, scen, filter string) (*commandArms, error) {
	a := &commandArms{baseCmd: baseCmd, headCmd: headCmd}
	for _, s := range splitList(scen) {
		if s != "spawn" && s != "output" {
			return nil, usagef("--scenarios: %q cannot take a command (accepted: spawn, output)", s)
		}
		g, err := scenarios.Lookup(s)
		if err != nil {
			return nil, usageError{err}
		}
		a.groups = append(a.groups, g)
	}
	if len(a.groups) == 0 {
		return nil, usagef("--scenarios is empty (accepted: spawn, output)")
	}
	if filter != "" {
		re, err := regexp.Compile(filter)
		if err != nil {
			return nil, usagef("--filter %q is not a valid regular expression: %v", filter, err)
		}
		a.filter = re
	}
	return a, nil
}

// build is one arm's benchmarks by gate key: the name without its cmd=
// label (two commands have two labels; the gate pairs the workloads).
func (a *commandArms) build(arm, cmd string) (map[results.Name]bench.Scenario, []results.Name, map[results.Name]string, error) {
	m := map[results.Name]bench.Scenario{}
	var order []results.Name
	skipped := map[results.Name]string{}
	for _, g := range a.groups {
		list, err := g.Build(scenarios.Options{Cmd: cmd})
		if err != nil {
			return nil, nil, nil, &armError{arm, err.Error()}
		}
		for _, s := range list {
			k := s.Name().Without(results.KeyCmd)
			if a.filter != nil && !a.filter.MatchString(string(k)) {
				continue
			}
			m[k] = s
			order = append(order, k)
			if sk, ok := s.(bench.Skipper); ok && sk.SkipReason() != "" {
				skipped[k] = sk.SkipReason()
			}
		}
	}
	return m, order, skipped, nil
}

func (a *commandArms) list(ctx context.Context, timeout time.Duration) (common, onlyBase, onlyHead []results.Name, skipped []compare.Skip, err error) {
	var bn, hn []results.Name
	var bs, hs map[results.Name]string
	if a.base, bn, bs, err = a.build("base", a.baseCmd); err != nil {
		return
	}
	if a.head, hn, hs, err = a.build("head", a.headCmd); err != nil {
		return
	}
	if len(bn) == 0 {
		return nil, nil, nil, nil, usagef("--filter matches no benchmark of --scenarios %s", scenarioNames(a.groups))
	}
	common, onlyBase, onlyHead, skipped = pairLists(bn, hn, bs, hs)
	return
}

func scenarioNames(gs []scenarios.Group) string {
	n := make([]string, len(gs))
	for i, g := range gs {
		n[i] = g.Name
	}
	return strings.Join(n, ",")
}

// round measures each benchmark on both arms back to back (the pair as
// close in time as it can be), in the round's order.
func (a *commandArms) round(ctx context.Context, keys []results.Name, baseFirst bool, budget, timeout time.Duration) (base, head map[results.Name]float64, units map[results.Name]string, env *results.Env, err error) {
	if a.env == nil {
		e := sys.Fingerprint()
		a.env = &e
	}
	// The engine's own watchdog (OpTimeout) and its Abort make a blocked
	// spawn stoppable: spawns are not cancellable (a cancellable context
	// costs every spawn a watcher goroutine), so the engine kills this
	// run's children (child.KillAll spares the guardian) to end a wait on
	// one. Its default 10s op timeout would otherwise fail a command slower
	// than that which the round timeout allows.
	cfg := bench.Config{Budget: budget, OpTimeout: timeout, Abort: child.KillAll}.Defaults()
	base, head, units = map[results.Name]float64{}, map[results.Name]float64{}, map[results.Name]string{}
	arms := []string{"base", "head"}
	if !baseFirst {
		arms = []string{"head", "base"}
	}
	for _, k := range keys {
		for _, arm := range arms {
			s, out := a.base[k], base
			if arm == "head" {
				s, out = a.head[k], head
			}
			res, err := measureOne(ctx, arm, s, cfg, timeout)
			if err != nil {
				return nil, nil, nil, nil, err
			}
			out[k] = res.Summary.Median
			if arm == "base" {
				units[k] = res.Unit
			}
		}
	}
	return base, head, units, a.env, nil
}

// measureOne runs one benchmark of a command arm within timeout. The
// engine stops a benchmark with no op finished for cfg.OpTimeout; this
// watchdog bounds the whole measurement (a command that keeps finishing
// ops but takes too long in all): it cancels the benchmark and kills this
// run's children (child.KillAll, the guardian spared), which ends the
// benchmark with an error the gate reports as a hang.
func measureOne(ctx context.Context, arm string, s bench.Scenario, cfg bench.Config, timeout time.Duration) (results.Benchmark, error) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var hung atomic.Bool
	t0 := time.Now()
	watchdog := time.AfterFunc(timeout, func() {
		hung.Store(true)
		cancel()
		child.KillAll()
	})
	res, err := bench.Run(rctx, s, cfg)
	watchdog.Stop()
	// The engine's op timeout (cfg.OpTimeout, the same timeout) may fire
	// first by a tick: a failure at the timeout is a hang either way.
	hang := hung.Load() || (ctx.Err() == nil && res.Failed() && time.Since(t0) >= timeout)
	name := s.Name()
	switch {
	case hang:
		return res, &armError{arm, fmt.Sprintf("%s hung: no result within %s (--round-timeout); its processes were killed", name, timeout)}
	case ctx.Err() != nil:
		return res, ctx.Err()
	case err != nil:
		return res, &armError{arm, fmt.Sprintf("%s: %v", name, err)}
	case res.Failed():
		return res, &armError{arm, fmt.Sprintf("benchmark %s failed: %s", name, res.Error)}
	case res.Skipped != "":
		return res, &armError{arm, fmt.Sprintf("benchmark %s was skipped: %s", name, res.Skipped)}
	case !res.OK() || !(res.Summary.Median > 0):
		return res, &armError{arm, fmt.Sprintf("benchmark %s gave no figure", name)}
	}
	return res, nil
}
