// Command nubo-bench benchmarks the Identity (Keystone v3 compatible) API
// of a Nubo server and prints a markdown report.
//
// It either starts the server itself:
//
//	nubo-bench --nubo /tmp/nubo [--bcrypt-cost 12] [--duration 10s] [--warmup 2s] [--concurrency 1,8]
//
// which runs `nubo up` on a temporary data directory and a free loopback
// port and kills it at the end, or measures an already running server
// whose admin password and PID are given:
//
//	nubo-bench --url http://127.0.0.1:5000 --pid 1234 --password PASS
//
// Each scenario (password token issue, token-method token issue, token
// validation, project list) runs closed loop at every concurrency level.
// See package internal/bench for the method.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nubo-cloud/nubo/internal/bench"
)

type options struct {
	nubo         string
	url          string
	pid          int
	password     string
	bcryptCost   int
	duration     time.Duration
	warmup       time.Duration
	settle       time.Duration
	concurrency  []int
	scenarios    []string
	readyTimeout time.Duration
	bcryptRuns   int
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("nubo-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.nubo, "nubo", "", "path of the nubo binary to start with `nubo up` (temporary data dir, free loopback port)")
	fs.StringVar(&o.url, "url", "", "base URL of an already running server, e.g. http://127.0.0.1:5000 (instead of --nubo)")
	fs.IntVar(&o.pid, "pid", 0, "PID of the already running server given by --url (for CPU and RSS)")
	fs.StringVar(&o.password, "password", "nubo-bench-admin-secret", "admin password (passed to nubo up with --nubo)")
	fs.IntVar(&o.bcryptCost, "bcrypt-cost", 12, "bcrypt cost (passed to nubo up with --nubo; used for the bcrypt floor)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured duration of each run")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up of each run, not recorded")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "wait after the server is ready before reading its idle RSS")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 60*time.Second, "how long to wait for a started server to answer")
	fs.IntVar(&o.bcryptRuns, "bcrypt-runs", 10, "bcrypt checks averaged for the floor")
	conc := fs.String("concurrency", "1,8", "comma-separated concurrency levels")
	scen := fs.String("scenarios", "", "comma-separated subset of scenarios ("+strings.Join(bench.ScenarioKeys, ",")+"); default all")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var err error
	if o.concurrency, err = parseConcurrency(*conc); err != nil {
		return nil, err
	}
	if *scen != "" {
		for s := range strings.SplitSeq(*scen, ",") {
			o.scenarios = append(o.scenarios, strings.TrimSpace(s))
		}
	}
	switch {
	case o.nubo != "" && o.url != "":
		return nil, errors.New("give either --nubo or --url, not both")
	case o.nubo == "" && o.url == "":
		return nil, errors.New("give --nubo PATH (start a server) or --url URL --pid PID (running server)")
	case o.nubo != "" && o.pid != 0:
		return nil, errors.New("--pid only goes with --url")
	}
	if o.duration <= 0 || o.warmup < 0 {
		return nil, errors.New("--duration must be > 0 and --warmup >= 0")
	}
	if o.bcryptCost < 4 || o.bcryptCost > 31 {
		return nil, fmt.Errorf("--bcrypt-cost %d outside 4..31", o.bcryptCost)
	}
	return o, nil
}

func parseConcurrency(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad concurrency %q in %q", f, s)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no concurrency level in %q", s)
	}
	return out, nil
}

func run(ctx context.Context, o *options, stdout, stderr io.Writer) (err error) {
	cfg := bench.IdentityConfig{
		BaseURL:     o.url,
		PID:         o.pid,
		Password:    o.password,
		BcryptCost:  o.bcryptCost,
		BcryptRuns:  o.bcryptRuns,
		Concurrency: o.concurrency,
		Warmup:      o.warmup,
		Duration:    o.duration,
		Settle:      o.settle,
		Scenarios:   o.scenarios,
		Progress:    stderr,
	}
	if o.nubo != "" {
		fmt.Fprintf(stderr, "starting %s up (bcrypt cost %d)...\n", o.nubo, o.bcryptCost)
		srv, err := bench.StartNubo(ctx, o.nubo, bench.NuboOptions{
			AdminPassword: o.password,
			BcryptCost:    o.bcryptCost,
			ReadyTimeout:  o.readyTimeout,
			// Identity only: no host agent touches this machine.
			Args: []string{"--compute-driver", "fake"},
		})
		if err != nil {
			return err
		}
		defer func() {
			select {
			case <-srv.Exited():
				err = errors.Join(err, fmt.Errorf("nubo exited during the benchmark; log tail:\n%s", srv.LogTail(4096)))
			default:
			}
			if serr := srv.Stop(); serr != nil {
				err = errors.Join(err, serr)
			}
		}()
		fmt.Fprintf(stderr, "nubo ready at %s (pid %d)\n", srv.BaseURL, srv.PID)
		cfg.BaseURL, cfg.PID = srv.BaseURL, srv.PID
		cfg.ServerDesc = fmt.Sprintf("`%s up` started by nubo-bench", o.nubo)
	} else {
		if o.pid == 0 {
			fmt.Fprintln(stderr, "warning: no --pid: server CPU and RSS are not measured")
		}
		cfg.ServerDesc = "running server"
		cfg.Settle = 0
		if err := bench.WaitReady(ctx, strings.TrimSuffix(strings.TrimRight(o.url, "/"), bench.IdentityPath), 5*time.Second, nil); err != nil {
			return err
		}
	}
	rep, err := bench.RunIdentitySuite(ctx, cfg)
	if err != nil {
		return err
	}
	return rep.WriteMarkdown(stdout)
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "nubo-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "nubo-bench:", err)
		stop()
		os.Exit(1)
	}
}
