package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// NewTransport returns an http.Transport for closed-loop benchmarking over
// loopback: plain HTTP/1.1 with keep-alive, no proxy, no compression, and
// room for maxConns idle connections per host so that C workers never
// have to re-dial between requests.
func NewTransport(maxConns int) *http.Transport {
	maxConns = max(maxConns, 1)
	return &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:        2 * maxConns,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     5 * time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// Request describes the request every worker sends over and over.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// ExpectStatus is the only status code counted as a success.
	ExpectStatus int
	// Check, if set, is called on every response with the expected
	// status and its body; a non-nil error counts the request as an error.
	Check func(resp *http.Response, body []byte) error
}

// Config configures one closed-loop run.
type Config struct {
	// Client sends the requests. Share one client (one Transport) between
	// runs so that connections are reused; see NewTransport.
	Client      *http.Client
	Concurrency int
	// Warmup is run before the measured window and not recorded.
	Warmup time.Duration
	// Duration is the length of the measured window.
	Duration time.Duration
	Request  Request
	// WindowStart and WindowEnd, if set, are called as close as possible
	// to the start and the end of the measured window (for example to
	// read the server's CPU time). They run on the coordinating goroutine
	// while the workers keep sending requests.
	WindowStart func()
	WindowEnd   func()
	// MaxErrorKinds bounds the number of distinct error descriptions kept
	// (default 20); further kinds are folded into "other errors".
	MaxErrorKinds int
}

// Result is the outcome of a run. Only requests that completed inside the
// measured window are counted: OK holds the successes, whose latencies are
// all kept in Latencies (unsorted), and Errors the failures.
type Result struct {
	Concurrency int
	// Window is the length of the measured window.
	Window    time.Duration
	OK        int
	Errors    int
	Latencies []time.Duration
	// ErrorKinds counts the measured errors by description, e.g.
	// "status 401 (want 201)" or a transport error.
	ErrorKinds map[string]int
	// ErrorSamples holds, for error kinds that had a response, the start
	// of one response body (warm-up included).
	ErrorSamples map[string]string
	// WarmupOK and WarmupErrors count the requests of the warm-up.
	WarmupOK, WarmupErrors int
}

// Throughput is the number of successful requests per second of the
// measured window.
func (r *Result) Throughput() float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(r.OK) / r.Window.Seconds()
}

