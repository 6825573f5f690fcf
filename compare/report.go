package compare

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/results"
)

// GateSchemaVersion is the version of the gate's JSON verdict document.
const GateSchemaVersion = 1

// Document kinds, so that a file given to the wrong command is named.
const (
	KindGate  = "ipcbench-gate"
	KindNoise = "ipcbench-noise"
)

// Arm is one side of a gate.
type Arm struct {
	Kind string `json:"kind"` // "binary" (an ipcbench) or "command" (a user's command)
	What string `json:"what"` // the path or the command line
}

// Skip is a benchmark not gated, and why.
type Skip struct {
	Name   results.Name `json:"name"`
	Reason string       `json:"reason"`
}

// GateReport is a gate's whole finding: what was compared, how, and the
// verdicts. It is the JSON verdict file and the input of every rendering.
type GateReport struct {
	SchemaVersion int    `json:"schema_version"`
	Kind          string `json:"kind"`
	// Outcome is the gate's: pass, regression, inconclusive, arm-failed
	// or interrupted; ExitCode the status the command exited with.
	Outcome  Outcome `json:"outcome"`
	ExitCode int     `json:"exit_code"`
	// AA: both arms run the same thing (a calibration).
	AA   bool `json:"aa,omitempty"`
	Base Arm  `json:"base"`
	Head Arm  `json:"head"`
	// Selection is what each round measured (run arguments of binary
	// arms, scenarios and filter of command arms).
	Selection []string `json:"selection,omitempty"`
	Plan      struct {
		MaxRegression float64 `json:"max_regression"`
		Confidence    float64 `json:"confidence"`
		LookLevel     float64 `json:"look_level"`
		Stages        []int   `json:"stages"`
	} `json:"plan"`
	InconclusivePass bool `json:"inconclusive_pass,omitempty"`
	// Rounds are the paired rounds measured (the warmup round excluded);
	// Looks how many of the stages were looked at.
	Rounds    int       `json:"rounds"`
	Looks     int       `json:"looks"`
	Seed      uint64    `json:"seed"`
	StartedAt time.Time `json:"started_at"`
	ElapsedNS int64     `json:"elapsed_ns"`
	TimeNS    int64     `json:"time_limit_ns"`
	// BudgetNS is the sampling time per benchmark per arm and round.
	BudgetNS   int64          `json:"budget_ns"`
	Env        results.Env    `json:"env"`
	NoiseFile  string         `json:"noise_file,omitempty"`
	Benchmarks []Verdict      `json:"benchmarks"`
	OnlyBase   []results.Name `json:"only_base,omitempty"`
	OnlyHead   []results.Name `json:"only_head,omitempty"`
	Skipped    []Skip         `json:"skipped,omitempty"`
	// Failure is why the gate could not finish (an arm failed, an
	// interrupt); its verdicts are then partial and never a pass.
	Failure string   `json:"failure,omitempty"`
	Notes   []string `json:"notes,omitempty"`
	// Samples are the round medians behind the verdicts, for the Go
	// benchmark rendering and for audit.
	Samples []SeriesDoc `json:"samples,omitempty"`
}

// SeriesDoc is one benchmark's round medians in the verdict document.
type SeriesDoc struct {
	Name   results.Name `json:"name"`
	Unit   string       `json:"unit"`
	Rounds []int        `json:"rounds"`
	Base   []float64    `json:"base"`
	Head   []float64    `json:"head"`
}

// SetPlan records the plan in the report.
func (r *GateReport) SetPlan(p Plan) {
	r.Plan.MaxRegression, r.Plan.Confidence, r.Plan.LookLevel, r.Plan.Stages = p.MaxRegression, p.Confidence, p.LookLevel(), p.Stages
}

// SetSeries records the observations behind the verdicts.
func (r *GateReport) SetSeries(series []*Series) {
	r.Samples = nil
	for _, s := range series {
		r.Samples = append(r.Samples, SeriesDoc{Name: s.Name, Unit: s.Unit, Rounds: s.Rounds, Base: s.Base, Head: s.Head})
	}
}

// Finish sets the outcome and exit code: a failure or an interrupt wins
// over any verdict (a partial gate never passes), then regression, then
// inconclusive, then pass. signal is the number of the signal that
// interrupted the gate (exit 128+signal, recorded in ExitCode); 0 when it
// was interrupted otherwise (a cancelled context: ExitInterrupted).
func (r *GateReport) Finish(interrupted bool, signal int) {
	switch {
	case interrupted:
		r.Outcome = Interrupted
	case r.Failure != "":
		r.Outcome = ArmFailed
	default:
		r.Outcome = Overall(r.Benchmarks)
	}
	r.ExitCode = ExitCode(r.Outcome, r.InconclusivePass)
	if interrupted && signal > 0 {
		r.ExitCode = ExitSignal(signal)
	}
}

