package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// IdentityConfig configures RunIdentitySuite.
type IdentityConfig struct {
	// BaseURL is http://HOST:PORT; the API is at BaseURL+IdentityPath.
	BaseURL string
	// PID is the server's process id, 0 if unknown (then no CPU or RSS
	// figures are reported).
	PID int
	// ServerDesc describes the server in the report header.
	ServerDesc string

	// User, UserDomain, Project and ProjectDomain default to admin,
	// Default, admin, Default.
	User, UserDomain       string
	Project, ProjectDomain string
	Password               string
	// BcryptCost is the server's bcrypt cost, used for the floor.
	BcryptCost int
	// BcryptRuns is how many CompareHashAndPassword calls the floor is
	// averaged over (default 10).
	BcryptRuns int

	Concurrency      []int
	Warmup, Duration time.Duration
	// Settle is how long after the start of the suite the idle RSS is
	// read (the bcrypt floor is measured meanwhile).
	Settle time.Duration
	// RSSInterval is the RSS sampling interval under load (default 200ms).
	RSSInterval time.Duration
	// Scenarios restricts the scenarios run (by key); empty means all.
	Scenarios []string

	// Progress receives one line per run; may be nil.
	Progress io.Writer
}

// Scenario keys, in the order they are run.
const (
	ScenarioPasswordIssue = "password-issue"
	ScenarioTokenIssue    = "token-issue"
	ScenarioValidate      = "validate"
	ScenarioProjectList   = "project-list"
)

// ScenarioKeys lists every scenario key in run order.
var ScenarioKeys = []string{ScenarioPasswordIssue, ScenarioTokenIssue, ScenarioValidate, ScenarioProjectList}

var scenarioNames = map[string]string{
	ScenarioPasswordIssue: "token issue (password)",
	ScenarioTokenIssue:    "token issue (token)",
	ScenarioValidate:      "token validate",
	ScenarioProjectList:   "project list",
}

// RunReport is the measurement of one scenario at one concurrency.
type RunReport struct {
	Scenario string // key
	Name     string
	Result   *Result
	Summary  Summary
	// ServerCPU is the server's CPU time over ServerWall, the wall time
	// between the two readings at the window boundaries. Valid if
	// ServerCPUErr is nil and the PID is known.
	ServerCPU    time.Duration
	ServerWall   time.Duration
	ServerCPUErr error
	// ClientCPU is the benchmark process's own CPU time over ServerWall.
	ClientCPU time.Duration
	// MachineCPU is the CPU time of the whole machine over ServerWall
	// (0 if /proc/stat could not be read).
	MachineCPU time.Duration
	// MaxRSS is the maximum server RSS sampled during the run (warm-up
	// included), in bytes.
	MaxRSS int64
}

// Cores is the average number of cores the server used.
func (r *RunReport) Cores() float64 {
	if r.ServerWall <= 0 {
		return 0
	}
	return r.ServerCPU.Seconds() / r.ServerWall.Seconds()
}

// ClientCores is the average number of cores the benchmark itself used.
func (r *RunReport) ClientCores() float64 {
	if r.ServerWall <= 0 {
		return 0
	}
	return r.ClientCPU.Seconds() / r.ServerWall.Seconds()
}

// OtherCores is the average number of cores used by processes other than
// the server and the benchmark (other load on a shared machine); it is
// only meaningful when the server's CPU was measured.
func (r *RunReport) OtherCores() float64 {
	if r.ServerWall <= 0 || r.MachineCPU <= 0 {
		return 0
	}
	return max(0, (r.MachineCPU-r.ServerCPU-r.ClientCPU).Seconds()/r.ServerWall.Seconds())
}

// CPUPerRequest is the server CPU time per successful request.
func (r *RunReport) CPUPerRequest() (time.Duration, bool) {
	if r.ServerCPUErr != nil || r.ServerWall <= 0 || r.Result.OK == 0 {
		return 0, false
	}
	return r.ServerCPU / time.Duration(r.Result.OK), true
}