// ErrorSummary renders ErrorKinds on one line, most frequent first.
func (r *Result) ErrorSummary() string {
	kinds := slices.Collect(maps.Keys(r.ErrorKinds))
	slices.SortFunc(kinds, func(a, b string) int {
		if d := r.ErrorKinds[b] - r.ErrorKinds[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d× %s", r.ErrorKinds[k], k)
	}
	return strings.Join(parts, "; ")
}

type workerStats struct {
	lat              []time.Duration
	ok, errs         int
	warmOK, warmErrs int
	kinds            map[string]int
	samples          map[string]string
}

// Run executes a closed-loop run: cfg.Concurrency workers each send
// cfg.Request, wait for the complete response, and immediately send the
// next one, for cfg.Warmup plus cfg.Duration. A request belongs to the
// measured window if it completes inside it. Workers do not start new
// requests after the window; Run waits for the ones in flight. It returns
// an error only for an invalid configuration or a cancelled context.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Client == nil {
		return nil, errors.New("bench: Config.Client is nil")
	}
	if cfg.Concurrency < 1 {
		return nil, fmt.Errorf("bench: concurrency %d < 1", cfg.Concurrency)
	}
	if cfg.Duration <= 0 {
		return nil, fmt.Errorf("bench: duration %v <= 0", cfg.Duration)
	}
	if cfg.Request.ExpectStatus == 0 {
		return nil, errors.New("bench: Request.ExpectStatus is 0")
	}
	if _, err := http.NewRequest(cfg.Request.Method, cfg.Request.URL, nil); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	maxKinds := cfg.MaxErrorKinds
	if maxKinds <= 0 {
		maxKinds = 20
	}

	base := time.Now()
	start := max(cfg.Warmup, 0) // offsets from base
	end := start + cfg.Duration

	stats := make([]*workerStats, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range stats {
		ws := &workerStats{
			lat:     make([]time.Duration, 0, 1024),
			kinds:   make(map[string]int),
			samples: make(map[string]string),
		}
		stats[i] = ws
		wg.Go(func() { worker(ctx, cfg, base, start, end, maxKinds, ws) })
	}

	// Coordinator: call the window hooks at the window boundaries.
	sleepUntil := func(off time.Duration) bool {
		t := time.NewTimer(time.Until(base.Add(off)))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	if sleepUntil(start) {
		if cfg.WindowStart != nil {
			cfg.WindowStart()
		}
		if sleepUntil(end) && cfg.WindowEnd != nil {
			cfg.WindowEnd()
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	res := &Result{
		Concurrency:  cfg.Concurrency,
		Window:       cfg.Duration,
		ErrorKinds:   make(map[string]int),
		ErrorSamples: make(map[string]string),
	}
	n := 0
	for _, ws := range stats {
		n += len(ws.lat)
	}
	res.Latencies = make([]time.Duration, 0, n)
	for _, ws := range stats {
		res.Latencies = append(res.Latencies, ws.lat...)
		res.OK += ws.ok
		res.Errors += ws.errs
		res.WarmupOK += ws.warmOK
		res.WarmupErrors += ws.warmErrs
		for k, v := range ws.kinds {
			res.ErrorKinds[k] += v
		}
		for k, v := range ws.samples {
			res.ErrorSamples[k] = v
		}
	}
	if len(res.ErrorKinds) > maxKinds {
		// Fold the rarest kinds so the report stays readable.
		kinds := slices.Collect(maps.Keys(res.ErrorKinds))
		slices.SortFunc(kinds, func(a, b string) int { return res.ErrorKinds[b] - res.ErrorKinds[a] })
		for _, k := range kinds[maxKinds:] {
			res.ErrorKinds["other errors"] += res.ErrorKinds[k]
			delete(res.ErrorKinds, k)
		}
	}
	return res, nil
}

func worker(ctx context.Context, cfg Config, base time.Time, start, end time.Duration, maxKinds int, ws *workerStats) {
	rq := cfg.Request
	var buf bytes.Buffer
	for ctx.Err() == nil && time.Since(base) < end {
		var body io.Reader
		if rq.Body != nil {
			body = bytes.NewReader(rq.Body)
		}
		req, err := http.NewRequestWithContext(ctx, rq.Method, rq.URL, body)
		if err != nil {
			panic(err) // validated by Run
		}
		for k, v := range rq.Header {
			req.Header[k] = v
		}

		t0 := time.Now()
		failure := ""
		resp, err := cfg.Client.Do(req)
		if err != nil {
			failure = transportError(err)
		} else {
			buf.Reset()
			_, rerr := buf.ReadFrom(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode != rq.ExpectStatus:
				failure = fmt.Sprintf("status %d (want %d)", resp.StatusCode, rq.ExpectStatus)
			case rerr != nil:
				failure = "reading body: " + transportError(rerr)
			case rq.Check != nil:
				if cerr := rq.Check(resp, buf.Bytes()); cerr != nil {
					failure = cerr.Error()
				}
			}
			if _, seen := ws.samples[failure]; failure != "" && !seen && len(ws.samples) < maxKinds {
				ws.samples[failure] = sampleBody(buf.Bytes())
			}
		}
		done := time.Now()
		if ctx.Err() != nil {
			return
		}

		off := done.Sub(base)
		switch {
		case off < start:
			if failure == "" {
				ws.warmOK++
			} else {
				ws.warmErrs++
			}
		case off <= end:
			if failure == "" {
				ws.ok++
				ws.lat = append(ws.lat, done.Sub(t0))
			} else {
				ws.errs++
				if _, seen := ws.kinds[failure]; seen || len(ws.kinds) < maxKinds {
					ws.kinds[failure]++
				} else {
					ws.kinds["other errors"]++
				}
			}
		}
		if failure != "" && err != nil {
			// Do not spin on a dead server: back off a little after a
			// transport error.
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// sampleBody returns the start of a response body on one line.
func sampleBody(b []byte) string {
	const limit = 300
	s := strings.Join(strings.Fields(string(bytes.ToValidUTF8(b, nil))), " ")
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "…"
	}
	return s
}

// transportError shortens a client error to a stable description (the URL
// is the same for every request of a run).
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return "transport: " + err.Error()
}
