package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// hostAPIPath is where the control plane serves the host API.
const hostAPIPath = "/host/v1"

type agentFlags struct {
	control, token, caCert                             string
	user, password, userDomain, project, projectDomain string
	dataDir, hostName, hostIP, availabilityZone        string
	networkNode                                        bool
	logFormat, logLevel                                string
}

func agentCmd() *cobra.Command {
	f := agentFlags{}
	cmd := &cobra.Command{
		Use:   "agent --control URL (--token T | --user U --password P)",
		Short: "Run a host agent that joins this machine to a Nubo control plane",
		Long: "Run a host agent on this machine: it registers the host (capacity, underlay address) with the control\n" +
			"plane at --control, long-polls the host's desired state and converges servers, disks, volumes and (on a\n" +
			"network node) routers and DHCP towards it. It authenticates with a token (--token) or with Keystone\n" +
			"credentials of a user holding the admin role (--user/--password/--project), re-authenticating when the\n" +
			"token expires. Stopping the agent (SIGINT/SIGTERM) leaves the guests running; the next start re-adopts them.",
		Example: "  NUBO_AGENT_PASSWORD=… nubo agent --control http://10.0.0.1:8770 --user admin --host-ip 10.0.0.2\n" +
			"  nubo agent --control https://cloud.example:8770 --cacert ca.pem --token \"$TOKEN\" --network-node",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runAgent(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.control, "control", "", "base URL of the control plane, e.g. http://10.0.0.1:8770 (required)")
	fl.StringVar(&f.token, "token", "", "token to authenticate with (env NUBO_AGENT_TOKEN); or use --user/--password")
	fl.StringVar(&f.user, "user", "", "Keystone user to authenticate as (needs the admin role)")
	fl.StringVar(&f.password, "password", "", "password of --user (env NUBO_AGENT_PASSWORD)")
	fl.StringVar(&f.userDomain, "user-domain", "Default", "domain of --user")
	fl.StringVar(&f.project, "project", "admin", "project to scope the token to")
	fl.StringVar(&f.projectDomain, "project-domain", "Default", "domain of --project")
	fl.StringVar(&f.caCert, "cacert", "", "PEM file of the CA that signed the control plane's certificate (https)")
	fl.StringVar(&f.dataDir, "data-dir", filepath.Join(defaultDataDir(), "agent"), "where the agent keeps images and the servers' disks")
	fl.StringVar(&f.hostName, "host-name", "", "name the host registers under (default: the machine's hostname)")
	fl.StringVar(&f.hostIP, "host-ip", "", "underlay address other hosts reach this one on (default: the address that routes to --control)")
	fl.StringVar(&f.availabilityZone, "availability-zone", "", "availability zone of the host (default: the control plane's)")
	fl.BoolVar(&f.networkNode, "network-node", false, "also serve routers, DHCP and metadata from this host")
	fl.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func runAgent(cmd *cobra.Command, f agentFlags) error {
	log, err := newLogger(f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	// Secrets from the environment are not flag defaults, which --help
	// would print.
	if f.token == "" {
		f.token = os.Getenv("NUBO_AGENT_TOKEN")
	}
	if f.password == "" {
		f.password = os.Getenv("NUBO_AGENT_PASSWORD")
	}
	control, err := controlURL(f.control)
	if err != nil {
		return err
	}
	switch {
	case f.token != "" && f.user != "":
		return errors.New("give --token or --user/--password, not both")
	case f.token == "" && f.user == "":
		return errors.New("--token or --user/--password is required")
	case f.user != "" && f.password == "":
		return errors.New("--password (or NUBO_AGENT_PASSWORD) is required with --user")
	}
	dataDir, err := filepath.Abs(f.dataDir)
	if err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	hc, err := httpClient(f.caCert)
	if err != nil {
		return err
	}
	var tokens hostapi.TokenSource = hostapi.StaticToken(f.token)
	if f.user != "" {
		tokens = &keystoneTokens{
			authURL: control + "/identity/v3/auth/tokens", hc: hc,
			user: f.user, password: f.password, userDomain: f.userDomain,
			project: f.project, projectDomain: f.projectDomain,
		}
	}
	ctl, err := hostapi.NewClient(control+hostAPIPath, tokens, hc)
	if err != nil {
		return err
	}
	ctl.UserAgent = "nubo-agent/" + version

	host, err := detectHost(f, control, dataDir)
	if err != nil {
		return err
	}
	log.Info("nubo agent starting", "control", control, "host", host.Name, "host_ip", host.HostIP,
		"network_node", host.NetworkNode, "data_dir", dataDir, "version", version)

	a, err := newHostAgent(ctx, host, ctl, dataDir, log)
	if err != nil {
		return err
	}
	defer a.Close()
	// Run returns nil when ctx ends and leaves the guests running.
	err = a.Run(ctx)
	log.Info("nubo agent stopped")
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// controlURL checks --control and returns it without a trailing slash.
func controlURL(s string) (string, error) {
	if s == "" {
		return "", errors.New("--control is required (the control plane's base URL, e.g. http://10.0.0.1:8770)")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--control %q is not an http(s) URL", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// httpClient has no overall timeout: the host API client bounds its own
// calls, and image transfers last as long as they need.
func httpClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificate found", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}, nil
}

// detectHost describes this machine from the flags and what it can see.
func detectHost(f agentFlags, control, dataDir string) (hostapi.Host, error) {
	h := hostapi.Host{Name: f.hostName, HostIP: f.hostIP, AvailabilityZone: f.availabilityZone, NetworkNode: f.networkNode, HypervisorType: "QEMU"}
	if h.Name == "" {
		name, err := os.Hostname()
		if err != nil {
			return h, fmt.Errorf("--host-name not given and the hostname is unknown: %w", err)
		}
		h.Name = name
	}
	h.HypervisorHostname = h.Name
	if h.HostIP == "" {
		ip, err := routeTo(control)
		if err != nil {
			return h, fmt.Errorf("--host-ip not given and no route to %s: %w", control, err)
		}
		h.HostIP = ip
	} else if net.ParseIP(h.HostIP) == nil {
		return h, fmt.Errorf("--host-ip %q is not an IP address", h.HostIP)
	}
	h.VCPUs = runtime.NumCPU()
	if mb, err := memTotalMB(); err == nil {
		h.MemoryMB = mb
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dataDir, &st); err == nil {
		h.DiskGB = int64(st.Blocks) * st.Bsize >> 30
	}
	h.CPUInfo = map[string]any{"arch": runtime.GOARCH}
	return h, nil
}

// routeTo returns the local address the kernel would use to reach the
// control plane (no packet is sent: UDP "connects" only pick a route).
func routeTo(control string) (string, error) {
	u, err := url.Parse(control)
	if err != nil {
		return "", err
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	c, err := net.Dial("udp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
}

// memTotalMB reads MemTotal from /proc/meminfo.
func memTotalMB() (int64, error) {
	fh, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb >> 10, nil
		}
	}
	return 0, errors.New("no MemTotal in /proc/meminfo")
}

// keystoneTokens is a hostapi.TokenSource that gets project-scoped tokens
// with Keystone password authentication, and gets a new one shortly before
// the current one expires or after the host API refused it.
type keystoneTokens struct {
	authURL                                            string
	hc                                                 *http.Client
	user, password, userDomain, project, projectDomain string

	mu        sync.Mutex
	tok       string
	refreshAt time.Time        // a little before the token expires
	now       func() time.Time // for tests
}

// tokenMargin is how long before its expiry a token is replaced (or a
// tenth of its lifetime, if that is shorter).
const tokenMargin = 2 * time.Minute

func (k *keystoneTokens) clock() time.Time {
	if k.now != nil {
		return k.now()
	}
	return time.Now()
}

// Token implements hostapi.TokenSource.
func (k *keystoneTokens) Token(ctx context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.clock()
	if k.tok != "" && now.Before(k.refreshAt) {
		return k.tok, nil
	}
	tok, exp, err := k.authenticate(ctx)
	if err != nil {
		return "", err
	}
	k.tok, k.refreshAt = tok, exp.Add(-min(tokenMargin, exp.Sub(now)/10))
	return tok, nil
}

// Invalidate implements hostapi.TokenSource.
func (k *keystoneTokens) Invalidate(tok string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if tok == k.tok {
		k.tok = ""
	}
}

type nameInDomain struct {
	Name   string `json:"name"`
	Domain struct {
		Name string `json:"name"`
	} `json:"domain"`
}

func (k *keystoneTokens) authenticate(ctx context.Context) (string, time.Time, error) {
	var body struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						nameInDomain
						Password string `json:"password"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project nameInDomain `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	id := &body.Auth.Identity
	id.Methods = []string{"password"}
	id.Password.User.Name, id.Password.User.Domain.Name, id.Password.User.Password = k.user, k.userDomain, k.password
	body.Auth.Scope.Project.Name, body.Auth.Scope.Project.Domain.Name = k.project, k.projectDomain
	b, err := json.Marshal(body)
	if err != nil {
		return "", time.Time{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.authURL, bytes.NewReader(b))
	if err != nil {
		return "", time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := k.hc.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("keystone: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(data))
		var fault struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &fault) == nil && fault.Error.Message != "" {
			msg = fault.Error.Message
		}
		return "", time.Time{}, fmt.Errorf("keystone: authenticate %s in project %s: %d %s", k.user, k.project, resp.StatusCode, msg)
	}
	tok := resp.Header.Get("X-Subject-Token")
	if tok == "" {
		return "", time.Time{}, errors.New("keystone: no X-Subject-Token in the answer")
	}
	var out struct {
		Token struct {
			ExpiresAt string `json:"expires_at"`
		} `json:"token"`
	}
	exp := k.clock().Add(time.Hour) // if Keystone does not say
	if json.Unmarshal(data, &out) == nil {
		if t, err := time.Parse(time.RFC3339Nano, out.Token.ExpiresAt); err == nil {
			exp = t
		}
	}
	return tok, exp, nil
}
