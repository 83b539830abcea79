package bench

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Keystone anchor figures: the real Keystone 22.0.2 measured on the same
// kind of machine, 2 processes × 1 thread, at c=8.
const (
	AnchorConcurrency           = 8
	KeystonePasswordIssueRate   = 6.9
	KeystonePasswordCPUMSLow    = 264.0
	KeystonePasswordCPUMSHigh   = 295.0
	KeystoneValidateRate        = 40.7
	KeystoneProjectListRate     = 39.5
	KeystoneIdleRSSMiB          = 279.0
	TargetPasswordCPUOverBcrypt = 1.1
	TargetValidateRate          = 10000.0
	TargetProjectListRate       = 10000.0
	TargetIdleRSSBytes          = 40_000_000 // 40 MB
)

const mib = 1 << 20

// fmtMS renders a duration in milliseconds with about three significant
// digits.
func fmtMS(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 1:
		return strconv.FormatFloat(ms, 'f', 3, 64)
	case ms < 100:
		return strconv.FormatFloat(ms, 'f', 2, 64)
	default:
		return strconv.FormatFloat(ms, 'f', 1, 64)
	}
}

// fmtRate renders a rate with one decimal and thousands separators.
func fmtRate(r float64) string {
	s := strconv.FormatFloat(r, 'f', 1, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, ch := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return b.String() + "." + frac
}

func fmtMiB(b int64) string {
	return strconv.FormatFloat(float64(b)/mib, 'f', 1, 64)
}

func (rep *IdentityReport) find(key string, c int) *RunReport {
	for i := range rep.Runs {
		if r := &rep.Runs[i]; r.Scenario == key && r.Result.Concurrency == c {
			return r
		}
	}
	return nil
}

// BcryptRatio is the server's CPU time per request of r divided by the
// bcrypt floor.
func (rep *IdentityReport) BcryptRatio(r *RunReport) (float64, bool) {
	cpr, ok := r.CPUPerRequest()
	if !ok || rep.BcryptFloor <= 0 {
		return 0, false
	}
	return float64(cpr) / float64(rep.BcryptFloor), true
}

// WriteMarkdown renders the report.
func (rep *IdentityReport) WriteMarkdown(w io.Writer) error {
	cfg := rep.Config
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	p("## Nubo Identity (Keystone v3) benchmark\n\n")
	server := cfg.ServerDesc
	if server == "" {
		server = "server"
	}
	pid := "unknown"
	if cfg.PID > 0 {
		pid = strconv.Itoa(cfg.PID)
	}
	p("- server: %s, pid %s, %s%s\n", server, pid, cfg.BaseURL, IdentityPath)
	p("- %s, %s/%s, %d CPUs, load average at start %s, bcrypt cost %d\n", rep.Started.Format(time.RFC3339),
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), rep.LoadAvg, cfg.BcryptCost)
	p("- closed loop, HTTP/1.1 keep-alive over loopback; per run %v warm-up (not recorded) + %v measured; latencies of every successful request in the window\n", cfg.Warmup, cfg.Duration)
	p("- server CPU = utime+stime of /proc/PID/stat (%d ticks/s) over the measured window; errors = requests with an unexpected status or a transport error\n\n", rep.ClockTicks)

	p("| scenario | c | req/s | p50 ms | p99 ms | errors | server cores | CPU-ms/req |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for i := range rep.Runs {
		r := &rep.Runs[i]
		cores, cpr := "n/a", "n/a"
		if r.ServerCPUErr == nil && r.ServerWall > 0 {
			cores = strconv.FormatFloat(r.Cores(), 'f', 2, 64)
		}
		if v, ok := r.CPUPerRequest(); ok {
			cpr = fmtMS(v)
		}
		p("| %s | %d | %s | %s | %s | %d | %s | %s |\n", r.Name, r.Result.Concurrency,
			fmtRate(r.Result.Throughput()), fmtMS(r.Summary.P50), fmtMS(r.Summary.P99),
			r.Result.Errors, cores, cpr)
	}
	p("\n")

	if rep.IdleRSSErr == nil {
		p("- RSS idle (after start + %v settle): %s MiB\n", cfg.Settle, fmtMiB(rep.IdleRSS))
	} else {
		p("- RSS idle: n/a (%v)\n", rep.IdleRSSErr)
	}
	if rep.MaxRSS > 0 {
		p("- RSS max under load (sampled every %v): %s MiB (%s)\n", cfg.RSSInterval, fmtMiB(rep.MaxRSS), rep.MaxRSSRun)
	} else {
		p("- RSS max under load: n/a\n")
	}
	p("- bcrypt check floor: %s CPU-ms (bcrypt.CompareHashAndPassword, cost %d, mean of %d, benchmark-process CPU via getrusage)\n",
		fmtMS(rep.BcryptFloor), cfg.BcryptCost, cfg.BcryptRuns)
	var ratios []string
	for i := range rep.Runs {
		r := &rep.Runs[i]
		if r.Scenario != ScenarioPasswordIssue {
			continue
		}
		if ratio, ok := rep.BcryptRatio(r); ok {
			ratios = append(ratios, fmt.Sprintf("c=%d: %.2f×", r.Result.Concurrency, ratio))
		} else {
			ratios = append(ratios, fmt.Sprintf("c=%d: n/a", r.Result.Concurrency))
		}
	}
	if len(ratios) > 0 {
		p("- password token issue, server CPU-ms/req ÷ bcrypt check CPU-ms: %s\n", strings.Join(ratios, ", "))
	}
	var client, other []string
	for i := range rep.Runs {
		r := &rep.Runs[i]
		client = append(client, fmt.Sprintf("%s c=%d %.2f", r.Scenario, r.Result.Concurrency, r.ClientCores()))
		if r.ServerCPUErr == nil && r.MachineCPU > 0 {
			other = append(other, fmt.Sprintf("%s c=%d %.2f", r.Scenario, r.Result.Concurrency, r.OtherCores()))
		}
	}
	p("- benchmark client's own CPU (cores, same machine): %s\n", strings.Join(client, "; "))
	if len(other) > 0 {
		p("- CPU of other processes on the machine during the window (cores, /proc/stat minus server minus client; > 0.1 means the run was disturbed): %s\n", strings.Join(other, "; "))
	}
	for i := range rep.Runs {
		r := &rep.Runs[i]
		if r.Result.Errors > 0 || r.Result.WarmupErrors > 0 {
			p("- errors in %s c=%d: %d in window, %d in warm-up: %s\n", r.Name, r.Result.Concurrency,
				r.Result.Errors, r.Result.WarmupErrors, r.Result.ErrorSummary())
			for _, k := range slices.Sorted(maps.Keys(r.Result.ErrorSamples)) {
				if body := r.Result.ErrorSamples[k]; body != "" {
					p("  - %s, body: `%s`\n", k, strings.ReplaceAll(body, "`", "'"))
				}
			}
		}
	}
	p("\n")

	rep.writeAnchors(p)
	_, err := io.WriteString(w, b.String())
	return err
}