// IdentityReport is the outcome of RunIdentitySuite.
type IdentityReport struct {
	Config     IdentityConfig
	Started    time.Time
	ClockTicks int64
	// LoadAvg is the first three fields of /proc/loadavg at the start.
	LoadAvg string
	Runs    []RunReport

	IdleRSS    int64
	IdleRSSErr error
	// MaxRSS is the maximum RSS sampled under load, in MaxRSSRun.
	MaxRSS    int64
	MaxRSSRun string

	// BcryptFloor is the mean CPU time of one
	// bcrypt.CompareHashAndPassword at Config.BcryptCost.
	BcryptFloor time.Duration
}

type identityAuth struct {
	Auth struct {
		Identity struct {
			Methods  []string      `json:"methods"`
			Password *authPassword `json:"password,omitempty"`
			Token    *authToken    `json:"token,omitempty"`
		} `json:"identity"`
		Scope struct {
			Project authNamed `json:"project"`
		} `json:"scope"`
	} `json:"auth"`
}

type authPassword struct {
	User struct {
		authNamed
		Password string `json:"password"`
	} `json:"user"`
}

type authToken struct {
	ID string `json:"id"`
}

type authNamed struct {
	Name   string `json:"name"`
	Domain struct {
		Name string `json:"name"`
	} `json:"domain"`
}

func named(name, domain string) authNamed {
	n := authNamed{Name: name}
	n.Domain.Name = domain
	return n
}

func (c *IdentityConfig) defaults() {
	if c.User == "" {
		c.User = "admin"
	}
	if c.UserDomain == "" {
		c.UserDomain = "Default"
	}
	if c.Project == "" {
		c.Project = "admin"
	}
	if c.ProjectDomain == "" {
		c.ProjectDomain = "Default"
	}
	if c.BcryptRuns <= 0 {
		c.BcryptRuns = 10
	}
	if c.BcryptCost <= 0 {
		c.BcryptCost = bcrypt.DefaultCost
	}
	if c.RSSInterval <= 0 {
		c.RSSInterval = 200 * time.Millisecond
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	c.BaseURL = strings.TrimSuffix(c.BaseURL, IdentityPath)
}

// PasswordAuthBody is the project-scoped password authentication request.
func (c *IdentityConfig) PasswordAuthBody() []byte {
	var a identityAuth
	a.Auth.Identity.Methods = []string{"password"}
	a.Auth.Identity.Password = &authPassword{}
	a.Auth.Identity.Password.User.authNamed = named(c.User, c.UserDomain)
	a.Auth.Identity.Password.User.Password = c.Password
	a.Auth.Scope.Project = named(c.Project, c.ProjectDomain)
	b, _ := json.Marshal(a)
	return b
}

// TokenAuthBody is the project-scoped token authentication request.
func (c *IdentityConfig) TokenAuthBody(token string) []byte {
	var a identityAuth
	a.Auth.Identity.Methods = []string{"token"}
	a.Auth.Identity.Token = &authToken{ID: token}
	a.Auth.Scope.Project = named(c.Project, c.ProjectDomain)
	b, _ := json.Marshal(a)
	return b
}

func checkSubjectToken(resp *http.Response, _ []byte) error {
	if resp.Header.Get("X-Subject-Token") == "" {
		return errors.New("no X-Subject-Token header")
	}
	return nil
}

// IssueToken authenticates with body and returns the X-Subject-Token.
func IssueToken(ctx context.Context, client *http.Client, baseURL string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+IdentityPath+"/auth/tokens", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("bench: token issue: status %s (want 201): %s", resp.Status, strings.TrimSpace(string(b)))
	}
	tok := resp.Header.Get("X-Subject-Token")
	if tok == "" {
		return "", errors.New("bench: token issue: no X-Subject-Token header")
	}
	return tok, nil
}

