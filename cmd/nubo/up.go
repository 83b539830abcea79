package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/nubo-cloud/nubo/internal/cloud"
	"github.com/nubo-cloud/nubo/internal/consoleproxy"
	"github.com/nubo-cloud/nubo/internal/identity"
	"github.com/nubo-cloud/nubo/internal/logkey"
	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/store/postgres"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

type upFlags struct {
	dataDir, listen, publicURL, storeURL, adminPassword, region string
	logFormat, logLevel                                         string
	computeDriver, hostIP, noVNCDir                             string
	bcryptCost, lockoutAttempts, uniquePasswords, fakeHosts     int
	tokenTTL, lockoutDuration                                   time.Duration
}

func upCmd() *cobra.Command {
	f := upFlags{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the whole cloud on this machine",
		Long: "Run the whole cloud on this machine: every API on one listener, with an embedded SQLite store in the\n" +
			"data dir (or PostgreSQL with --store). The first start bootstraps an admin; later starts resume.",
		RunE: func(cmd *cobra.Command, args []string) error { return runUp(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data-dir", defaultDataDir(), "where state lives")
	fl.StringVar(&f.listen, "listen", ":8770", "address of the API listener")
	fl.StringVar(&f.publicURL, "public-url", "", "base URL clients reach the APIs at (default: from --listen)")
	fl.StringVar(&f.storeURL, "store", "", "state store: empty for SQLite in the data dir, or postgres://…")
	fl.StringVar(&f.adminPassword, "admin-password", os.Getenv("NUBO_ADMIN_PASSWORD"), "admin password (env NUBO_ADMIN_PASSWORD; default: generated once and saved in the data dir)")
	fl.StringVar(&f.region, "region", "RegionOne", "catalog region")
	fl.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.IntVar(&f.bcryptCost, "bcrypt-cost", identity.DefaultConfig().BcryptCost, "bcrypt cost of password hashes (4 to 31)")
	fl.DurationVar(&f.tokenTTL, "token-ttl", identity.DefaultConfig().TokenTTL, "lifetime of issued tokens")
	fl.IntVar(&f.lockoutAttempts, "lockout-failure-attempts", 0, "wrong passwords in a row that lock a user out (0: never)")
	fl.DurationVar(&f.lockoutDuration, "lockout-duration", 30*time.Minute, "how long a locked-out user stays locked out")
	fl.StringVar(&f.computeDriver, "compute-driver", "auto", "where servers run: qemu (a host agent on this machine: real QEMU guests and Linux networking; root), "+
		"fake (a simulated host, for API tests), or auto (qemu when this machine can, else fake)")
	fl.IntVar(&f.fakeHosts, "fake-hosts", 1, "with --compute-driver fake: how many simulated hosts to register (multi-node behaviour such as migrations)")
	fl.StringVar(&f.noVNCDir, "novnc-dir", consoleproxy.FindDir(consoleproxy.DefaultDirs...), "noVNC's files for the console proxy (Debian's novnc package; empty: consoles open no page)")
	fl.StringVar(&f.hostIP, "host-ip", "", "this host's underlay address for VXLAN to other hosts (default: its first IPv4 address)")
	fl.IntVar(&f.uniquePasswords, "unique-last-password-count", 0, "a user's password change may not reuse any of this many last passwords (0 or 1: no rule)")
	return cmd
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(os.Stderr, opts)
	case "text":
		h = slog.NewTextHandler(os.Stderr, opts)
	default:
		return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
	}
	return slog.New(logkey.Handler{Handler: h}), nil
}

// publicURLFor derives the URL clients use from the listen address.
func publicURLFor(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("--listen %q: %w", listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

func openStore(ctx context.Context, dataDir, url string) (store.Store, error) {
	switch {
	case url == "":
		return sqlite.Open(ctx, filepath.Join(dataDir, "nubo.db"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(ctx, url)
	}
	return nil, fmt.Errorf("--store: unsupported store %q (use postgres://… or leave empty for SQLite)", url)
}

func runUp(cmd *cobra.Command, f upFlags) error {
	log, err := newLogger(f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	if f.bcryptCost < 4 || f.bcryptCost > 31 {
		return fmt.Errorf("--bcrypt-cost must be between 4 and 31")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := os.MkdirAll(f.dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	publicURL := f.publicURL
	if publicURL == "" {
		if publicURL, err = publicURLFor(f.listen); err != nil {
			return err
		}
	}
	pw, generated, err := adminPassword(f.dataDir, f.adminPassword)
	if err != nil {
		return fmt.Errorf("admin password: %w", err)
	}
	st, err := openStore(ctx, f.dataDir, f.storeURL)
	if err != nil {
		return err
	}
	defer st.Close()

	driver, err := chooseComputeDriver(f.computeDriver, log)
	if err != nil {
		return err
	}
	cfg := cloud.Config{PublicURL: publicURL, Region: f.region, AdminPassword: pw, DataDir: f.dataDir, Identity: identity.DefaultConfig(),
		NoFakeHost: driver != "fake", FakeHosts: f.fakeHosts, NoVNCDir: f.noVNCDir}
	cfg.Identity.BcryptCost, cfg.Identity.TokenTTL = f.bcryptCost, f.tokenTTL
	cfg.Identity.LockoutFailureAttempts, cfg.Identity.LockoutDuration = f.lockoutAttempts, f.lockoutDuration
	cfg.Identity.UniqueLastPasswordCount = f.uniquePasswords
	c, err := cloud.New(ctx, st, cfg, log)
	if err != nil {
		return err
	}
	var host *hostAgent
	if driver == "qemu" {
		if host, err = upHostAgent(ctx, c, f, log); err != nil {
			if f.computeDriver == "qemu" {
				return err
			}
			log.Warn("no host agent on this machine: no valid host for servers until an agent joins (nubo agent); --compute-driver fake simulates one", logkey.Err, err)
		} else {
			defer host.Close()
		}
	}
	if err := writeState(f.dataDir, endpointState{PublicURL: publicURL, Region: f.region}); err != nil {
		return fmt.Errorf("save endpoint state: %w", err)
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if generated {
		fmt.Fprintf(cmd.OutOrStdout(), "Generated admin password (saved 0600 in %s): %s\n", filepath.Join(f.dataDir, passwordFile), pw)
	}
	log.Info("nubo is up", "listen", ln.Addr().String(), "public_url", publicURL, "data_dir", f.dataDir, "version", version)
	fmt.Fprintf(cmd.OutOrStdout(), "Nubo is up at %s/identity/v3 — for the openstack CLI: eval \"$(nubo admin openrc --data-dir %s)\"\n", publicURL, f.dataDir)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	g.Go(func() error { return c.Run(gctx) })
	if host != nil {
		g.Go(func() error { return host.Run(gctx) })
	}
	err = g.Wait()
	log.Info("nubo stopped")
	return err
}