type verdict string

const (
	met         verdict = "met"
	notMet      verdict = "**not met**"
	notMeasured verdict = "not measured"
)

func (rep *IdentityReport) writeAnchors(p func(string, ...any)) {
	const c = AnchorConcurrency
	p("### Keystone 22.0.2 anchor (same machine kind, 2 processes × 1 thread) and Nubo targets\n\n")
	p("| metric | Keystone 22.0.2 | Nubo target | Nubo measured | target |\n")
	p("|---|---:|---:|---:|---|\n")

	rate := func(key string, keystone float64) (string, *RunReport) {
		r := rep.find(key, c)
		if r == nil {
			return "not run", nil
		}
		s := fmtRate(r.Result.Throughput())
		if r.Result.Throughput() > 0 {
			x := r.Result.Throughput() / keystone
			if x < 10 {
				s += fmt.Sprintf(" (%.1f× Keystone)", x)
			} else {
				s += fmt.Sprintf(" (%.0f× Keystone)", x)
			}
		}
		return s, r
	}
	rateVerdict := func(r *RunReport, target float64) verdict {
		switch {
		case r == nil:
			return notMeasured
		case r.Result.Errors > 0:
			return notMet + verdict(fmt.Sprintf(" (%d errors)", r.Result.Errors))
		case r.Result.Throughput() >= target:
			return met
		}
		return notMet
	}

	s, _ := rate(ScenarioPasswordIssue, KeystonePasswordIssueRate)
	p("| password token issue, req/s at c=%d | %.1f | – | %s | – |\n", c, KeystonePasswordIssueRate, s)

	// CPU target: judged on the worst measured concurrency.
	cpuMeasured, cpuVerdict := "not run", notMeasured
	worst, have := 0.0, false
	var worstRun *RunReport
	errs := 0
	for i := range rep.Runs {
		r := &rep.Runs[i]
		if r.Scenario != ScenarioPasswordIssue {
			continue
		}
		errs += r.Result.Errors
		if ratio, ok := rep.BcryptRatio(r); ok && (!have || ratio > worst) {
			worst, have, worstRun = ratio, true, r
		}
	}
	if have {
		cpr, _ := worstRun.CPUPerRequest()
		cpuMeasured = fmt.Sprintf("%s (%.2f× bcrypt, worst c=%d)", fmtMS(cpr), worst, worstRun.Result.Concurrency)
		switch {
		case errs > 0:
			cpuVerdict = notMet + verdict(fmt.Sprintf(" (%d errors)", errs))
		case worst <= TargetPasswordCPUOverBcrypt:
			cpuVerdict = met
		default:
			cpuVerdict = notMet
		}
	}
	p("| password token issue, server CPU-ms/req | %.0f–%.0f | ≤ %.1f× bcrypt check (≤ %s) | %s | %s |\n",
		KeystonePasswordCPUMSLow, KeystonePasswordCPUMSHigh, TargetPasswordCPUOverBcrypt,
		fmtMS(time.Duration(float64(rep.BcryptFloor)*TargetPasswordCPUOverBcrypt)), cpuMeasured, cpuVerdict)

	s, r := rate(ScenarioValidate, KeystoneValidateRate)
	p("| token validate, req/s at c=%d | %.1f | ≥ %s | %s | %s |\n", c, KeystoneValidateRate,
		strings.TrimSuffix(fmtRate(TargetValidateRate), ".0"), s, rateVerdict(r, TargetValidateRate))
	s, r = rate(ScenarioProjectList, KeystoneProjectListRate)
	p("| project list, req/s at c=%d | %.1f | ≥ %s | %s | %s |\n", c, KeystoneProjectListRate,
		strings.TrimSuffix(fmtRate(TargetProjectListRate), ".0"), s, rateVerdict(r, TargetProjectListRate))

	rssMeasured, rssVerdict := "n/a", notMeasured
	if rep.IdleRSSErr == nil {
		rssMeasured = fmt.Sprintf("%s MiB (%.1f MB)", fmtMiB(rep.IdleRSS), float64(rep.IdleRSS)/1e6)
		rssVerdict = notMet
		if rep.IdleRSS < TargetIdleRSSBytes {
			rssVerdict = met
		}
	}
	p("| RSS idle | %.0f MiB | < %d MB | %s | %s |\n", KeystoneIdleRSSMiB, TargetIdleRSSBytes/1_000_000, rssMeasured, rssVerdict)
}