// Counts are how many benchmarks got each verdict.
func (r *GateReport) Counts() (pass, regress, inconclusive int) {
	for _, v := range r.Benchmarks {
		switch v.Outcome {
		case Pass:
			pass++
		case Regression:
			regress++
		default:
			inconclusive++
		}
	}
	return
}

// verdictJSON is a Verdict on the wire: the interval as plain numbers,
// null where it has no finite bound (JSON has no infinities).
type verdictJSON struct {
	Name           results.Name `json:"name"`
	Unit           string       `json:"unit"`
	HigherIsBetter bool         `json:"higher_is_better"`
	Rounds         int          `json:"rounds"`
	BaseMedian     float64      `json:"base_median"`
	HeadMedian     float64      `json:"head_median"`
	Change         *float64     `json:"change"`
	CILow          *float64     `json:"ci_low"`
	CIHigh         *float64     `json:"ci_high"`
	CILevel        float64      `json:"ci_level"`
	Threshold      *float64     `json:"threshold"`             // null: infinite (no finite noise floor)
	NoiseFloor     float64      `json:"noise_floor,omitempty"` // -1: the calibration found none
	MDE            *float64     `json:"mde"`
	PRegression    float64      `json:"p_regression"`
	Outcome        Outcome      `json:"verdict"`
	Reason         string       `json:"reason"`
	DecidedAt      int          `json:"decided_at_rounds,omitempty"`
	RegressedAt    int          `json:"regression_at_rounds,omitempty"`
}

