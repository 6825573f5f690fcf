// Package compare decides whether one set of measurements is slower than
// another, honestly enough for a CI gate: the statistics (Hodges-Lehmann
// shifts with distribution-free confidence intervals, Mann-Whitney and
// signed-rank tests, Holm-Bonferroni), the verdicts of `ipcbench compare`
// (two saved runs) and of `ipcbench gate` (base and head measured in one
// job, interleaved in rounds), the noise floors a calibration (A/A gate)
// saves, and the renderings of all of them.
//
// Like report, compare reads results only: it never imports the engine or
// the scenarios, and nothing here starts a process or reads a clock (the
// gate's rounds are run by cmd/ipcbench), so it is tested on synthetic
// data with known answers.
//
// Conventions. A change is the ratio head/base (or new/old) of a figure,
// shown as a relative change (+7% = 1.07×) and computed on log values, so
// that a slowdown and the matching speed-up are symmetric. Whether a
// larger figure is worse follows the unit (results.Metric.HigherIsBetter):
// ns/op and costs per op are better lower, MB/s and ops/s higher. The
// "badness" of a change is its log ratio oriented so that positive is
// worse; every threshold applies to badness.
package compare