// BcryptFloor returns the mean CPU time (of this process, via getrusage)
// of one successful bcrypt.CompareHashAndPassword at cost, over runs
// calls. The hash is made beforehand and one untimed call warms up.
func BcryptFloor(password string, cost, runs int) (time.Duration, error) {
	pw := []byte(password)
	hash, err := bcrypt.GenerateFromPassword(pw, cost)
	if err != nil {
		return 0, err
	}
	if err := bcrypt.CompareHashAndPassword(hash, pw); err != nil {
		return 0, err
	}
	runs = max(runs, 1)
	before, err := SelfCPUTime()
	if err != nil {
		return 0, err
	}
	for range runs {
		if err := bcrypt.CompareHashAndPassword(hash, pw); err != nil {
			return 0, err
		}
	}
	after, err := SelfCPUTime()
	if err != nil {
		return 0, err
	}
	return (after - before) / time.Duration(runs), nil
}

func (c *IdentityConfig) request(key, t1, t2 string) Request {
	api := c.BaseURL + IdentityPath
	json := http.Header{"Content-Type": {"application/json"}}
	switch key {
	case ScenarioPasswordIssue:
		return Request{Method: http.MethodPost, URL: api + "/auth/tokens", Header: json,
			Body: c.PasswordAuthBody(), ExpectStatus: http.StatusCreated, Check: checkSubjectToken}
	case ScenarioTokenIssue:
		return Request{Method: http.MethodPost, URL: api + "/auth/tokens", Header: json,
			Body: c.TokenAuthBody(t1), ExpectStatus: http.StatusCreated, Check: checkSubjectToken}
	case ScenarioValidate:
		return Request{Method: http.MethodGet, URL: api + "/auth/tokens",
			Header:       http.Header{"X-Auth-Token": {t1}, "X-Subject-Token": {t2}},
			ExpectStatus: http.StatusOK}
	case ScenarioProjectList:
		return Request{Method: http.MethodGet, URL: api + "/projects",
			Header: http.Header{"X-Auth-Token": {t1}}, ExpectStatus: http.StatusOK}
	}
	panic("bench: unknown scenario " + key)
}

