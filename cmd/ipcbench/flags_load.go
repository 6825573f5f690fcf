package main

import (
	"time"

	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/scenarios"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// loadFlags are the load group's flags (open loop).
type loadFlags struct {
	rate      string
	arrivals  string
	slo       string
	window    int
	spinAhead string

	flags *pflag.FlagSet // to tell a --window given from its default
}

func addLoadFlags(c *cobra.Command, f *loadFlags) {
	fl := c.Flags()
	f.flags = fl
	fl.StringVar(&f.rate, "rate", "", "load: offered rates per second, e.g. 1k,20k,1.5M (k thousands, M millions) (default: a 1-3-10 sweep, 1k/s to 1M/s and 100/s to 1k/s for spawns, stepping past saturation; --full: 1-2-5 up to 5M/s)")
	fl.StringVar(&f.arrivals, "arrivals", "", "load: arrival process, constant (t_k = k/R) or poisson; both: constant,poisson (default constant)")
	fl.StringVar(&f.slo, "slo", "", "load: latency objective a rate must meet to count as sustainable, e.g. p99=50us or p99=50us,p99.9=1ms,lag=20us (default: not saturated and on schedule is enough)")
	fl.IntVar(&f.window, "window", 0, "load: operations in flight at most: messages (default 256), children alive for spawns (default 64)")
	fl.StringVar(&f.spinAhead, "spin-ahead", "auto", "load: the generator's busy wait before each start: auto (calibrated wake-up lateness), 0 (sleep only; any zero duration) or a duration up to 10ms like 50us")
}

// loadOptions validates the load flags into scenario options.
func loadOptions(f *loadFlags, o *scenarios.Options) error {
	if f.rate != "" {
		rates, err := units.ParseRateList(f.rate, units.RateCeiling(sys.ClockResolution()))
		if err != nil {
			return usagef("--rate: %v", err)
		}
		o.Rates = rates
	}
	var err error
	if o.Arrivals, err = acceptedList("--arrivals", "arrival process", f.arrivals, []string{results.ArrivalsConstant, results.ArrivalsPoisson}); err != nil {
		return err
	}
	if f.slo != "" {
		if o.SLO, err = units.ParseSLO(f.slo); err != nil {
			return usagef("--slo %q: %v", f.slo, err)
		}
	}
	// Not given: 0, the scenarios' default (256 messages, 64 children).
	// Given, it must be a window: --window 0 is refused, not the default.
	given := f.flags != nil && f.flags.Changed("window")
	if (given && f.window < 1) || f.window < 0 || f.window > scenarios.MaxWindow {
		return usagef("--window %d out of range (1..%d)", f.window, scenarios.MaxWindow)
	}
	o.Window = f.window
	switch f.spinAhead {
	case "", "auto":
	case "off", "none":
		o.SpinAhead = -1
	default:
		// Any zero duration (0, 0s, 0us) is 0: sleep only.
		d, err := time.ParseDuration(f.spinAhead)
		if err != nil || d < 0 || d > 10*time.Millisecond {
			return usagef("--spin-ahead %q: want auto, 0, or a duration up to 10ms like 50us", f.spinAhead)
		}
		o.SpinAhead = d
		if d == 0 {
			o.SpinAhead = -1
		}
	}
	return nil
}