// MarshalJSON writes the interval as change, ci_low, ci_high, ci_level.
func (v Verdict) MarshalJSON() ([]byte, error) {
	w := verdictJSON{
		Name: v.Name, Unit: v.Unit, HigherIsBetter: v.HigherIsBetter, Rounds: v.Rounds,
		BaseMedian: v.BaseMedian, HeadMedian: v.HeadMedian,
		Change: num(v.Change.Est), CILow: num(v.Change.Lo), CIHigh: num(v.Change.Hi), CILevel: v.Change.Level,
		Threshold: num(v.Threshold), NoiseFloor: v.NoiseFloor, MDE: num(v.MDE), PRegression: v.PRegression,
		Outcome: v.Outcome, Reason: v.Reason, DecidedAt: v.DecidedAt, RegressedAt: v.RegressedAt,
	}
	if math.IsInf(v.NoiseFloor, 1) {
		w.NoiseFloor = -1
	}
	if !v.Change.OK {
		w.CILow, w.CIHigh = nil, nil
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (v *Verdict) UnmarshalJSON(data []byte) error {
	var w verdictJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*v = Verdict{
		Name: w.Name, Unit: w.Unit, HigherIsBetter: w.HigherIsBetter, Rounds: w.Rounds,
		BaseMedian: w.BaseMedian, HeadMedian: w.HeadMedian, Threshold: unnum(w.Threshold, math.Inf(1)), NoiseFloor: w.NoiseFloor,
		PRegression: w.PRegression, Outcome: w.Outcome, Reason: w.Reason, DecidedAt: w.DecidedAt, RegressedAt: w.RegressedAt,
		MDE: unnum(w.MDE, math.Inf(1)),
	}
	if v.NoiseFloor < 0 {
		v.NoiseFloor = math.Inf(1)
	}
	v.Change = Interval{Est: unnum(w.Change, math.NaN()), Lo: unnum(w.CILow, math.Inf(-1)), Hi: unnum(w.CIHigh, math.Inf(1)), Level: w.CILevel}
	v.Change.OK = w.CILow != nil && w.CIHigh != nil
	return nil
}

func num(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func unnum(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// Noise is what an A/A calibration (`ipcbench gate --aa`) saves: per
// benchmark, how far two identical arms drift apart on this runner. Later
// gates read it (--noise) and raise T to each benchmark's floor.
type Noise struct {
	SchemaVersion int         `json:"schema_version"`
	Kind          string      `json:"kind"`
	CreatedAt     time.Time   `json:"created_at"`
	Env           results.Env `json:"env"`
	Arm           Arm         `json:"arm"`
	// MaxRegression is the margin the calibration was asked about.
	MaxRegression float64      `json:"max_regression"`
	Repeats       int          `json:"repeats"`
	Benchmarks    []NoiseBench `json:"benchmarks"`
}

// NoiseBench is one benchmark's noise on this runner.
type NoiseBench struct {
	Name results.Name `json:"name"`
	// Floor is the largest change the A/A intervals could not exclude,
	// max over repeats of max(|low|, |high|), as a relative change.
	Floor float64 `json:"floor"`
	// MDE is the largest A/A MDE seen, Rounds the fewest rounds behind it.
	MDE    float64 `json:"mde"`
	Rounds int     `json:"rounds"`
	// FalseAlarms counts A/A repeats in which any look called a
	// regression at the margin alone (floors ignored): a real gate stops
	// at the first look calling one, so each is a gate it would have
	// failed, though a later look of the exhaustive A/A un-called it.
	// FalseAlarms/Repeats is this runner's false-alarm rate (at most: a
	// real gate that passed the benchmark at an earlier look would have
	// stopped measuring it).
	FalseAlarms int       `json:"false_alarms"`
	Repeats     int       `json:"repeats"`
	Changes     []float64 `json:"changes"` // the A/A estimates, one per repeat
	// TooNoisy: the floor exceeds the margin; later gates use the floor.
	TooNoisy bool `json:"too_noisy"`
}

// NoiseFromAA summarises A/A gate reports (repeats of one calibration).
// A benchmark without a finite interval in some repeat gets an infinite
// floor, stored as -1 ("unknown, too noisy").
func NoiseFromAA(reports []*GateReport, margin float64) *Noise {
	n := &Noise{SchemaVersion: GateSchemaVersion, Kind: KindNoise, MaxRegression: margin, Repeats: len(reports)}
	if len(reports) > 0 {
		n.Env, n.Arm, n.CreatedAt = reports[0].Env, reports[0].Base, reports[0].StartedAt
	}
	idx := map[results.Name]int{}
	for _, r := range reports {
		for _, v := range r.Benchmarks {
			i, ok := idx[v.Name]
			if !ok {
				i = len(n.Benchmarks)
				idx[v.Name] = i
				n.Benchmarks = append(n.Benchmarks, NoiseBench{Name: v.Name, Rounds: v.Rounds})
			}
			b := &n.Benchmarks[i]
			b.Repeats++
			b.Rounds = min(b.Rounds, v.Rounds)
			// Any look, not only the last: an exhaustive A/A gate never
			// freezes a verdict, so its last look may have lost a
			// regression that a real gate would have stopped at. The
			// floor below stays the last look's (the most rounds).
			if (v.Outcome == Regression || v.RegressedAt > 0) && v.Threshold <= margin {
				b.FalseAlarms++
			}
			if !v.Change.OK || b.Floor < 0 {
				b.Floor, b.MDE = -1, -1
				b.Changes = append(b.Changes, v.Change.Est)
				continue
			}
			// The floor is taken on the badness scale in both directions:
			// a change of -4% is as much noise as one of +4%.
			lo, hi := math.Abs(math.Log1p(v.Change.Lo)), math.Abs(math.Log1p(v.Change.Hi))
			b.Floor = max(b.Floor, Rel(max(lo, hi)))
			b.MDE = max(b.MDE, v.MDE)
			b.Changes = append(b.Changes, v.Change.Est)
		}
	}
	for i := range n.Benchmarks {
		b := &n.Benchmarks[i]
		b.TooNoisy = b.Floor < 0 || b.Floor > margin
	}
	return n
}

// Floors are the noise floors by benchmark; unknown floors (no finite A/A
// interval) are +Inf: such a benchmark can never be called a regression,
// and the gate says why.
func (n *Noise) Floors() map[results.Name]float64 {
	m := map[results.Name]float64{}
	for _, b := range n.Benchmarks {
		if b.Floor < 0 {
			m[b.Name] = math.Inf(1)
		} else {
			m[b.Name] = b.Floor
		}
	}
	return m
}

// LoadNoise reads a noise file written by a calibration, refusing other
// documents with a reason naming what the file is.
func LoadNoise(path string) (*Noise, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("compare: noise file: %w", err)
	}
	var probe struct {
		SchemaVersion *int   `json:"schema_version"`
		Kind          string `json:"kind"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("compare: %s is not a noise file (from ipcbench gate --aa): %v", path, err)
	}
	if probe.Kind != KindNoise || probe.SchemaVersion == nil {
		what := "not a noise file"
		if probe.Kind != "" {
			kind := results.Clean(probe.Kind) // from the file
			what = article(kind) + " " + kind + " document, not a noise file"
		} else if probe.SchemaVersion != nil {
			what = "a results document, not a noise file"
		}
		return nil, fmt.Errorf("compare: %s is %s (write one with ipcbench gate --aa --noise FILE)", path, what)
	}
	if *probe.SchemaVersion > GateSchemaVersion || *probe.SchemaVersion < 1 {
		return nil, fmt.Errorf("compare: %s: noise file version %d is not supported (1..%d)", path, *probe.SchemaVersion, GateSchemaVersion)
	}
	var n Noise
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("compare: %s: corrupt noise file: %w", path, err)
	}
	return &n, nil
}

// article is "an" before a vowel ("an ipcbench-gate document"), else "a".
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}

// EncodeNoise is the noise file's bytes.
func EncodeNoise(n *Noise) ([]byte, error) {
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("compare: encode noise: %w", err)
	}
	return append(b, '\n'), nil
}

// ErrNoCommon is returned when two runs or arms share no benchmark.
var ErrNoCommon = errors.New("no benchmark in common")