// RunIdentitySuite measures the bcrypt floor and the server's idle RSS,
// obtains two tokens, then runs every scenario at every concurrency.
func RunIdentitySuite(ctx context.Context, cfg IdentityConfig) (*IdentityReport, error) {
	cfg.defaults()
	if len(cfg.Concurrency) == 0 {
		return nil, errors.New("bench: no concurrency levels")
	}
	keys := ScenarioKeys
	if len(cfg.Scenarios) > 0 {
		keys = nil
		for _, k := range ScenarioKeys {
			for _, want := range cfg.Scenarios {
				if k == want {
					keys = append(keys, k)
				}
			}
		}
		for _, want := range cfg.Scenarios {
			if _, ok := scenarioNames[want]; !ok {
				return nil, fmt.Errorf("bench: unknown scenario %q (have %s)", want, strings.Join(ScenarioKeys, ", "))
			}
		}
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	rep := &IdentityReport{Config: cfg, Started: time.Now(), ClockTicks: ClockTicks()}
	rep.LoadAvg = "n/a"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			rep.LoadAvg = strings.Join(f[:3], " ")
		}
	}

	// The bcrypt floor runs while the freshly started server settles.
	fmt.Fprintf(progress, "measuring bcrypt floor (cost %d, %d runs)...\n", cfg.BcryptCost, cfg.BcryptRuns)
	floor, err := BcryptFloor(cfg.Password, cfg.BcryptCost, cfg.BcryptRuns)
	if err != nil {
		return nil, fmt.Errorf("bench: bcrypt floor: %w", err)
	}
	rep.BcryptFloor = floor
	fmt.Fprintf(progress, "bcrypt floor: %s CPU-ms\n", fmtMS(floor))
	if wait := time.Until(rep.Started.Add(cfg.Settle)); wait > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	if cfg.PID > 0 {
		rep.IdleRSS, rep.IdleRSSErr = ReadRSS(cfg.PID)
	} else {
		rep.IdleRSSErr = errors.New("server PID unknown")
	}

	maxC := 1
	for _, c := range cfg.Concurrency {
		maxC = max(maxC, c)
	}
	tr := NewTransport(maxC)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}

	t1, err := IssueToken(ctx, client, cfg.BaseURL, cfg.PasswordAuthBody())
	if err != nil {
		return nil, err
	}
	t2, err := IssueToken(ctx, client, cfg.BaseURL, cfg.PasswordAuthBody())
	if err != nil {
		return nil, err
	}

	total := len(keys) * len(cfg.Concurrency)
	for _, key := range keys {
		for _, c := range cfg.Concurrency {
			rr := RunReport{Scenario: key, Name: scenarioNames[key]}
			var cpu0, self0, mach0 time.Duration
			var wall0 time.Time
			var sampler *RSSSampler
			if cfg.PID > 0 {
				sampler = StartRSSSampler(cfg.PID, cfg.RSSInterval)
			}
			run := Config{
				Client:      client,
				Concurrency: c,
				Warmup:      cfg.Warmup,
				Duration:    cfg.Duration,
				Request:     cfg.request(key, t1, t2),
				WindowStart: func() {
					wall0 = time.Now()
					self0, _ = SelfCPUTime()
					mach0, _ = ReadMachineCPU()
					if cfg.PID > 0 {
						cpu0, rr.ServerCPUErr = ReadCPUTime(cfg.PID)
					}
				},
				WindowEnd: func() {
					var cpu1 time.Duration
					var err error
					if cfg.PID > 0 {
						cpu1, err = ReadCPUTime(cfg.PID)
					} else {
						err = errors.New("server PID unknown")
					}
					self1, _ := SelfCPUTime()
					if mach1, err := ReadMachineCPU(); err == nil && mach0 > 0 {
						rr.MachineCPU = mach1 - mach0
					}
					rr.ServerWall = time.Since(wall0)
					rr.ClientCPU = self1 - self0
					if rr.ServerCPUErr == nil {
						rr.ServerCPUErr = err
					}
					rr.ServerCPU = cpu1 - cpu0
				},
			}
			res, err := Run(ctx, run)
			if sampler != nil {
				rr.MaxRSS, _, _ = sampler.Stop()
			}
			if err != nil {
				return nil, err
			}
			rr.Result = res
			rr.Summary = Summarize(res.Latencies)
			if rr.MaxRSS > rep.MaxRSS {
				rep.MaxRSS = rr.MaxRSS
				rep.MaxRSSRun = fmt.Sprintf("%s, c=%d", rr.Name, c)
			}
			rep.Runs = append(rep.Runs, rr)
			fmt.Fprintf(progress, "[%d/%d] %s\n", len(rep.Runs), total, rr.progressLine())
		}
	}
	return rep, nil
}

func (r *RunReport) progressLine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s c=%d: %s req/s, p50 %s ms, p99 %s ms, %d errors",
		r.Name, r.Result.Concurrency, fmtRate(r.Result.Throughput()),
		fmtMS(r.Summary.P50), fmtMS(r.Summary.P99), r.Result.Errors)
	if r.ServerCPUErr == nil {
		fmt.Fprintf(&b, ", server %.2f cores", r.Cores())
	}
	if cpr, ok := r.CPUPerRequest(); ok {
		fmt.Fprintf(&b, ", %s CPU-ms/req", fmtMS(cpr))
	}
	fmt.Fprintf(&b, ", bench client %.2f cores", r.ClientCores())
	if r.ServerCPUErr == nil && r.MachineCPU > 0 {
		fmt.Fprintf(&b, ", other processes %.2f cores", r.OtherCores())
	}
	if r.Result.Errors > 0 {
		fmt.Fprintf(&b, " [%s]", r.Result.ErrorSummary())
	}
	return b.String()
}
